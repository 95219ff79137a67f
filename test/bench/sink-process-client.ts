/**
 * The benchmarks' counting SMTP sink (smtp-sink-process.ts) in its own
 * process, so that its CPU is not the measured process's: start it, reset
 * its counters, and wait until it has accepted a number of recipients.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface SinkProcess {
  child: ChildProcess;
  port: number;
  reset(): Promise<void>;
  /** Resolves when `recipients` recipients have been accepted since the last reset: when (Date.now() in the sink) and in how many transactions. */
  reached(recipients: number): Promise<{ at: number; transactions: number }>;
}

export async function startSinkProcess(): Promise<SinkProcess> {
  const child = fork(join(HERE, 'smtp-sink-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // Each await has its own id: two pending at once (first and last recipient) are answered each with its own moment.
  let awaits = 0;
  const next = (type: string, id?: number): Promise<Record<string, number>> =>
    new Promise((resolve) => {
      const on = (message: Record<string, number> & { type: string }): void => {
        if (message.type !== type || (id !== undefined && message.id !== id)) return;
        child.off('message', on);
        resolve(message);
      };
      child.on('message', on);
    });
  const { port } = await next('listening');
  return {
    child,
    port: port!,
    async reset() {
      const done = next('reset-done');
      child.send({ type: 'reset' });
      await done;
    },
    async reached(recipients) {
      const id = ++awaits;
      const reached = next('reached', id);
      child.send({ type: 'await', recipients, id });
      const { at, transactions } = await reached;
      return { at: at!, transactions: transactions! };
    },
  };
}
