/**
 * Shared by the queue tests: fresh spool directories and child processes
 * running the compiled fixtures (dist/test/fixtures/queue-*.js), read line by
 * line so that a test can wait for what a child said instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A fresh directory under the OS temp dir; remove it with `removeTempDir`. */
export function makeTempDir(prefix = 'switchyard-queues-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeTempDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * The compiled fixture `name`. The build is assumed fresh (`npm test` runs
 * tsc first); a missing one is reported rather than run.
 */
export function fixturePath(name: string): string {
  const compiled = join(PROJECT_ROOT, 'dist', 'test', 'fixtures', `${name}.js`);
  if (!existsSync(compiled)) throw new Error(`${relative(PROJECT_ROOT, compiled)} is missing: run \`npx tsc -p .\` (npm test does)`);
  return compiled;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running fixture whose stdout lines are collected as they arrive. */
export class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  /** Resolves once the process has exited and its stdout is fully read. */
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(name: string, args: readonly string[]) {
    this.process = spawn(process.execPath, [fixturePath(name), ...args], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    const reader = createInterface({ input: this.process.stdout!, crlfDelay: Infinity });
    reader.on('line', (line) => {
      this.lines.push(line);
      this.poke();
    });
    const readerClosed = new Promise<void>((resolve) => reader.once('close', resolve));
    const processClosed = new Promise<Exit>((resolve) => {
      this.process.once('close', (code, signal) => resolve({ code, signal }));
    });
    this.exited = Promise.all([processClosed, readerClosed]).then(([exit]) => {
      this.exit = exit;
      live.delete(this);
      this.poke();
      return exit;
    });
    // The child dies with its parent: a pipe write to a dead child must not crash the test.
    this.process.stdin!.on('error', () => undefined);
  }

  /** Resolves with the index of the first line from `from` on that matches; rejects if the child exits first. */
  waitForLine(match: (line: string) => boolean, from = 0): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let checked = from;
      const check = (): boolean => {
        for (; checked < this.lines.length; checked++) {
          if (match(this.lines[checked]!)) {
            resolve(checked);
            return true;
          }
        }
        if (this.exit) {
          reject(new Error(`child exited (${JSON.stringify(this.exit)}) without the awaited line; stderr: ${this.stderr.slice(-2000)}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const waiter = (): void => {
        if (check()) this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** Resolves with the next line after the ones already seen (or at index `from`). */
  async nextLine(from = this.lines.length): Promise<string> {
    return this.lines[await this.waitForLine(() => true, from)]!;
  }

  send(line: string): void {
    this.process.stdin!.write(`${line}\n`);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exit) this.process.kill(signal);
  }

  /** Waits for a normal exit and fails with the child's stderr otherwise. */
  async succeeded(): Promise<void> {
    const exit = await this.exited;
    if (exit.code !== 0) throw new Error(`child failed ${JSON.stringify(exit)}: ${this.stderr.slice(-4000)}`);
  }

  private poke(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

const live = new Set<Child>();

export function startFixture(name: string, args: readonly string[]): Child {
  return new Child(name, args);
}

/**
 * Children of a fixture that takes its arguments on stdin (`--args-on-stdin`: queue-crash-worker),
 * started `ahead` at a time before they are needed: a kill loop then waits for one child's work, not
 * for its node start-up and module loading, which the next ones do meanwhile. They touch nothing
 * before they are given their arguments; those not taken are SIGKILLed with the rest
 * (killLiveChildren).
 */
export class FixturePool {
  private readonly spares: Child[] = [];

  constructor(
    private readonly name: string,
    private readonly ahead: number,
  ) {
    this.fill();
  }

  /** A child of the fixture, told `args` now. */
  take(args: readonly string[]): Child {
    const child = this.spares.shift()!;
    this.fill();
    child.send(JSON.stringify(args));
    return child;
  }

  private fill(): void {
    while (this.spares.length < this.ahead) this.spares.push(new Child(this.name, ['--args-on-stdin']));
  }
}

/** SIGKILL every child this test file started and that still runs (for afterEach). */
export async function killLiveChildren(): Promise<void> {
  const running = [...live];
  for (const child of running) child.kill();
  await Promise.all(running.map((child) => child.exited));
}

/** Every file below `dir`, as paths relative to it. */
export async function walkFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return found.sort();
}

/** Run `worker` over `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await worker(items[index]!, index);
      }
    }),
  );
  return results;
}

export function randomInt(maxExclusive: number): number {
  return Math.floor(Math.random() * maxExclusive);
}
