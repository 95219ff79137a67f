/**
 * A member's own preference changes by mail (the `set` email command), made
 * only when the member confirms them from their address. The command's From
 * is whatever the sender wrote: without the confirmation, anyone could stop
 * a member's delivery or switch them to digests by forging it. The
 * confirmation goes to the member's address with a token; replying to it (or
 * `confirm TOKEN`) applies the changes, through the same rules as
 * setOwnPreferences (delivery stopped by the owner or by bounces stays so).
 *
 * The changes wait in the store (pending_preference_changes) for the list's
 * pendingRequestLifetime; the scheduler's pending-requests job removes those
 * that lapse. Confirmations count against confirmationsPerDay, as those of
 * subscriptions do, so `set` cannot be used to mail-bomb a member.
 */
import { randomBytes } from 'node:crypto';
import { MemberUnknownError, type Member } from '../store/index.js';
import type { AppContext } from './context.js';
import { changeLines, ownPreferenceRefusal, setOwnPreferences, MemberPreferenceRefusedError, type PreferenceChanges } from './member-preferences.js';
import { preferenceConfirmationNotice } from './membership-notices.js';
import { MEMBERSHIP_NOTICE_QUEUE } from './subscriptions.js';

type ConfirmationContext = Pick<AppContext, 'store' | 'now' | 'enqueue' | 'log'>;

const DAY_MS = 86_400_000;
const TOKEN_BYTES = 16;

export type PreferenceRequestOutcome =
  | { status: 'confirmation-sent'; address: string; token: string }
  | { status: 'confirmation-limit'; address: string }
  | { status: 'refused'; address: string; reason: string };

export type PreferenceConfirmOutcome =
  | { status: 'applied'; member: Member }
  | { status: 'expired'; address: string }
  | { status: 'refused'; address: string; reason: string };

/** Record `changes` for the member `member` of `listAddress` and mail them the confirmation. */
export async function requestPreferenceChange(ctx: ConfirmationContext, listAddress: string, member: Member, changes: PreferenceChanges): Promise<PreferenceRequestOutcome> {
  const refusal = ownPreferenceRefusal(member, changes);
  if (refusal !== null) return { status: 'refused', address: member.address, reason: refusal };
  const list = await ctx.store.getList(listAddress);
  const now = ctx.now();
  const allowed = await ctx.store.takeAutoResponse(list.address, member.address, 'confirmation', now.toISOString().slice(0, 10), list.settings.confirmationsPerDay);
  if (!allowed) {
    ctx.log?.warn({ list: list.address, address: member.address }, 'preference confirmation not sent: confirmationsPerDay reached for this address');
    return { status: 'confirmation-limit', address: member.address };
  }
  const change = await ctx.store.addPendingPreferenceChange({
    token: randomBytes(TOKEN_BYTES).toString('hex'),
    list: list.address,
    address: member.address,
    changes: JSON.stringify(changes),
    createdAt: now,
    expiresAt: new Date(now.getTime() + list.settings.pendingRequestLifetime * DAY_MS),
  });
  const notice = preferenceConfirmationNotice(list, change, changeLines(changes), now);
  await ctx.enqueue(MEMBERSHIP_NOTICE_QUEUE, notice.message, notice.metadata);
  ctx.log?.info({ list: list.address, address: member.address, change: change.id }, 'preference confirmation sent');
  return { status: 'confirmation-sent', address: member.address, token: change.token };
}

/**
 * Apply the waiting change with `token` on `listAddress`, once. Null when
 * the token is not a preference change of this list (it may be a
 * subscription's: the caller tries that next).
 */
export async function confirmPreferenceChange(ctx: ConfirmationContext, listAddress: string, tokenText: string): Promise<PreferenceConfirmOutcome | null> {
  const token = tokenText.trim().toLowerCase();
  if (!/^[0-9a-f]{16,128}$/.test(token)) return null;
  const change = await ctx.store.takePendingPreferenceChange(listAddress, token);
  if (change === null) return null;
  if (change.expiresAt.getTime() <= ctx.now().getTime()) return { status: 'expired', address: change.address };
  try {
    const member = await setOwnPreferences(ctx, change.list, change.address, JSON.parse(change.changes) as PreferenceChanges);
    ctx.log?.info({ list: change.list, address: change.address }, 'preference change confirmed and applied');
    return { status: 'applied', member };
  } catch (error) {
    if (error instanceof MemberPreferenceRefusedError) return { status: 'refused', address: change.address, reason: error.message };
    if (error instanceof MemberUnknownError) return { status: 'refused', address: change.address, reason: `${change.address} is no longer a member of ${change.list}` };
    throw error;
  }
}

/** Pending-requests job: remove the changes nobody confirmed in time; how many. */
export function removeLapsedPreferenceChanges(ctx: Pick<AppContext, 'store'>, now: Date): Promise<number> {
  return ctx.store.removeExpiredPreferenceChanges(now);
}
