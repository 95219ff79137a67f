/**
 * The stale-dist/ check that the test global setup runs before any test
 * (test/support/build-freshness.ts, global-setup.ts), on a small tree in a
 * temp directory with the times set by hand.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STAMP, stampBuild, staleSources } from './build-freshness.js';

let root: string;
const BUILT = Date.now() - 60_000;
/** Seconds for utimes: some time before or after the stamped build. */
const before = (BUILT - 30_000) / 1000;
const after = (BUILT + 30_000) / 1000;

async function file(path: string, at: number, content = 'export {};\n'): Promise<void> {
  await writeFile(join(root, path), content);
  await utimes(join(root, path), at, at);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'switchyard-freshness-'));
  await mkdir(join(root, 'src', 'deep'), { recursive: true });
  await mkdir(join(root, 'test'));
  await mkdir(join(root, 'dist'));
  await file('tsconfig.json', before, JSON.stringify({ include: ['src', 'test'] }));
  await file('src/a.ts', before);
  await file('src/deep/b.ts', before);
  await file('test/c.test.ts', before);
  for (const dir of ['src', 'src/deep', 'test']) await utimes(join(root, dir), before, before);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('staleSources', () => {
  it('calls a tree never built by the tests stale', () => {
    expect(staleSources(root)).toEqual(['(no build stamp)']);
  });

  it('calls a tree unchanged since the stamped build current', () => {
    stampBuild(root, BUILT);
    expect(staleSources(root)).toEqual([]);
  });

  it('names a source file edited after the build, however deep', async () => {
    stampBuild(root, BUILT);
    await file('src/deep/b.ts', after, 'export const b = 1;\n');
    expect(staleSources(root)).toEqual([join(root, 'src/deep/b.ts')]);
  });

  it('notices a file added, removed or renamed with an old mtime, by its directory', async () => {
    stampBuild(root, BUILT);
    await rename(join(root, 'test/c.test.ts'), join(root, 'test/d.test.ts'));
    expect(staleSources(root)).toEqual([join(root, 'test')]);
  });

  it('notices a changed tsconfig.json', async () => {
    stampBuild(root, BUILT);
    await file('tsconfig.json', after, JSON.stringify({ include: ['src', 'test'], compilerOptions: { strict: true } }));
    expect(staleSources(root)).toContain(join(root, 'tsconfig.json'));
  });

  it('counts an edit made while the build ran as stale: the stamp carries the start time', async () => {
    stampBuild(root, BUILT);
    await file('src/a.ts', (BUILT + 1) / 1000);
    expect(staleSources(root)).toEqual([join(root, 'src/a.ts')]);
    expect(join(root, STAMP)).toMatch(/dist\/\.test-build-stamp$/);
  });
});

describe('the vitest configuration', () => {
  it('runs the build check before the tests', () => {
    const text = readFileSync(new URL('../../vitest.config.ts', import.meta.url), 'utf8');
    expect(text).toContain("globalSetup: ['test/support/global-setup.ts']");
  });
});
