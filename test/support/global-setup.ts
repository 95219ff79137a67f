/**
 * vitest global setup: build dist/ before any test when the source changed
 * since the last build (see build-freshness.ts), so that `npx vitest run
 * FILE` right after an edit tests the edit, not the previous build. The
 * build is `npm run build`'s: tsc, then the CLI bundles
 * (src/build/bundle-cli.ts), also made when only they are missing or stale. Runs
 * once in vitest's main process, before the workers start; in watch mode
 * again before each rerun. A failed build fails the run with tsc's output:
 * testing stale code quietly is what this prevents.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { BUNDLES, bundleState } from '../../src/cli/bundles.js';
import { stampBuild, staleSources } from './build-freshness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
/** The stamp is set this far before the build started: a file system clock coarser than Date.now() must not hide an edit made during the build. */
const CLOCK_MARGIN_MS = 1_000;

const BUNDLER = fileURLToPath(new URL('../../dist/src/build/bundle-cli.js', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist', import.meta.url));

function node(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The CLI bundles, as `npm run build` makes them after tsc. */
async function bundle(): Promise<void> {
  const { code, output } = await node([BUNDLER]);
  if (code !== 0) throw new Error(`node dist/src/build/bundle-cli.js failed (exit ${code}), so the CLI bundles would be stale; fix the build first:\n${output}`);
}

export async function buildIfStale(): Promise<void> {
  const stale = staleSources(ROOT);
  if (stale.length === 0) {
    if (!BUNDLES.every((spec) => bundleState(spec.name, DIST).fresh)) await bundle();
    return;
  }
  const started = Date.now() - CLOCK_MARGIN_MS;
  const shown = stale.slice(0, 3).map((path) => path.replace(ROOT, '')).join(', ');
  process.stderr.write(`dist/ is older than the source (${shown}${stale.length > 3 ? `, ${stale.length - 3} more` : ''}): building (tsc -p tsconfig.json, incremental)\n`);
  const { code, output } = await node([TSC, '-p', 'tsconfig.json']);
  if (code !== 0) throw new Error(`tsc -p tsconfig.json failed (exit ${code}), so dist/ would be stale; fix the build first:\n${output}`);
  await bundle();
  stampBuild(ROOT, started);
}

export default async function setup(project: TestProject): Promise<void> {
  await buildIfStale();
  project.onTestsRerun(async () => buildIfStale());
}
