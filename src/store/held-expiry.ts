/**
 * Held posts nobody decided on are not kept forever: each list's
 * maxDaysToHold (0: forever) bounds their age, and the scheduler service runs it on
 * `cron.heldExpiry`. An expired post is discarded (no notice to anyone, as
 * Mailman does), its decision recorded as `expire` by `expiry`, and one log
 * line says which post it was.
 *
 * Each removal is one store transaction (Store.decideHeld): killed midway,
 * the posts not yet expired are simply expired by the next run.
 */
import type { Logger } from 'pino';
import type { Store } from './store.js';

const DAY_MS = 86_400_000;

export interface ExpiredHeld {
  list: string;
  id: number;
  sender: string;
  subject: string;
  receivedAt: string;
}

/** Discard the held posts older than their list's maxDaysToHold at `now`; returns what was discarded. */
export async function expireHeld(store: Store, now: number, log: Logger): Promise<ExpiredHeld[]> {
  const expired: ExpiredHeld[] = [];
  for (const list of await store.lists()) {
    const days = list.settings.maxDaysToHold;
    if (days === 0) continue;
    const cutoff = now - days * DAY_MS;
    for (const held of await store.heldMessages(list.address)) {
      if (held.receivedAt.getTime() >= cutoff) continue;
      await store.decideHeld(held.id, { decision: 'expire', decidedBy: 'expiry', reason: `held longer than ${days} days` });
      const record = { list: list.address, id: held.id, sender: held.sender, subject: held.subject, receivedAt: held.receivedAt.toISOString() };
      log.info({ ...record, reason: held.reason, maxDaysToHold: days }, `held post #${held.id} on ${list.address} expired after ${days} days: discarded`);
      expired.push(record);
    }
  }
  return expired;
}
