/**
 * Shared by the ingress and MTA tests: a switchyard home with lists, the
 * real LMTP runner as a child process (runner-process.js, as the master
 * forks it), waiting for queue entries by file events, and the unprivileged
 * `switchyard` user the MTA pipe runs as.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { Switchboard, type DequeuedEntry } from '../../queues/index.js';
import { runCli } from '../support/cli.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RUNNER_PROCESS = join(ROOT, 'dist/src/master/runner-process.js');
export const MAIN = join(ROOT, 'dist/src/cli/main.js');

import { freePort } from '../support/net.js';

export { freePort };

/** A temp home with switchyard.toml and the given lists created through the CLI. */
export async function makeHome(toml: string, lists: readonly string[], parent?: string): Promise<string> {
  const home = parent === undefined ? await mkdtemp(join(tmpdir(), 'sy-ingress-')) : await mkdtemp(join(parent, 'home-'));
  await writeFile(join(home, 'switchyard.toml'), toml);
  for (const list of lists) {
    const result = await runCli(['--home', home, 'lists', 'create', list]);
    if (result.code !== 0) throw new Error(`lists create ${list}: ${result.stderr}`);
  }
  return home;
}

export interface SystemUser {
  uid: number;
  gid: number;
}

/** The `switchyard` system user (.ci/run creates it); undefined when missing. */
export function switchyardUser(): SystemUser | undefined {
  const uid = spawnSync('id', ['-u', 'switchyard'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'switchyard'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function chownTree(path: string, user: SystemUser): Promise<void> {
  await chown(path, user.uid, user.gid);
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    await chown(join(entry.parentPath, entry.name), user.uid, user.gid);
  }
}

/** Every entry of a queue (all slices) once it holds at least `count`, read without dequeuing. */
export async function waitForQueue(home: string, queue: string, count: number, timeoutMs = 120_000): Promise<DequeuedEntry[]> {
  const switchboard = new Switchboard({ root: join(home, 'queues'), name: queue, rescanIntervalMs: 500 });
  const watcher = await switchboard.watch();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const ids = await switchboard.files();
      if (ids.length >= count) return Promise.all(ids.map((id) => readEntry(switchboard, id)));
      if (Date.now() > deadline) throw new Error(`queue ${queue} of ${home}: ${ids.length} entries, expected ${count}, after ${timeoutMs} ms`);
      await watcher.wait();
    }
  } finally {
    watcher.close();
  }
}

async function readEntry(switchboard: Switchboard, id: string): Promise<DequeuedEntry> {
  const { readFile } = await import('node:fs/promises');
  const { decodeEntry } = await import('../../queues/index.js');
  return { id, ...decodeEntry(await readFile(switchboard.path(id, 'pck'))) };
}

export async function queueIds(home: string, queue: string): Promise<string[]> {
  return new Switchboard({ root: join(home, 'queues'), name: queue }).files();
}

export class RunnerChild {
  readonly lines: Record<string, unknown>[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: { predicate: (line: Record<string, unknown>) => boolean; resolve: () => void }[] = [];

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      this.lines.push(line);
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(line)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
    createInterface({ input: child.stderr! }).on('line', (text) => this.stderr.push(text));
  }

  waitForLine(predicate: (line: Record<string, unknown>) => boolean, what: string): Promise<void> {
    if (this.lines.some(predicate)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ predicate, resolve });
      void this.exited.then(({ code, signal }) => reject(new Error(`runner exited (${code ?? signal}) before ${what}; stderr: ${this.stderr.join('\n')}`)));
    });
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** What lmtpRunnerPerSuite gives a suite: its home, port and runner (reassign `runner` after restarting it). */
export interface LmtpRunnerFixture {
  home: string;
  port: number;
  runner: RunnerChild;
}

/**
 * An LMTP runner of its own for the describe (or file) this is called in: a
 * fresh port, a home with `lists` and the configuration `toml(port)` made and
 * the runner started before its tests; the runner stopped and the home
 * removed after them. Its fields are set once the suite's beforeAll has run.
 */
export function lmtpRunnerPerSuite(toml: (port: number) => string, lists: readonly string[]): LmtpRunnerFixture {
  const fixture = {} as LmtpRunnerFixture;
  beforeAll(async () => {
    fixture.port = await freePort();
    fixture.home = await makeHome(toml(fixture.port), lists);
    fixture.runner = await startLmtpRunner(fixture.home);
  });
  afterAll(async () => {
    await fixture.runner?.stop();
    if (fixture.home !== undefined) await rm(fixture.home, { recursive: true, force: true });
  });
  return fixture;
}

/** The real LMTP runner of `home`, as the master runs it; resolves once it listens. */
export async function startLmtpRunner(home: string, user?: SystemUser): Promise<RunnerChild> {
  const child = spawn(process.execPath, [RUNNER_PROCESS, '--home', home, '--runner', 'lmtp', '--slice', '0', '--slices', '1', '--stdout'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
  });
  const runner = new RunnerChild(child);
  await runner.waitForLine((line) => line.msg === 'LMTP runner listening', 'LMTP runner listening');
  return runner;
}

/** The TOML of a test home: JSON logs on stdout, the LMTP runner on `port`. */
export function ingressToml(port: number, extra = ''): string {
  return `[logging]\ndestination = "stdout"\nlevel = "info"\n\n[lmtp]\nport = ${port}\n\n${extra}\n`;
}

/** The body of a message: everything after the first empty line (LF or CRLF). */
export function bodyOf(message: Buffer): Buffer {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return message.subarray(crlf + 4);
  return message.subarray(lf + 2);
}
