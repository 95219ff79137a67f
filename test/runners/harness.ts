/**
 * Shared by the runner tests: real Runner subclasses, in this process, over a
 * fresh spool in a temp directory, with a real pino logger (writing to a file
 * in that directory) and a real TaskPool. Tests wait for what happened (the
 * runner's events, files appearing in a queue) through `Pulse`, never by
 * sleeping.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import {
  decodeEntry,
  Switchboard,
  type DecodedEntry,
  type DequeuedEntry,
  type EntryState,
  type SliceWatcher,
} from '../../queues/index.js';
import { Runner, type EntryContext, type EntryOutcome, type RunnerOptions } from '../../runners/runner.js';
import { TaskPool } from '../../runners/task-pool.js';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Wakes whoever waits for a condition whenever something may have changed it.
 * Runner events, handlers and queue watchers poke it; until() re-checks.
 */
export class Pulse {
  private readonly waiters = new Set<() => boolean>();
  private failure: Error | undefined;

  poke(): void {
    for (const waiter of [...this.waiters]) if (waiter()) this.waiters.delete(waiter);
  }

  /** Every pending and future until() rejects with this (a runner died). */
  fail(error: Error): void {
    this.failure ??= error;
    this.poke();
  }

  until(predicate: () => boolean, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): boolean => {
        if (predicate()) {
          resolve();
          return true;
        }
        if (this.failure) {
          reject(new Error(`${this.failure.message} (while waiting for: ${what})`, { cause: this.failure }));
          return true;
        }
        return false;
      };
      if (!check()) this.waiters.add(check);
    });
  }
}

/** A promise with its resolve function outside. */
export class Deferred<T = void> {
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  readonly promise = new Promise<T>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
}

/** One gate per key: process() waits at it until the test opens it. */
export class Gates {
  private readonly gates = new Map<string, Deferred>();

  private gate(key: string): Deferred {
    let gate = this.gates.get(key);
    if (!gate) {
      gate = new Deferred();
      this.gates.set(key, gate);
    }
    return gate;
  }

  wait(key: string): Promise<void> {
    return this.gate(key).promise;
  }

  open(key: string): void {
    this.gate(key).resolve();
  }
}

export type Handler = (entry: DequeuedEntry, ctx: EntryContext) => Promise<void>;

/** A runner whose process() is whatever the test says. */
export class ScriptedRunner extends Runner {
  private readonly handler: Handler;

  constructor(options: RunnerOptions, handler: Handler) {
    super(options);
    this.handler = handler;
  }

  async process(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    await this.handler(entry, ctx);
  }
}

export interface EntryEvent {
  id: string;
  at: number;
}

export interface EntryEnd extends EntryEvent {
  outcome: EntryOutcome;
}

/** A started runner: its run() promise and everything it reported, in order. */
export class RunnerWatch<R extends Runner = Runner> {
  readonly starts: EntryEvent[] = [];
  readonly ends: EntryEnd[] = [];
  readonly done: Promise<void>;
  ready = false;
  ended = false;

  constructor(
    readonly runner: R,
    readonly pulse: Pulse,
  ) {
    runner.on('ready', () => {
      this.ready = true;
      pulse.poke();
    });
    runner.on('entry-start', (id: string) => {
      this.starts.push({ id, at: Date.now() });
      pulse.poke();
    });
    runner.on('entry-end', (id: string, outcome: EntryOutcome) => {
      this.ends.push({ id, outcome, at: Date.now() });
      pulse.poke();
    });
    this.done = runner.run();
    this.done.then(
      () => {
        this.ended = true;
        pulse.poke();
      },
      (error: unknown) => {
        this.ended = true;
        pulse.fail(new Error(`runner ${runner.name} slice ${runner.slice} failed: ${(error as Error).message}`, { cause: error }));
      },
    );
  }

  /** Resolves at 'ready'; rejects if run() fails first. */
  async whenReady(): Promise<void> {
    await this.pulse.until(() => this.ready, `${this.runner.name} ready`);
  }

  /** Resolves once `count` entries have ended; returns those ends. */
  async endsAtLeast(count: number): Promise<EntryEnd[]> {
    await this.pulse.until(() => this.ends.length >= count, `${count} entries ended in ${this.runner.name}`);
    return this.ends.slice(0, count);
  }

  async endOf(id: string): Promise<EntryEnd> {
    await this.pulse.until(() => this.ends.some((end) => end.id === id), `entry ${id} ended in ${this.runner.name}`);
    return this.ends.find((end) => end.id === id)!;
  }
}

/** A fresh spool: `<dir>/queues` is the queue root, `<dir>/runner.log` the log. */
export class Spool {
  readonly queues: string;
  readonly logFile: string;

  constructor(readonly dir: string) {
    this.queues = join(dir, 'queues');
    this.logFile = join(dir, 'runner.log');
  }

  switchboard(name: string, options: { slice?: number; numSlices?: number; durability?: 'fsync' | 'none' } = {}): Switchboard {
    return new Switchboard({ root: this.queues, name, durability: 'none', rescanIntervalMs: 3_600_000, ...options });
  }

  /** Every entry of `queue` (all slices) in the given states, oldest first, decoded. */
  async entries(queue: string, states: readonly EntryState[] = ['pck', 'bak', 'psv']): Promise<Array<{ id: string; state: EntryState } & DecodedEntry>> {
    const listed = await this.switchboard(queue).list(states);
    return Promise.all(listed.map(async ({ id, state, path }) => ({ id, state, ...decodeEntry(await readFile(path)) })));
  }

  async log(): Promise<Array<Record<string, unknown>>> {
    const text = existsSync(this.logFile) ? await readFile(this.logFile, 'utf8') : '';
    return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

const spools: Spool[] = [];
const watches: RunnerWatch[] = [];
const queueWatches: QueueArrivals[] = [];

export async function makeSpool(): Promise<Spool> {
  const spool = new Spool(await mkdtemp(join(tmpdir(), 'switchyard-runners-')));
  spools.push(spool);
  return spool;
}

const destinations: Array<ReturnType<typeof pino.destination>> = [];

/** The spool's log file, written synchronously so that a test can read it at once. */
function logDestination(spool: Spool): ReturnType<typeof pino.destination> {
  const destination = pino.destination({ dest: spool.logFile, sync: true, append: true });
  destinations.push(destination);
  return destination;
}

export function runnerOptions(spool: Spool, overrides: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    name: 'test',
    queue: 'in',
    slice: 0,
    numSlices: 1,
    spoolRoot: spool.queues,
    concurrency: 1,
    durability: 'none',
    maxRestores: 3,
    // An hour: within a test only file events can wake a runner.
    rescanIntervalMs: 3_600_000,
    tempMaxAgeMs: 3_600_000,
    retry: { initialDelayMs: 60_000, maxDelayMs: 3_600_000, jitter: 0, lifetimeMs: 86_400_000 },
    logger: pino({ level: 'debug' }, logDestination(spool)),
    pool: new TaskPool({ maxThreads: 1, taskTimeoutMs: 10_000 }),
    options: {},
    ...overrides,
  };
}

/**
 * A TaskPool that a runner's stop does not close (Runner.run() closes its pool as it ends), for the
 * runners of one test file to share one pool, and so one worker thread, started once: each thread
 * loads its worker modules (mailparser and all, ~0.2 s of CPU) when it starts. Still a real piscina
 * pool: a task that crashes or times out takes its thread down and the next task gets a new one.
 * closeSharedTaskPool() ends it (the file's afterAll).
 */
class SharedTaskPool extends TaskPool {
  override async close(): Promise<void> {
    // Left running for the file's next runner; closeSharedTaskPool() closes it.
  }

  destroy(): Promise<void> {
    return super.close();
  }
}

let sharedPool: SharedTaskPool | undefined;

/** The test file's shared TaskPool (runnerOptions' own limits), made at the first call. */
export function sharedTaskPool(): TaskPool {
  sharedPool ??= new SharedTaskPool({ maxThreads: 1, taskTimeoutMs: 10_000 });
  return sharedPool;
}

/** Close the shared TaskPool, if one was made; the next sharedTaskPool() makes a new one. */
export async function closeSharedTaskPool(): Promise<void> {
  const pool = sharedPool;
  sharedPool = undefined;
  await pool?.destroy();
}

/** Start `runner` (run()) and watch it; stopped and awaited by cleanup(). */
export function startRunner<R extends Runner>(runner: R, pulse = new Pulse()): RunnerWatch<R> {
  const watch = new RunnerWatch(runner, pulse);
  watches.push(watch as unknown as RunnerWatch);
  return watch;
}

export interface Arrival {
  id: string;
  at: number;
}

/**
 * The ids that appear as `.pck` in a queue (all slices) from now on, each
 * with the time the event was seen: an upper bound of the arrival time.
 */
export class QueueArrivals {
  readonly arrivals: Arrival[] = [];
  private readonly seen = new Set<string>();
  private closed = false;

  private constructor(
    private readonly switchboard: Switchboard,
    private readonly watcher: SliceWatcher,
    readonly pulse: Pulse,
  ) {
    void this.loop();
  }

  static async open(spool: Spool, queue: string, pulse = new Pulse()): Promise<QueueArrivals> {
    const switchboard = spool.switchboard(queue);
    const arrivals = new QueueArrivals(switchboard, await switchboard.watch(), pulse);
    queueWatches.push(arrivals);
    return arrivals;
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const reason = await this.watcher.wait();
      const at = Date.now();
      if (reason === 'closed') return;
      for (const id of this.watcher.takeNames().names) {
        if (this.seen.has(id) || !existsSync(this.switchboard.path(id, 'pck'))) continue;
        this.seen.add(id);
        this.arrivals.push({ id, at });
      }
      this.pulse.poke();
    }
  }

  async atLeast(count: number): Promise<Arrival[]> {
    await this.pulse.until(() => this.arrivals.length >= count, `${count} arrivals in ${this.switchboard.name}`);
    return this.arrivals.slice(0, count);
  }

  close(): void {
    this.closed = true;
    this.watcher.close();
  }
}

/**
 * For afterEach: stop every runner started (forcing any entry still held),
 * rethrow a runner's failure, close queue watchers, remove the spools.
 */
export async function cleanup(): Promise<void> {
  for (const arrivals of queueWatches.splice(0)) arrivals.close();
  const running = watches.splice(0);
  const results = await Promise.allSettled(
    running.map(async (watch) => {
      const stopped = watch.runner.stop();
      watch.runner.abort();
      await stopped;
      await watch.done;
    }),
  );
  for (const destination of destinations.splice(0)) destination.destroy();
  for (const spool of spools.splice(0)) await rm(spool.dir, { recursive: true, force: true, maxRetries: 3 });
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * A compiled test fixture (a worker module piscina loads as plain JS),
 * refusing a missing or stale build: a worker running old code proves nothing.
 */
export function compiledFixture(name: string): string {
  const compiled = join(PROJECT_ROOT, 'dist', 'test', 'fixtures', `${name}.js`);
  const source = join(PROJECT_ROOT, 'test', 'fixtures', `${name}.ts`);
  if (!existsSync(compiled)) throw new Error(`${relative(PROJECT_ROOT, compiled)} is missing: run \`npx tsc -p .\``);
  if (statSync(source).mtimeMs > statSync(compiled).mtimeMs + 1) {
    throw new Error(`${relative(PROJECT_ROOT, compiled)} is older than its source: run \`npx tsc -p .\``);
  }
  return compiled;
}

export { mapLimit } from '../queues/harness.js';

/**
 * A full garbage collection now, so that a CPU measurement that follows
 * counts the code under test and not the collector cleaning up after the
 * test's own setup (20,000 enqueues leave plenty).
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
