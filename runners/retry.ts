/**
 * The retry runner: consumes `retry`, where a temporarily failed entry waits
 * under a name whose time part is its due time. Ids sort by due time, so the
 * runner looks only at the smallest one and sleeps until it is due (or until
 * a file event brings an earlier one): 100,000 deferred entries cost nothing
 * while none is due. A due entry goes back to the queue it failed in, by one
 * rewrite-and-rename (killed in between: it is still in `retry`, due, and is
 * moved on the next start).
 */
import type { DequeuedEntry } from '../queues/index.js';
import { Runner, type EntryContext } from './runner.js';

export default class RetryRunner extends Runner {
  protected override readonly waitsForDueTime = true;

  async process(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const target = entry.control.originalQueue;
    if (typeof target !== 'string') {
      throw new Error('entry in retry records no original queue to return to');
    }
    await ctx.forward(target);
    ctx.log.info({ to: target, attempts: entry.control.attempts }, 'retry due: entry returned to its queue');
  }
}
