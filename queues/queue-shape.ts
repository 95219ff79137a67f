/**
 * The shape of a spool's queues, as Postfix's qshape shows it: for each
 * queue, its waiting (`.pck`) entries counted by age bucket, and the age of
 * the oldest. An entry's age comes from its name (the time part of the id),
 * so no file is opened: cheap enough for every `/metrics` scrape. In the
 * retry queue the name carries when the entry is due, so an entry not due
 * yet counts as age 0. Reads directories only; changes nothing.
 */
import { tryParseEntryId } from './entry-id.js';
import type { Spool } from './spool.js';

/** qshape's buckets: upper bounds in minutes, each twice the last; the final bucket is everything older. */
export const SHAPE_BUCKETS_MINUTES: readonly number[] = [5, 10, 20, 40, 80, 160, 320, 640, 1280];

export interface QueueShape {
  queue: string;
  /** Waiting entries in all. */
  total: number;
  /** Seconds since the oldest waiting entry was written (retry: became due); null when empty. */
  oldestAgeSeconds: number | null;
  /** Entries per bucket, in SHAPE_BUCKETS_MINUTES order, then one for older ones (length + 1). */
  buckets: number[];
}

export function bucketIndex(ageMs: number, bucketsMinutes: readonly number[] = SHAPE_BUCKETS_MINUTES): number {
  const minutes = ageMs / 60_000;
  const index = bucketsMinutes.findIndex((bound) => minutes < bound);
  return index === -1 ? bucketsMinutes.length : index;
}

/** The shape of every queue of `spool` (standard ones and any directory present), sorted by name. */
export async function queueShape(spool: Spool, now = Date.now(), bucketsMinutes: readonly number[] = SHAPE_BUCKETS_MINUTES): Promise<QueueShape[]> {
  return Promise.all(
    (await spool.queueNames()).map(async (queue) => {
      const buckets = new Array<number>(bucketsMinutes.length + 1).fill(0);
      let oldest: number | null = null;
      const { entries } = await spool.switchboard(queue).scan(['pck']);
      let total = 0;
      for (const { id } of entries) {
        const parsed = tryParseEntryId(id);
        if (!parsed) continue; // a hand-made file of an entry's shape (Switchboard.scan): not an entry
        total++;
        const written = Number(parsed.micros / 1000n);
        const age = Math.max(0, now - written);
        buckets[bucketIndex(age, bucketsMinutes)]!++;
        if (oldest === null || age > oldest) oldest = age;
      }
      return { queue, total, oldestAgeSeconds: oldest === null ? null : Math.floor(oldest / 1000), buckets };
    }),
  );
}
