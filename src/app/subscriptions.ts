/**
 * Members run their own membership: subscribe and unsubscribe requests under
 * the list's subscriptionPolicy / unsubscriptionPolicy, confirmation by
 * token, owners' decisions on requests that wait for them, the welcome and
 * goodbye messages (Mailman's `app/subscriptions.py` and `app/registrar.py`).
 * The command runner (runners/command.ts), the CLI (`switchyard requests`)
 * and the HTTP API call these.
 *
 * No backscatter: a confirmation goes only to the address being
 * (un)subscribed, at most `confirmationsPerDay` a day per address and list
 * (counted in the store before the mail is queued), and a request never
 * makes a membership without that address's confirmation or an owner's
 * approval, unless the list's policy is `open`.
 *
 * Crash windows (each store call is one transaction; mails are entries on
 * `virgin` through ctx.enqueue):
 * - confirmation counted, killed before it is queued: one fewer that day;
 *   the request stands and asking again sends it (the victim-safe side);
 * - member added, killed before the request is removed: confirming again
 *   answers "already a member" and removes it; the welcome may be missing;
 * - member added, killed before the welcome is queued: the member is in,
 *   without a welcome;
 * - an owner's reject: the notice is queued, then the request removed;
 *   killed between, rejecting again sends the notice again.
 */
import { randomBytes } from 'node:crypto';
import {
  addressProblem,
  isBanned,
  MemberExistsError,
  MemberUnknownError,
  parseAddress,
  type MailingList,
  type Member,
  type PendingKind,
  type PendingRequest,
} from '../store/index.js';
import { VIRGIN_QUEUE } from '../../runners/queue-ids.js';
import { SwitchyardError } from '../errors.js';
import type { AppContext } from './context.js';
import { confirmUrl } from './web-links.js';
import { confirmationNotice, goodbyeNotice, ownersRequestsNotice, requestRefusedNotice, welcomeNotice, type NoticeEntry } from './membership-notices.js';

/** Where membership mail goes: the virgin runner delivers it. */
export const MEMBERSHIP_NOTICE_QUEUE = VIRGIN_QUEUE;
export const APPROVAL_KINDS: readonly PendingKind[] = ['subscription_approval', 'unsubscription_approval'];
const DAY_MS = 86_400_000;
/** 128 random bits, hex: URL-safe, safe in a local part an MTA might lower-case, and short enough that From: name-confirm+TOKEN@domain fits one line. */
const TOKEN_BYTES = 16;

export type SubscriptionContext = Pick<AppContext, 'store' | 'now' | 'enqueue' | 'log' | 'webBaseUrl'>;

export interface MembershipOptions {
  /** Site-wide bans (config `[membership] bans`), on top of the list's bannedAddresses. */
  siteBans?: readonly string[];
  /**
   * The request does not come from the address itself (a web form anyone
   * can fill in): an `open` subscription or unsubscription policy still
   * asks the address to confirm, so nobody is (un)subscribed by a stranger.
   */
  unproven?: boolean;
}

export type RequestOutcome =
  | { status: 'subscribed'; address: string; member: Member }
  | { status: 'unsubscribed'; address: string }
  | { status: 'confirmation-sent'; address: string; request: PendingRequest }
  /** A confirmation is waiting, but this address had its confirmationsPerDay already: none sent. */
  | { status: 'confirmation-limit'; address: string; request: PendingRequest }
  | { status: 'pending-approval'; address: string; request: PendingRequest }
  | { status: 'already-member'; address: string }
  | { status: 'not-member'; address: string }
  | { status: 'banned'; address: string; ban: string }
  | { status: 'invalid'; address: string; reason: string }
  /** confirm: no request has this token (never issued, used already, or removed after expiry). */
  | { status: 'unknown-token'; token: string }
  | { status: 'expired'; token: string; address: string }
  | { status: 'other-list'; token: string };

/** One line saying what happened, for command replies and the CLI. */
export function outcomeText(outcome: RequestOutcome, list: MailingList): string {
  switch (outcome.status) {
    case 'subscribed':
      return `${outcome.address} is now a member of ${list.address}`;
    case 'unsubscribed':
      return `${outcome.address} is no longer a member of ${list.address}`;
    case 'confirmation-sent':
      return `a confirmation was sent to ${outcome.address}; nothing happens until it is answered`;
    case 'confirmation-limit':
      return `a confirmation for ${outcome.address} is waiting, but no more are sent to it today (at most ${list.settings.confirmationsPerDay} a day)`;
    case 'pending-approval':
      return `the request for ${outcome.address} waits for the list owners' approval`;
    case 'already-member':
      return `${outcome.address} is already a member of ${list.address}`;
    case 'not-member':
      return `${outcome.address} is not a member of ${list.address}`;
    case 'banned':
      return `${outcome.address} may not subscribe to ${list.address} (banned)`;
    case 'invalid':
      return `${JSON.stringify(outcome.address)} is not a valid address: ${outcome.reason}`;
    case 'unknown-token':
      return `no request waits for this confirmation (already confirmed, or lapsed): nothing was done`;
    case 'expired':
      return `this confirmation lapsed; nothing was done (ask again to get a new one)`;
    case 'other-list':
      return `this confirmation is for another list; nothing was done here`;
  }
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function utcHour(date: Date): string {
  return date.toISOString().slice(0, 13);
}

function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

async function send(ctx: SubscriptionContext, notice: NoticeEntry): Promise<string> {
  return ctx.enqueue(MEMBERSHIP_NOTICE_QUEUE, notice.message, notice.metadata);
}

function banOf(list: MailingList, address: string, options: MembershipOptions): string | null {
  return isBanned(address, [...list.settings.bannedAddresses, ...(options.siteBans ?? [])]);
}

async function addRequest(ctx: SubscriptionContext, list: MailingList, kind: PendingKind, address: string, displayName: string): Promise<PendingRequest> {
  const now = ctx.now();
  return ctx.store.addPendingRequest({
    token: newToken(),
    list: list.address,
    kind,
    address,
    displayName,
    createdAt: now,
    expiresAt: new Date(now.getTime() + list.settings.pendingRequestLifetime * DAY_MS),
  });
}

/**
 * The waiting request of `kind` for the address (the same token again, so
 * repeated asking does not multiply rows), or a new one; then its
 * confirmation, unless the address had its confirmationsPerDay.
 */
async function confirmationRequest(ctx: SubscriptionContext, list: MailingList, kind: 'subscribe' | 'unsubscribe', address: string, displayName: string): Promise<RequestOutcome> {
  const request = (await ctx.store.findPendingRequest(list.address, kind, address, ctx.now())) ?? (await addRequest(ctx, list, kind, address, displayName));
  const allowed = await ctx.store.takeAutoResponse(list.address, address, 'confirmation', utcDay(ctx.now()), list.settings.confirmationsPerDay);
  if (!allowed) {
    ctx.log?.warn({ list: list.address, address, kind }, 'confirmation not sent: confirmationsPerDay reached for this address');
    return { status: 'confirmation-limit', address, request };
  }
  await send(ctx, confirmationNotice(list, request, ctx.now(), ctx.webBaseUrl === undefined ? undefined : confirmUrl(ctx.webBaseUrl, list.address, request.token)));
  ctx.log?.info({ list: list.address, address, kind, request: request.id }, 'confirmation sent');
  return { status: 'confirmation-sent', address, request };
}

async function approvalRequest(ctx: SubscriptionContext, list: MailingList, kind: 'subscription_approval' | 'unsubscription_approval', address: string, displayName: string): Promise<RequestOutcome> {
  const request = (await ctx.store.findPendingRequest(list.address, kind, address, ctx.now())) ?? (await addRequest(ctx, list, kind, address, displayName));
  await notifyOwnersOfRequests(ctx, list);
  return { status: 'pending-approval', address, request };
}

/** Make the membership, then the welcome. An existing one is `already-member`. */
async function subscribeNow(ctx: SubscriptionContext, list: MailingList, address: string, displayName: string): Promise<RequestOutcome> {
  let member: Member;
  try {
    member = await ctx.store.addMember(list.address, { address, displayName });
  } catch (error) {
    if (error instanceof MemberExistsError) return { status: 'already-member', address };
    throw error;
  }
  ctx.log?.info({ list: list.address, address }, 'member subscribed');
  if (list.settings.sendWelcomeMessage) await send(ctx, welcomeNotice(list, member.address, ctx.now()));
  return { status: 'subscribed', address: member.address, member };
}

async function unsubscribeNow(ctx: SubscriptionContext, list: MailingList, address: string): Promise<RequestOutcome> {
  let removed: Member;
  try {
    removed = await ctx.store.removeMember(list.address, address, 'member');
  } catch (error) {
    if (error instanceof MemberUnknownError) return { status: 'not-member', address };
    throw error;
  }
  ctx.log?.info({ list: list.address, address }, 'member unsubscribed');
  if (list.settings.sendGoodbyeMessage) await send(ctx, goodbyeNotice(list, removed.address, ctx.now()));
  return { status: 'unsubscribed', address: removed.address };
}

export interface SubscriptionRequest {
  address: string;
  displayName?: string;
}

/** A request to join `list` (ListUnknownError if none), under its subscriptionPolicy. */
export async function requestSubscription(ctx: SubscriptionContext, listAddress: string, request: SubscriptionRequest, options: MembershipOptions = {}): Promise<RequestOutcome> {
  const list = await ctx.store.getList(listAddress);
  const problem = addressProblem(request.address);
  if (problem !== null) return { status: 'invalid', address: request.address, reason: problem };
  const address = parseAddress(request.address).address;
  const ban = banOf(list, address, options);
  if (ban !== null) return { status: 'banned', address, ban };
  if ((await ctx.store.findMember(list.address, address, 'member')) !== null) return { status: 'already-member', address };
  const displayName = request.displayName ?? '';
  switch (list.settings.subscriptionPolicy) {
    case 'open':
      if (options.unproven) return confirmationRequest(ctx, list, 'subscribe', address, displayName);
      return subscribeNow(ctx, list, address, displayName);
    case 'confirm':
    case 'confirm_then_moderate':
      return confirmationRequest(ctx, list, 'subscribe', address, displayName);
    case 'moderate':
      return approvalRequest(ctx, list, 'subscription_approval', address, displayName);
  }
}

/** A request to leave `list`, under its unsubscriptionPolicy. */
export async function requestUnsubscription(ctx: SubscriptionContext, listAddress: string, addressText: string, options: Pick<MembershipOptions, 'unproven'> = {}): Promise<RequestOutcome> {
  const list = await ctx.store.getList(listAddress);
  const problem = addressProblem(addressText);
  if (problem !== null) return { status: 'invalid', address: addressText, reason: problem };
  const address = parseAddress(addressText).address;
  const member = await ctx.store.findMember(list.address, address, 'member');
  if (member === null) return { status: 'not-member', address };
  switch (list.settings.unsubscriptionPolicy) {
    case 'open':
      if (options.unproven) return confirmationRequest(ctx, list, 'unsubscribe', member.address, member.displayName);
      return unsubscribeNow(ctx, list, address);
    case 'confirm':
      return confirmationRequest(ctx, list, 'unsubscribe', member.address, member.displayName);
    case 'moderate':
      return approvalRequest(ctx, list, 'unsubscription_approval', member.address, member.displayName);
  }
}

/**
 * Confirm the request with `token` on `list`. Whoever holds the token was
 * mailed it at the address concerned, so the sender of the confirmation
 * does not matter. Harmless twice, expired or for another list: nothing is
 * done and the outcome says why.
 */
export async function confirmRequest(ctx: SubscriptionContext, listAddress: string, tokenText: string, options: MembershipOptions = {}): Promise<RequestOutcome> {
  const list = await ctx.store.getList(listAddress);
  const token = tokenText.trim().toLowerCase();
  if (!/^[0-9a-f]{16,128}$/.test(token)) return { status: 'unknown-token', token: tokenText.slice(0, 80) };
  const request = await ctx.store.pendingRequestByToken(token);
  if (request === null || APPROVAL_KINDS.includes(request.kind)) return { status: 'unknown-token', token };
  if (request.list !== list.address) return { status: 'other-list', token };
  if (request.expiresAt.getTime() <= ctx.now().getTime()) {
    await ctx.store.removePendingRequest(request.id);
    return { status: 'expired', token, address: request.address };
  }
  let outcome: RequestOutcome;
  if (request.kind === 'subscribe') {
    const ban = banOf(list, request.address, options);
    if (ban !== null) outcome = { status: 'banned', address: request.address, ban };
    else if (list.settings.subscriptionPolicy === 'confirm_then_moderate') {
      // Confirmed by the address; now the owners. A new row with its own id and token.
      outcome = await approvalRequest(ctx, list, 'subscription_approval', request.address, request.displayName);
    } else outcome = await subscribeNow(ctx, list, request.address, request.displayName);
  } else {
    outcome = await unsubscribeNow(ctx, list, request.address);
  }
  await ctx.store.removePendingRequest(request.id);
  return outcome;
}

/** A pending request as the CLI's --json and the HTTP API give it. */
export function pendingRequestJson(request: PendingRequest) {
  return {
    id: request.id,
    list: request.list,
    kind: request.kind,
    address: request.address,
    displayName: request.displayName,
    createdAt: request.createdAt.toISOString(),
    expiresAt: request.expiresAt.toISOString(),
    waitsFor: request.kind.endsWith('_approval') ? ('owners' as const) : ('confirmation' as const),
  };
}

export type RequestDecision = { decision: 'approve' } | { decision: 'reject'; reason?: string } | { decision: 'discard' };

export interface DecidedRequest {
  request: PendingRequest;
  decision: RequestDecision['decision'];
  /** approve: what it did. */
  outcome?: RequestOutcome;
  /** reject: the notice to the requester. */
  notice?: string;
}

export const DEFAULT_REQUEST_REJECT_REASON = 'refused by the list owners';

/**
 * An owner's decision on request `id` of `list`. approve and reject apply
 * to requests waiting for the owners; discard removes any request.
 * PendingRequestUnknownError for no such request; RequestNotForOwnersError
 * when approving or rejecting one that waits for the address's confirmation.
 */
export async function decideRequest(ctx: SubscriptionContext, listAddress: string, id: number, decision: RequestDecision): Promise<DecidedRequest> {
  const list = await ctx.store.getList(listAddress);
  const request = await ctx.store.getPendingRequest(list.address, id);
  if (decision.decision === 'discard') {
    await ctx.store.removePendingRequest(request.id);
    return { request, decision: 'discard' };
  }
  if (!APPROVAL_KINDS.includes(request.kind)) throw new RequestNotForOwnersError(list.address, request);
  if (decision.decision === 'reject') {
    const notice = await send(ctx, requestRefusedNotice(list, request, decision.reason ?? DEFAULT_REQUEST_REJECT_REASON, ctx.now()));
    await ctx.store.removePendingRequest(request.id);
    return { request, decision: 'reject', notice };
  }
  const outcome = request.kind === 'subscription_approval' ? await subscribeNow(ctx, list, request.address, request.displayName) : await unsubscribeNow(ctx, list, request.address);
  await ctx.store.removePendingRequest(request.id);
  return { request, decision: 'approve', outcome };
}

/** The list's pending requests, oldest first. */
export async function listRequests(ctx: Pick<AppContext, 'store'>, listAddress: string): Promise<PendingRequest[]> {
  const list = await ctx.store.getList(listAddress);
  return ctx.store.pendingRequests(list.address);
}

/**
 * Tell the owners about approval requests they have not heard of: one
 * notice naming all waiting ones, at most one per list per UTC hour (a
 * flood of requests is one mail; those arriving after it are told by the
 * scheduler's next run). Nothing when the list has no owners or moderators
 * (the requests wait in `switchyard requests list`). How many were told of.
 */
export async function notifyOwnersOfRequests(ctx: SubscriptionContext, list: MailingList): Promise<number> {
  const waiting = await ctx.store.pendingRequests(list.address, { kinds: APPROVAL_KINDS });
  const fresh = waiting.filter((request) => request.ownersNotifiedAt === null);
  if (fresh.length === 0) return 0;
  const admins = (await ctx.store.countMembers(list.address, { role: 'owner' })) + (await ctx.store.countMembers(list.address, { role: 'moderator' }));
  if (admins === 0) return 0;
  const now = ctx.now();
  if (!(await ctx.store.takeAutoResponse(list.address, '', 'owner-requests-notice', utcHour(now), 1))) return 0;
  await send(ctx, ownersRequestsNotice(list, fresh, waiting, now));
  await ctx.store.markOwnersNotified(fresh.map((request) => request.id), now);
  return fresh.length;
}

export interface PendingRequestsPass {
  expired: number;
  ownersNotified: number;
  countsPruned: number;
  preferenceChangesLapsed: number;
}

/**
 * The scheduler's pending-requests job: remove lapsed requests, tell owners
 * of requests still untold, and forget the daily counts older than two days.
 */
export async function runPendingRequestsPass(ctx: SubscriptionContext): Promise<PendingRequestsPass> {
  const now = ctx.now();
  const expired = await ctx.store.removeExpiredRequests(now);
  for (const request of expired) ctx.log?.info({ list: request.list, address: request.address, kind: request.kind, id: request.id }, 'pending request lapsed: removed');
  let ownersNotified = 0;
  for (const list of await ctx.store.lists()) ownersNotified += await notifyOwnersOfRequests(ctx, list);
  const countsPruned = await ctx.store.pruneAutoResponses(utcDay(new Date(now.getTime() - 2 * DAY_MS)));
  // A `set` command's changes nobody confirmed (src/app/preference-confirmation.ts): they lapse like requests.
  const preferenceChangesLapsed = await ctx.store.removeExpiredPreferenceChanges(now);
  return { expired: expired.length, ownersNotified, countsPruned, preferenceChangesLapsed };
}

/** approve or reject on a request that waits for the address's confirmation, not for the owners. */
export class RequestNotForOwnersError extends SwitchyardError {
  constructor(readonly list: string, readonly request: PendingRequest) {
    super('SY_REQUEST_NOT_FOR_OWNERS', `request ${request.id} on ${list} waits for ${request.address} to confirm (${request.kind}), not for the owners; \`requests discard\` removes it`);
  }
}
