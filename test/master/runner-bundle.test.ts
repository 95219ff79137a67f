/**
 * The processes a master forks (src/master/runner-process.ts) run a
 * built-in runner from its bundle `runner-NAME` (src/cli/bundles.ts, made
 * by src/build/bundle-cli.ts) while the bundle is fresh, and from the
 * unbundled modules once one of the files it was made from changed; either
 * way the runner does its work. A stale bundle is made in a copy of dist/,
 * never in the dist/ the other tests run. Which file a process ran from is
 * seen with the module tracer (test/fixtures/trace-imports.ts).
 */
import { fork } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Switchboard } from '../../queues/index.js';
import { bundle } from '../../src/build/bundle-cli.js';
import { BUNDLES, bundleState, RUNNER_MODULES } from '../../src/cli/bundles.js';
import type { RunnerMessage } from '../../src/master/protocol.js';
import { CONFIG_JSON_ENV } from '../../src/master/supervisor-env.js';
import type { BUILTIN_RUNNERS } from '../../runners/builtin.js';
import { makeHome, masterConfigJson, removeHome, ROOT, testConfig } from './harness.js';

const DIST = join(ROOT, 'dist');
const TRACER = join(DIST, 'test/fixtures/trace-imports.js');
const WAIT_MS = 120_000;

let home: string;
let scratch: string;
/** The master's validated configuration of `home`, as it hands it to its runners. */
let json: string;

beforeAll(async () => {
  home = await makeHome(testConfig(''));
  scratch = await mkdtemp(join(tmpdir(), 'sy-runner-bundle-'));
  json = await masterConfigJson(home);
});
afterAll(async () => {
  await removeHome(home);
  await rm(scratch, { recursive: true, force: true });
});

/** A retry entry due a second ago, bound back to `in`. */
async function dueRetryEntry(subject: string): Promise<void> {
  const retry = new Switchboard({ root: join(home, 'queues'), name: 'retry', durability: 'none', rescanIntervalMs: 3_600_000 });
  await retry.enqueue(`Subject: ${subject}\r\n\r\nbody\r\n`, {}, { micros: BigInt(Date.now() - 1_000) * 1000n, control: { originalQueue: 'in', attempts: 1 } });
}

/** The subjects of the entries waiting in `in`. */
async function subjectsIn(): Promise<string[]> {
  const inbox = new Switchboard({ root: join(home, 'queues'), name: 'in', durability: 'none', rescanIntervalMs: 3_600_000 });
  const entries = await inbox.list(['pck']);
  return Promise.all(entries.map(async ({ path }) => /Subject: (\S+)/.exec(await readFile(path, 'latin1'))?.[1] ?? '?'));
}

/**
 * Run the retry runner of `dist` as its master would (`configJson` in the
 * environment) under the tracer, until it has processed one entry: every
 * module URL it loaded.
 */
async function retryRunner(dist: string, configJson: string): Promise<string[]> {
  const traceFile = join(scratch, `${Math.random().toString(36).slice(2)}.txt`);
  const env: NodeJS.ProcessEnv = { ...process.env, [CONFIG_JSON_ENV]: configJson, SWITCHYARD_TRACE_IMPORTS: traceFile };
  delete env.SWITCHYARD_HOME;
  await new Promise<void>((resolve, reject) => {
    const child = fork(join(dist, 'src/master/runner-process.js'), ['--home', home, '--runner', 'retry', '--slice', '0', '--slices', '1'], { env, execArgv: ['--import', TRACER], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let processed = false;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('message', (message: RunnerMessage) => {
      if (message.type !== 'state' || message.processed < 1 || processed) return;
      processed = true;
      child.kill('SIGTERM');
    });
    child.on('exit', (code) => (processed && code === 0 ? resolve() : reject(new Error(`the retry runner exited ${code} ${processed ? 'after' : 'before'} processing an entry: ${stderr}`))));
  });
  return (await readFile(traceFile, 'utf8')).split('\n').filter((url) => url !== '');
}

describe('the runner bundles', () => {
  it('are one for each built-in runner module, each fresh in the build', async () => {
    const builtin = (await import(join(DIST, 'runners/builtin.js'))) as { BUILTIN_RUNNERS: typeof BUILTIN_RUNNERS };
    const modules = [...new Set(Object.values(builtin.BUILTIN_RUNNERS).map((runner) => runner.module))].sort();
    expect(RUNNER_MODULES.map((module) => join(DIST, module)).sort()).toEqual(modules);
    for (const spec of BUNDLES.filter((candidate) => candidate.runner !== undefined)) {
      const state = bundleState(spec.name, DIST);
      expect(state, state.fresh ? spec.name : `${spec.name}: ${state.reason}`).toMatchObject({ fresh: true });
    }
  });

  it('run a built-in runner under its master from the bundle, not its ES modules, and the runner does its work', async () => {
    await dueRetryEntry('bundled');
    const urls = await retryRunner(DIST, json);
    expect(urls).toContain(pathToFileURL(join(DIST, 'src/cli/runner-retry.bundle.cjs')).href);
    const esm = ['src/master/runner-main.js', 'runners/retry.js', 'runners/runner.js', 'queues/switchboard.js'].map((path) => pathToFileURL(join(DIST, path)).href);
    expect(urls.filter((url) => esm.includes(url))).toEqual([]);
    expect(await subjectsIn()).toContain('bundled');
  }, WAIT_MS);

  it('run it from the unbundled modules once the bundle is stale, and the runner does the same work', async () => {
    // A copy of dist/ that finds the packages where dist/ does, with its own runner-retry bundle.
    const root = join(scratch, 'copy');
    const copy = join(root, 'dist');
    await mkdir(copy, { recursive: true });
    for (const folder of ['src', 'runners', 'queues']) await cp(join(DIST, folder), join(copy, folder), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    await writeFile(join(root, 'package.json'), '{"type": "module"}\n');
    const spec = BUNDLES.find((candidate) => candidate.name === 'runner-retry')!;
    await bundle(copy, spec);
    expect(bundleState('runner-retry', copy)).toMatchObject({ fresh: true });
    // The copy's built-in runners, as its own master would name them.
    const copyJson = json.replaceAll(JSON.stringify(DIST).slice(1, -1), JSON.stringify(copy).slice(1, -1));
    expect(copyJson).toContain(join(copy, 'runners/retry.js'));

    // Rebuilt by tsc after the bundle was made: stale.
    const future = new Date(Date.now() + 5_000);
    await utimes(join(copy, 'runners/retry.js'), future, future);
    expect(bundleState('runner-retry', copy)).toMatchObject({ fresh: false, reason: 'runners/retry.js changed after the bundle was made' });
    await dueRetryEntry('unbundled');
    const urls = await retryRunner(copy, copyJson);
    expect(urls).not.toContain(pathToFileURL(join(copy, 'src/cli/runner-retry.bundle.cjs')).href);
    expect(urls).toEqual(expect.arrayContaining(['src/master/runner-main.js', 'runners/retry.js'].map((path) => pathToFileURL(join(copy, path)).href)));
    expect(await subjectsIn()).toContain('unbundled');
  }, WAIT_MS);
});
