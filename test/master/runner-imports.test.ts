/**
 * What an idle runner process loads: the runners that validate no queue
 * metadata at start (archive, retry, lmtp, scheduler, command, and virgin and
 * bounces, which load the metadata schemas with their first entry:
 * runners/lazy-schemas.ts) start without zod, which is several megabytes of
 * every such process's memory and a tenth of a second of its start. The mail
 * libraries are loaded at first use too (npm run bench -- memory): libmime
 * and its charset tables (src/mail/lazy-libmime.ts), mailparser (digests
 * only), nodemailer's composer (bounce forwards only), tldts (DMARC only). The settings schema (src/store/list-settings.ts)
 * is loaded when a list's settings are first parsed, not with the store.
 * Each runner runs as the master runs it (the validated configuration as
 * JSON, SWITCHYARD_CONFIG_JSON) under the module tracer
 * (test/fixtures/trace-imports.ts) until it says it is ready.
 */
import { fork } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BUNDLES_ENV } from '../../src/cli/bundles.js';
import { CONFIG_JSON_ENV } from '../../src/master/supervisor-env.js';
import type { RunnerMessage } from '../../src/master/protocol.js';
import { freePort } from '../support/net.js';
import { makeHome, masterConfigJson, removeHome, ROOT, testConfig } from './harness.js';

const RUNNER_PROCESS = join(ROOT, 'dist/src/master/runner-process.js');
const TRACER = join(ROOT, 'dist/test/fixtures/trace-imports.js');

let home: string;
let traces: string;
let json: string;

beforeAll(async () => {
  // LMTP and HTTP on ports of their own (test configurations leave them off otherwise).
  home = await makeHome(testConfig(`[lmtp]\nport = ${await freePort()}\n\n[http]\nport = ${await freePort()}\n`));
  traces = await mkdtemp(join(tmpdir(), 'sy-runner-imports-'));
  json = await masterConfigJson(home);
});
afterAll(async () => {
  await removeHome(home);
  await rm(traces, { recursive: true, force: true });
});

/**
 * The packages runner `name` loaded by the time it was ready (and stopped);
 * the trace in `traces/NAME[-unbundled].txt`. As the master runs it: from
 * its bundle (src/master/runner-process.ts), whose packages are require()d
 * when the module importing them first runs, as unbundled. Which of our
 * modules it loaded shows only `unbundled` (in the bundle they are one file).
 */
async function packagesOf(name: string, unbundled = false): Promise<string[]> {
  const traceFile = join(traces, `${name}${unbundled ? '-unbundled' : ''}.txt`);
  const env: NodeJS.ProcessEnv = { ...process.env, [CONFIG_JSON_ENV]: json, SWITCHYARD_TRACE_IMPORTS: traceFile, ...(unbundled ? { [NO_BUNDLES_ENV]: '1' } : {}) };
  delete env.SWITCHYARD_HOME;
  await new Promise<void>((resolve, reject) => {
    const child = fork(RUNNER_PROCESS, ['--home', home, '--runner', name, '--slice', '0', '--slices', '1'], { env, execArgv: ['--import', TRACER], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let ready = false;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('message', (message: RunnerMessage) => {
      if (message.type !== 'ready') return;
      ready = true;
      child.kill('SIGTERM');
    });
    child.on('exit', (code) => (ready ? resolve() : reject(new Error(`runner ${name} exited ${code} before it was ready: ${stderr}`))));
  });
  const text = await readFile(traceFile, 'utf8');
  return [...new Set([...text.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((match) => match[1]!))].sort();
}

/** What each runner must not load before its first message. */
const NOT_AT_START: Record<string, string[]> = {
  archive: ['zod', 'libmime', 'mailparser', 'nodemailer'],
  retry: ['zod', 'libmime', 'mailparser', 'nodemailer', 'better-sqlite3'],
  lmtp: ['zod', 'libmime', 'mailparser'],
  scheduler: ['zod', 'libmime', 'mailparser'],
  command: ['zod', 'libmime', 'mailparser'],
  virgin: ['zod', 'libmime', 'mailparser'],
  bounces: ['zod', 'libmime', 'mailparser'],
  incoming: ['libmime', 'mailparser', 'tldts'],
  outgoing: ['libmime', 'mailparser'],
  http: ['libmime', 'mailparser', 'smtp-server', 'tldts'],
};

/** What each runner must not load of ours before its first message (or first job, or first list change). */
const OURS_NOT_AT_START: Record<string, RegExp[]> = {
  // Each job's code comes with its first run.
  scheduler: [/\/src\/app\/moderation\.js$/m, /\/src\/app\/subscriptions\.js$/m, /\/src\/bounce\/warnings\.js$/m],
  // The setting registries (the incoming runner's chains and handlers) come with the first list change naming one; no LMTP server.
  http: [/\/runners\/incoming\/chain\.js$/m, /\/runners\/incoming\/pipeline\.js$/m, /\/runners\/lmtp\/lmtp-server\.js$/m],
};

describe('an idle runner process', () => {
  it.each(Object.entries(NOT_AT_START))('%s starts without %j', async (name, absent) => {
    const packages = await packagesOf(name);
    // From its bundle, as under a master; it did load its own packages (the tracer saw them), just not those.
    expect(await readFile(join(traces, `${name}.txt`), 'utf8')).toMatch(/\/dist\/src\/cli\/runner-[a-z]+\.bundle\.cjs$/m);
    expect(packages).toContain('pino');
    for (const name of absent) expect(packages).not.toContain(name);
  }, 120_000);

  it.each(Object.entries(OURS_NOT_AT_START))('%s starts without the modules it needs only later', async (name, absent) => {
    await packagesOf(name, true);
    const text = await readFile(join(traces, `${name}-unbundled.txt`), 'utf8');
    expect(text).toMatch(/\/runners\/service\.js$/m);
    for (const pattern of absent) expect(text).not.toMatch(pattern);
  }, 120_000);

  it('bounces starts without nodemailer\'s composer (it forwards an unrecognised bounce only)', async () => {
    const traceFile = join(traces, 'bounces.txt');
    // packagesOf('bounces') ran above; run it again when this test runs alone.
    const text = await readFile(traceFile, 'utf8').catch(async () => (await packagesOf('bounces'), readFile(traceFile, 'utf8')));
    expect(text).not.toMatch(/nodemailer\/lib\/mail-composer/);
  }, 120_000);
});
