/**
 * The warnings pass (Mailman's send_warnings): for every list, members whose
 * delivery bounces disabled get a reminder every
 * `bounceYouAreDisabledWarningsInterval` days, `bounceYouAreDisabledWarnings`
 * times; one interval after the last they are removed and the owners told
 * (`bounceNotifyOwnerOnRemoval`). The pass also resets the scores of enabled
 * members whose last bounce is older than `bounceInfoStaleAfter`, so
 * `switchyard bounces` shows what the next bounce would start from.
 *
 * The master runs it on `cron.bounceWarnings` (node-cron); tests and
 * `switchyard bounces --run-warnings` call runWarningsPass() directly with
 * their own clock. It is idempotent: run twice at the same moment, the
 * second run finds nothing due.
 *
 * Crash windows: a notice is enqueued (durably) before the member row that
 * records it is updated, and the owners' removal notice before the removal.
 * Killed between the two: the next pass sends the reminder or the removal
 * notice again (a duplicate notice, never a lost one, never a member removed
 * without the owners told).
 */
import type { MailingList, Member, Store } from '../store/index.js';
import { MemberUnknownError } from '../store/index.js';
import { ownerRemovedNotice, warningNotice, type VirginNotice } from './notices.js';
import { DAY_MS } from './scoring.js';

export interface WarningsPassOptions {
  store: Store;
  now: () => number;
  /** Put a notice on `virgin`; resolves once it is durably enqueued. */
  enqueue: (notice: VirginNotice) => Promise<void>;
  /** Only these lists (default: every list). */
  lists?: readonly string[];
}

export interface WarningsPassResult {
  lists: number;
  warned: string[];
  removed: string[];
  staleScoresReset: number;
}

async function passList(list: MailingList, options: WarningsPassOptions, result: WarningsPassResult): Promise<void> {
  const { store, enqueue } = options;
  const now = new Date(options.now());
  result.staleScoresReset += await store.resetStaleBounceScores(list.address, new Date(now.getTime() - list.settings.bounceInfoStaleAfter * DAY_MS));
  const intervalMs = list.settings.bounceYouAreDisabledWarningsInterval * DAY_MS;
  const disabled = await store.members(list.address, { role: 'member', deliveryStatus: 'by_bounces' });
  for (const member of disabled) {
    const since = member.lastBounceWarningAt ?? member.lastBounceAt;
    if (since === null) {
      // Disabled by bounces without a date (set by hand): start the clock now.
      await store.updateMember(list.address, member.address, 'member', { lastBounceWarningAt: now });
      continue;
    }
    if (now.getTime() - since.getTime() < intervalMs) continue;
    if (member.bounceWarningsSent >= list.settings.bounceYouAreDisabledWarnings) {
      await remove(list, member, options, now, result);
      continue;
    }
    const warning = member.bounceWarningsSent + 1;
    await enqueue(warningNotice(list, member, warning, now));
    await store.updateMember(list.address, member.address, 'member', { bounceWarningsSent: warning, lastBounceWarningAt: now });
    result.warned.push(`${member.address} ${list.address}`);
  }
}

async function remove(list: MailingList, member: Member, options: WarningsPassOptions, now: Date, result: WarningsPassResult): Promise<void> {
  // Re-read: an operator may have re-enabled the member since the list was read.
  const current = await options.store.findMember(list.address, member.address, 'member');
  if (current === null || current.deliveryStatus !== 'by_bounces') return;
  if (list.settings.bounceNotifyOwnerOnRemoval) await options.enqueue(ownerRemovedNotice(list, current, now));
  try {
    await options.store.removeMember(list.address, member.address, 'member');
  } catch (error) {
    if (!(error instanceof MemberUnknownError)) throw error;
  }
  result.removed.push(`${member.address} ${list.address}`);
}

export async function runWarningsPass(options: WarningsPassOptions): Promise<WarningsPassResult> {
  const result: WarningsPassResult = { lists: 0, warned: [], removed: [], staleScoresReset: 0 };
  const lists = options.lists === undefined ? await options.store.lists() : await Promise.all(options.lists.map((address) => options.store.getList(address)));
  for (const list of lists) {
    result.lists++;
    await passList(list, options, result);
  }
  return result;
}
