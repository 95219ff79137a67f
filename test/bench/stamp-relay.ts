/**
 * The no-op runner of chain.bench.ts: copies each entry to `options.to`
 * (enqueue downstream, then the base class finishes it), appending to
 * `metadata.stamps` the wall-clock time (ms) at which process() began.
 * Not a benchmark itself (run.ts runs only `*.bench.js`).
 */
import type { DequeuedEntry } from '../../queues/index.js';
import { Runner, type EntryContext } from '../../runners/runner.js';

export default class StampRelayRunner extends Runner {
  async process(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const at = performance.timeOrigin + performance.now();
    const stamps = Array.isArray(entry.metadata.stamps) ? entry.metadata.stamps : [];
    await ctx.enqueue(String(this.options.options.to), entry.message, { ...entry.metadata, stamps: [...stamps, at] });
  }
}
