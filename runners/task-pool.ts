/**
 * CPU-heavy steps (rendering 10,000 personalised copies, parsing a huge
 * bounce) run in a piscina worker pool so the runner's event loop keeps
 * serving its other entries and its watchdog heartbeats. Each task has a time
 * limit: past it piscina terminates the worker thread, and the entry fails
 * with TaskTimeoutError (to shunt) while the runner lives on. A worker that
 * crashes fails only its task, likewise. The pool starts no thread until the
 * first task, so a runner that never needs one pays nothing for it.
 *
 * The limit counts the task's own work: from when its worker has loaded the
 * task's module and starts it (task-start-worker.ts says so over a message
 * port), not from the call. Waiting for a thread to start (a fresh one after
 * a timeout, seconds on a loaded machine) or for a busy one to free up must
 * not shunt an ordinary message.
 */
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { TaskCrashedError, TaskTimeoutError } from './errors.js';
import type { StartingTask } from './task-start-worker.js';

const START_WORKER = workerModule(import.meta.url, 'task-start-worker.js');

export interface TaskPoolOptions {
  maxThreads: number;
  taskTimeoutMs: number;
}

export interface TaskOptions {
  /** Overrides the pool's default limit. */
  timeoutMs?: number;
  /** Abort early (the runner is stopping hard). */
  signal?: AbortSignal;
  /** Named export of the worker module to call; default its default export. */
  name?: string;
}

/**
 * The compiled worker module `file` (a path relative to the module at
 * `importMetaUrl`, ending in .js) for TaskPool.run: piscina loads it in a plain
 * worker thread, which cannot load TypeScript. When the caller runs from its
 * TypeScript source (vitest), that is its compiled twin under dist/.
 */
export function workerModule(importMetaUrl: string, file: string): string {
  const self = fileURLToPath(importMetaUrl);
  if (!self.endsWith('.ts')) return join(dirname(self), file);
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  return join(root, 'dist', relative(root, dirname(self)), file);
}

export class TaskPool {
  /**
   * Made at the first task, piscina loaded with it: a runner that never runs
   * a task (retry, archive, virgin...) does without its megabytes. A promise,
   * so that tasks started together share one pool.
   */
  private pool: Promise<Piscina> | undefined;

  constructor(private readonly options: TaskPoolOptions) {}

  /** Run `data` through the worker module at `filename` (absolute path or file URL). */
  async run<T>(filename: string, data: unknown, options: TaskOptions = {}): Promise<T> {
    this.pool ??= import('piscina').then(({ Piscina }) => new Piscina({ maxThreads: this.options.maxThreads, minThreads: 0, idleTimeout: 30_000 }));
    const pool = await this.pool;
    const timeoutMs = options.timeoutMs ?? this.options.taskTimeoutMs;
    const timeout = new AbortController();
    const signal = options.signal ? AbortSignal.any([timeout.signal, options.signal]) : timeout.signal;
    const task = options.name ? `${filename}#${options.name}` : filename;
    const { port1, port2 } = new MessageChannel();
    let timer: NodeJS.Timeout | undefined;
    // The clock starts when the worker starts the task itself (see the module comment).
    port1.once('message', () => {
      timer = setTimeout(() => timeout.abort(new TaskTimeoutError(task, timeoutMs)), timeoutMs);
    });
    const starting: StartingTask = { filename, data, port: port2, ...(options.name ? { name: options.name } : {}) };
    try {
      return (await pool.run(starting, { filename: START_WORKER, signal, transferList: [port2] })) as T;
    } catch (error) {
      if (timeout.signal.aborted) throw new TaskTimeoutError(task, timeoutMs);
      if (options.signal?.aborted) throw error;
      throw new TaskCrashedError(task, error);
    } finally {
      clearTimeout(timer);
      port1.close();
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await (await pool)?.destroy();
  }
}
