/**
 * The module every TaskPool task runs through in its worker thread: it loads
 * the task's own module (thread start and imports, seconds on a loaded
 * machine), tells the runner on `port` that the task itself starts now, and
 * calls it. The runner's time limit counts from that message, so a MIME bomb
 * still costs its entry while a fresh worker slow to start on a busy machine
 * costs nothing.
 */
import { pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';

export interface StartingTask {
  /** Absolute path or file URL of the task's worker module. */
  filename: string;
  /** Named export to call; its default export when absent. */
  name?: string;
  data: unknown;
  port: MessagePort;
}

export default async function startTask(task: StartingTask): Promise<unknown> {
  const specifier = task.filename.startsWith('file:') ? task.filename : pathToFileURL(task.filename).href;
  const module = (await import(specifier)) as Record<string, unknown>;
  const fn = module[task.name ?? 'default'];
  if (typeof fn !== 'function') throw new TypeError(`worker module ${task.filename} has no ${task.name === undefined ? 'default export' : `export ${task.name}`} to call`);
  task.port.postMessage('started');
  task.port.close();
  return (fn as (data: unknown) => unknown)(task.data);
}
