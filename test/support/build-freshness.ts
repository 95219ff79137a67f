/**
 * Is dist/ built from the current source? The tests run the built CLI and
 * worker modules from dist/, so `npx vitest run FILE` after an edit would
 * otherwise test the code as it was at the last build. The test global setup
 * (global-setup.ts) asks staleSources() and, when anything is newer than the
 * last build it made, runs the incremental `tsc` build first.
 *
 * The build is stamped with `dist/.test-build-stamp`, whose mtime is the
 * time the build started. Stale: no stamp, or a file or directory under the
 * tsconfig's `include` folders, tsconfig.json or package.json changed after
 * it. Directories count because adding, removing or renaming a file changes
 * its directory's mtime even when the file keeps an old mtime (`cp -p`,
 * `tar -x`). tsc alone cannot be asked cheaply: its incremental no-op still
 * takes seconds of CPU, which every single-file run would pay.
 *
 * Files: the stamp only (created, or its times set); nothing else is written.
 */
import { readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP = join('dist', '.test-build-stamp');

/** The folders tsc compiles (tsconfig.json `include`). */
export function sourceRoots(root: string): string[] {
  const text = readFileSync(join(root, 'tsconfig.json'), 'utf8');
  let include: unknown;
  try {
    include = (JSON.parse(text) as { include?: unknown }).include;
  } catch (error) {
    throw new Error(`${join(root, 'tsconfig.json')}: not plain JSON, so the test build check cannot read its "include" (${(error as Error).message})`);
  }
  if (!Array.isArray(include) || !include.every((entry): entry is string => typeof entry === 'string')) throw new Error(`${join(root, 'tsconfig.json')}: "include" is not a list of folders`);
  return include;
}

/** Every path under `dir` (itself included) changed after `since` (ms), skipping node_modules and dist. */
function changedUnder(dir: string, since: number, found: string[]): void {
  let entries;
  try {
    if (statSync(dir).mtimeMs > since) found.push(dir);
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) changedUnder(path, since, found);
    else if (entry.isFile() && /\.(?:[cm]?ts|json)$/.test(entry.name) && statSync(path).mtimeMs > since) found.push(path);
  }
}

/**
 * What makes dist/ under `root` stale: the paths changed since the last
 * stamped build, or `['(no build stamp)']`. Empty: dist/ is current.
 */
export function staleSources(root: string): string[] {
  let stamped: number;
  try {
    stamped = statSync(join(root, STAMP)).mtimeMs;
  } catch {
    return ['(no build stamp)'];
  }
  const found: string[] = [];
  for (const file of ['tsconfig.json', 'package.json']) {
    try {
      if (statSync(join(root, file)).mtimeMs > stamped) found.push(join(root, file));
    } catch {
      // No package.json (a test's temp tree): nothing to compare.
    }
  }
  for (const folder of sourceRoots(root)) changedUnder(join(root, folder), stamped, found);
  return found;
}

/** Record a successful build that started at `startedMs`: what changed after that is still stale. */
export function stampBuild(root: string, startedMs: number): void {
  const path = join(root, STAMP);
  writeFileSync(path, 'the tests built dist/ from the source as of this file\'s mtime (test/support/build-freshness.ts)\n');
  const at = new Date(startedMs);
  utimesSync(path, at, at);
}
