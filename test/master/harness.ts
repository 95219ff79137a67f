/**
 * Test harness for a real master: `node dist/src/cli/main.js start
 * --foreground` as a child process on a temp home, logging JSON lines to its
 * stdout (runners inherit it), which the harness parses so tests can await
 * log events instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { requestStatus } from '../../src/master/status-client.js';
import type { StatusReport } from '../../src/master/protocol.js';
import { holderState, readMasterLock } from '../../src/master/lock.js';
import { isAlive as processAlive } from '../../src/master/proc.js';
import { validatedConfigJson } from '../../src/master/supervisor-env.js';
import type { loadConfig } from '../../src/config/load.js';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(ROOT, 'dist/src/cli/main.js');
export const FIXTURE_RUNNERS = join(ROOT, 'dist/test/fixtures/runners');

export type LogLine = Record<string, unknown> & { msg?: string; runner?: string; slice?: number; pid?: number };

export async function makeHome(toml: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'sy-master-'));
  await writeFile(join(home, 'switchyard.toml'), toml);
  return home;
}

/**
 * Removes a test home. A master still holding the home's lock (a daemon a
 * failed test started with `start` and never stopped) is SIGKILLed with the
 * runners its lock lists first: left running, it would hold ports and CPU
 * for the rest of the suite and outlive it.
 */
export async function removeHome(home: string): Promise<void> {
  const holder = await readMasterLock(join(home, 'master.lock')).catch(() => undefined);
  if (holder !== undefined && holderState(holder) === 'alive') {
    for (const pid of [holder.pid, ...holder.runners]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  await rm(home, { recursive: true, force: true });
}

/**
 * Stops the daemon master of `home` (one `switchyard start` left running)
 * as `switchyard stop` asks it to, by SIGTERM to the pid its lock names,
 * without a CLI process (~0.35 s of CPU): for a test's cleanup, where the
 * stop command is not what is tested. Resolves once the master and the
 * runners its lock listed are gone (looked at every 50 ms: they are not
 * this process's children, so there is no exit event to await); after
 * `timeoutMs` it leaves them to removeHome(), which SIGKILLs them.
 */
export async function stopDaemon(home: string, timeoutMs = MASTER_WAIT_MS): Promise<void> {
  const holder = await readMasterLock(join(home, 'master.lock')).catch(() => undefined);
  if (holder === undefined || holderState(holder) !== 'alive') return;
  try {
    process.kill(holder.pid, 'SIGTERM');
  } catch {
    return; // Gone meanwhile.
  }
  const deadline = Date.now() + timeoutMs;
  while ([holder.pid, ...holder.runners].some((pid) => processAlive(pid)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * How long a test waits for a master to start, or for a state it expects
 * (each runner is a node process loading its modules: tens of seconds on a
 * loaded 2-core machine). A ceiling, not a pace: waits end at the event.
 */
export const MASTER_WAIT_MS = 120_000;

/**
 * A config with JSON logs on stdout and quick restarts, plus the given tables.
 * master.startTimeout and the heartbeat timeout are generous: on a loaded
 * machine a runner can spend longer than the 30 s defaults between two
 * reports while it loads, and that is no failure of what the test checks.
 */
export function testConfig(extra: string, master: Record<string, string | number> = {}): string {
  const masterLines = Object.entries({ restartBackoff: '"20ms"', restartBackoffMax: '"200ms"', stopTimeout: '"10s"', startTimeout: '"120s"', ...master })
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n');
  // Every test's master would bind the LMTP runner to 127.0.0.1:8024 at once: off unless the test configures it.
  const lmtp = /^\[(runner\.lmtp|lmtp)\]/m.test(extra) ? '' : '[runner.lmtp]\nenabled = false\n\n';
  // Likewise the HTTP service on 127.0.0.1:8025: off unless the test configures `[http]` (with a port of its own).
  const http = /^\[http\]/m.test(extra) ? '' : '[http]\nenabled = false\n\n';
  // No test asks the network: DNS (DMARC policies) goes to a closed port on loopback unless the test runs a responder.
  const dns = /^\[dns\]/m.test(extra) ? '' : '[dns]\nservers = ["127.0.0.1:9"]\n\n';
  return `[logging]\ndestination = "stdout"\nlevel = "debug"\n\n[master]\n${masterLines}\n\n${lmtp}${http}${dns}${extra}\n`;
}

/** The queue runners a master starts unless told otherwise (lmtp and http are off in testConfig already). */
export const BUILT_IN_RUNNERS = ['retry', 'archive', 'outgoing', 'incoming', 'bounces', 'virgin', 'command'] as const;

/**
 * Config tables turning the built-in runners off, but for `keep`: for a test about
 * the master's supervision of its own fixture runners, which the built-in ones
 * only slow down (each is a node process loading its modules, seconds apiece on
 * a loaded machine, at every start and restart).
 */
export function builtInRunnersOff(keep: readonly string[] = []): string {
  return BUILT_IN_RUNNERS.filter((name) => !keep.includes(name))
    .map((name) => `[runner.${name}]\nenabled = false\n`)
    .join('\n');
}

/**
 * The config table turning the scheduler service off: for a test that needs none of its
 * periodic jobs ([cron]), where it is one more node process to start (and stop) for nothing.
 */
export function schedulerOff(): string {
  return '[runner.scheduler]\nenabled = false\n';
}

export class MasterHandle {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  constructor(readonly home: string, readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text, raw: true };
      }
      this.lines.push(line);
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(line)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
    createInterface({ input: child.stderr! }).on('line', (text) => this.stderr.push(text));
  }

  /** The first line (already seen or still to come) matching `predicate`. */
  waitForLine(predicate: (line: LogLine) => boolean, what = 'log line'): Promise<LogLine> {
    const seen = this.lines.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ predicate, resolve });
      void this.exited.then(({ code, signal }) => reject(new Error(`master exited (${code ?? signal}) before ${what}; stderr: ${this.stderr.join('\n')}`)));
    });
  }

  /** The next line from now on matching `predicate`. */
  nextLine(predicate: (line: LogLine) => boolean, what = 'log line'): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ predicate, resolve });
      void this.exited.then(({ code, signal }) => reject(new Error(`master exited (${code ?? signal}) before ${what}`)));
    });
  }

  status(): Promise<StatusReport> {
    return requestStatus(join(this.home, 'master.sock'), 30_000);
  }

  /**
   * The master's status once `predicate` holds on it. Asked again whenever a
   * log line arrives (something happened) and at the latest every 250 ms
   * (a state change the master learns over IPC logs nothing); fails after
   * `timeoutMs` with the last report.
   */
  async statusWhen(predicate: (status: StatusReport) => boolean, what: string, timeoutMs = MASTER_WAIT_MS): Promise<StatusReport> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status();
      if (predicate(status)) return status;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last status: ${JSON.stringify(status)}`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.nextLine(() => true, what), new Promise((resolve) => (timer = setTimeout(resolve, 250)))]).finally(() => clearTimeout(timer));
    }
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** The master's one info line once every runner is up: "switchyard ready: N runner processes, lmtp on HOST:PORT, home DIR". */
export function isReadyLine(line: LogLine): boolean {
  return line.role === 'master' && typeof line.msg === 'string' && line.msg.startsWith('switchyard ready: ');
}

/** Start a foreground master; resolves once it logged its ready line (rejects if it exits first). */
export async function startMaster(home: string, args: string[] = []): Promise<MasterHandle> {
  const child = spawn(process.execPath, [CLI, '--home', home, 'start', '--foreground', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const master = new MasterHandle(home, child);
  await master.waitForLine(isReadyLine, 'the master ready');
  return master;
}

export { runCli } from '../support/cli.js';

/** Alive and not a zombie: orphaned runners are reparented to an init that may reap them late. */
export { isAlive } from '../../src/master/proc.js';

export function runnerModule(name: string): string {
  return join(FIXTURE_RUNNERS, `${name}.js`);
}

/**
 * Resolves once the queue holds no waiting (.pck) and no in-flight (.bak) entry. The watcher wakes
 * for .pck names only (an entry arriving, or a runner taking it); the .bak a runner removes when it
 * finishes the last entry is none, so without the 250 ms rescan that last step would be seen only at
 * the default 60 s one (a count of the queue's files 4 times a second: a test's wait, not its CPU).
 */
export async function waitForDrained(home: string, queue: string): Promise<void> {
  const { Spool, Switchboard } = await import('../../queues/index.js');
  const root = join(home, 'queues');
  const spool = new Spool({ root });
  const watcher = await new Switchboard({ root, name: queue, rescanIntervalMs: 250 }).watch();
  try {
    for (;;) {
      const counts = await spool.count(queue);
      if (counts.pck === 0 && counts.bak === 0) return;
      await watcher.wait();
    }
  } finally {
    watcher.close();
  }
}

/** Resolves with the queue's waiting ids once it holds at least `count` of them (file events, no polling loop). */
export async function waitForEntries(home: string, queue: string, count: number): Promise<string[]> {
  const { Switchboard } = await import('../../queues/index.js');
  const switchboard = new Switchboard({ root: join(home, 'queues'), name: queue, rescanIntervalMs: 1_000 });
  const watcher = await switchboard.watch();
  try {
    for (;;) {
      const ids = await switchboard.files();
      if (ids.length >= count) return ids;
      await watcher.wait();
    }
  } finally {
    watcher.close();
  }
}

/**
 * The configuration of `home` as its master hands it to its runners
 * (CONFIG_JSON_ENV): validated by the built module, as the master does, so
 * built-in runners resolve to their dist/ files.
 */
export async function masterConfigJson(home: string): Promise<string> {
  const built = (await import(join(ROOT, 'dist/src/config/load.js'))) as { loadConfig: typeof loadConfig };
  return validatedConfigJson(await built.loadConfig(join(home, 'switchyard.toml')));
}
