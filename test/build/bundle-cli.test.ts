/**
 * The build's bundler (src/build/bundle-cli.ts) on a small tree of real ES
 * modules in a temp "dist": what goes into a bundle, what stays a lazy
 * import of the dist/ file, what each bundled module sees as
 * import.meta.url, and the manifest that tells a fresh bundle from a stale
 * one (src/cli/bundles.ts).
 */
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../src/build/bundle-cli.js';
import { bundleState, codeCachePath, manifestPath, runBundle } from '../../src/cli/bundles.js';

let dist: string;
const cli = (name: string): string => join(dist, 'src/cli', name);

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'switchyard-bundler-'));
  await mkdir(join(dist, 'src/cli'), { recursive: true });
  await writeFile(join(dist, 'package.json'), '{"type": "module"}\n');
  await writeFile(cli('entry.js'), "export { a, later } from './a.js';\nexport const here = import.meta.url;\nexport async function soon() { return (await import('./inlined.js')).v; }\n");
  await writeFile(cli('a.js'), "export const a = import.meta.url;\nexport async function later() { return (await import('./late.js')).v; }\n");
  await writeFile(cli('inlined.js'), "export const v = 'from the entry\\'s import()';\n");
  await writeFile(cli('late.js'), "export const v = 'loaded from dist when reached';\n");
  // A whole-program bundle's modules, and a package of their own that says when it runs.
  await writeFile(cli('whole-entry.js'), "export async function later() { return (await import('./whole-late.js')).v; }\n");
  await writeFile(cli('whole-late.js'), "import counter from 'run-counter';\nglobalThis.wholeLateRuns = (globalThis.wholeLateRuns ?? 0) + 1;\nexport const v = `inside, run when reached, package run ${counter()} time(s)`;\n");
  await mkdir(join(dist, 'node_modules/run-counter'), { recursive: true });
  await writeFile(join(dist, 'node_modules/run-counter/package.json'), '{"name": "run-counter", "main": "index.js"}\n');
  await writeFile(join(dist, 'node_modules/run-counter/index.js'), 'globalThis.runCounterRuns = (globalThis.runCounterRuns ?? 0) + 1;\nmodule.exports = () => globalThis.runCounterRuns;\n');
});
afterAll(async () => {
  await rm(dist, { recursive: true, force: true });
});

describe('bundle()', () => {
  it("holds the entry, its static imports and its own import()s; another module's import() stays a lazy import of the dist/ file", async () => {
    const { file, modules } = await bundle(dist, { name: 'sample', entry: 'src/cli/entry.js' });
    expect(modules.map((path) => path.slice(dist.length + 1)).sort()).toEqual(['src/cli/a.js', 'src/cli/entry.js', 'src/cli/inlined.js']);
    const text = await readFile(file, 'utf8');
    // Through the loader runBundle() passes in: a script compiled by node:vm has no import() of its own.
    expect(text).toContain('__switchyardImport("./late.js")');
    expect(text).not.toMatch(/\bimport\(["']/);
    expect(text).not.toContain('loaded from dist when reached');
    const loaded = runBundle(file, await readFile(codeCachePath('sample', dist))) as { here: string; a: string; soon: () => Promise<string>; later: () => Promise<string> };
    // Each module keeps the URL of its own dist/ file.
    expect(loaded.here).toBe(pathToFileURL(cli('entry.js')).href);
    expect(loaded.a).toBe(pathToFileURL(cli('a.js')).href);
    expect(await loaded.soon()).toBe("from the entry's import()");
    expect(await loaded.later()).toBe('loaded from dist when reached');
  });

  it('in a whole-program bundle holds every import() of ours, run when reached, and require()s a package when its importer first runs', async () => {
    const { file, modules } = await bundle(dist, { name: 'whole', entry: 'src/cli/whole-entry.js', whole: true });
    expect(modules.map((path) => path.slice(dist.length + 1)).sort()).toEqual(['src/cli/whole-entry.js', 'src/cli/whole-late.js']);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('__switchyardImport');
    const globals = globalThis as { wholeLateRuns?: number; runCounterRuns?: number };
    const loaded = runBundle(file, await readFile(codeCachePath('whole', dist))) as { later: () => Promise<string> };
    // Loaded, not run: neither the module reached by import() nor the package it imports.
    expect([globals.wholeLateRuns, globals.runCounterRuns]).toEqual([undefined, undefined]);
    expect(await loaded.later()).toBe('inside, run when reached, package run 1 time(s)');
    expect(await loaded.later()).toBe('inside, run when reached, package run 1 time(s)');
    expect([globals.wholeLateRuns, globals.runCounterRuns]).toEqual([1, 1]);
  });

  it('writes a manifest of what it was made from: fresh as built, stale once one of those files changes or it is gone', async () => {
    await bundle(dist, { name: 'sample', entry: 'src/cli/entry.js' });
    const manifest = JSON.parse(await readFile(manifestPath('sample', dist), 'utf8')) as { files: Record<string, string> };
    expect(Object.keys(manifest.files).sort()).toEqual(['src/cli/a.js', 'src/cli/entry.js', 'src/cli/inlined.js', 'src/cli/sample.bundle.cjs']);
    expect(bundleState('sample', dist)).toMatchObject({ fresh: true });

    // Same size, new content and mtime: as `tsc` leaves a module it rebuilt.
    await writeFile(cli('inlined.js'), "export const v = 'from the entry\\'s import(!';\n");
    const future = new Date(Date.now() + 5_000);
    await utimes(cli('inlined.js'), future, future);
    expect(bundleState('sample', dist)).toEqual({ fresh: false, reason: 'src/cli/inlined.js changed after the bundle was made' });

    await bundle(dist, { name: 'sample', entry: 'src/cli/entry.js' });
    expect(bundleState('sample', dist)).toMatchObject({ fresh: true });
    await rm(manifestPath('sample', dist));
    expect(bundleState('sample', dist)).toMatchObject({ fresh: false, reason: expect.stringContaining('no readable manifest') });
  });
});
