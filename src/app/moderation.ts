/**
 * Moderation: the posts the posting chain held (Mailman's
 * `app/moderator.py`). `listHeld` and `showHeld` look; `decideHeld`
 * approves, rejects or discards, and every decision is recorded in the store
 * (Store.decideHeld) as the held message is removed; `expireHeldPosts`
 * discards those nobody decided on within the list's maxDaysToHold.
 *
 * approve: the post goes back on `in` with metadata `approval: { heldId,
 * token, by, at }`, so the incoming runner sends it through the pipeline
 * (skipping every chain rule but loop: runners/incoming.ts), then the hold
 * is removed. Enqueue first, then remove, for no loss:
 *   killed after the enqueue, before the removal: the post is on its way
 *     and the hold is still listed. Approving it again enqueues it again,
 *     but the incoming runner lets only the first approval's token through
 *     (Store.claimApproval), so it is posted once; the second run removes
 *     the hold.
 * reject: a notice with the reason to the poster (through `virgin`; not for
 * robots or the null sender, as for the chain's rejections), then removal.
 * Killed between: running it again sends the notice again.
 * discard: removal only.
 * bulk (decideHeldEach): one decideHeld per post, in the order given.
 * expiry: one store transaction per post: killed midway, the posts not yet
 * expired are expired by the next run.
 *
 * hold notices (sendHeldNotices, what the incoming runner calls for a post
 * the chain held): one to the moderators and owners, and one to the poster
 * ("your post awaits moderator approval", Mailman's postheld.txt) unless the
 * list turned that off (respondToPostRequests), the post is a robot's or a
 * bounce (whyNotNotify), or the poster had maxAutoResponsesPerDay automatic
 * replies from the list today (countAutoResponse, counted in the store
 * before the notice is enqueued: killed between, one reply is counted and
 * not sent, never the other way round). Both carry the held id: the virgin
 * runner drops them once the post is decided on (holdState), so a notice
 * still queued, or requeued from shunt, never asks about a post that no
 * longer waits.
 *
 * Files: a new entry in `in` or `virgin` through ctx.enqueue (durable once
 * it resolves), and the list store.
 */
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../../queues/index.js';
import { IN_QUEUE, VIRGIN_QUEUE } from '../../runners/queue-ids.js';
import { holdNotice, postHeldNotice, rejectNotice, whyNotNotify } from '../mail/moderation-notices.js';
import { RawMessage } from '../mail/raw-message.js';
import { HeldMessageUnknownError, HeldMessageUnreadableError, parseAddress, type HeldDecisionRecord, type HeldMessage, type HeldSummary, type MailingList } from '../store/index.js';
import { isSwitchyardError } from '../errors.js';
import type { AppContext } from './context.js';

export const DEFAULT_REJECT_REASON = 'rejected by the list moderator';
const DAY_MS = 86_400_000;

type StoreContext = Pick<AppContext, 'store'>;

/** The held message `id`, which must be on `list` (HeldMessageUnknownError otherwise, ListUnknownError for no list). */
async function heldOn(ctx: StoreContext, list: string, id: number): Promise<HeldMessage> {
  const found = await ctx.store.getList(list);
  const held = await ctx.store.getHeld(id);
  if (held.list !== found.address) throw new HeldMessageUnknownError(id);
  return held;
}

function rawOf(held: HeldMessage): Buffer {
  if (held.raw === null) throw new HeldMessageUnreadableError(held.id, held.queueRef);
  return held.raw;
}

/** The posts held on a list, oldest first; ListUnknownError if there is no such list. */
export async function listHeld(ctx: StoreContext, list: string): Promise<HeldMessage[]> {
  const found = await ctx.store.getList(list);
  return ctx.store.heldMessages(found.address);
}

/** One page of a list's held posts without their bytes, oldest first, and how many wait in all (the web admin's queue). */
export async function pageHeld(ctx: StoreContext, list: string, page: { offset: number; limit: number }): Promise<{ held: HeldSummary[]; total: number }> {
  const found = await ctx.store.getList(list);
  return { held: await ctx.store.heldSummaries(found.address, page), total: await ctx.store.countHeld(found.address) };
}

export interface HeldView {
  held: HeldMessage;
  /** The exact bytes of the post. */
  raw: Buffer;
  /** Its header fields, unfolded, in order. */
  headers: { name: string; value: string }[];
  /** Its body as received. */
  body: Buffer;
}

/** One held post with its header fields and body. */
export async function showHeld(ctx: StoreContext, list: string, id: number): Promise<HeldView> {
  const held = await heldOn(ctx, list, id);
  const raw = rawOf(held);
  const message = RawMessage.parse(raw);
  const headers = message.fields.map((field) => {
    const text = field.raw.toString('utf8').replace(/\r?\n([ \t])/g, '$1').replace(/\r?\n$/, '');
    return { name: field.name, value: text.slice(text.indexOf(':') + 1).trim() };
  });
  return { held, raw, headers, body: message.body };
}

export type HeldDecisionRequest =
  | { decision: 'approve'; by: string }
  | { decision: 'reject'; by: string; reason?: string }
  | { decision: 'discard'; by: string };

/** What became of the notice to the poster of a rejected post. */
export type RejectNoticeOutcome = { to: string; entry: string } | { skipped: string };

export interface HeldDecided {
  record: HeldDecisionRecord;
  /** approve: the `in` entry the post went back on. */
  entry?: string;
  /** reject: the notice to the poster. */
  notice?: RejectNoticeOutcome;
}

/** Approve, reject or discard the held post `id` of `list`, and record it. */
export async function decideHeld(ctx: Pick<AppContext, 'store' | 'now' | 'enqueue'>, list: string, id: number, request: HeldDecisionRequest): Promise<HeldDecided> {
  const held = await heldOn(ctx, list, id);
  switch (request.decision) {
    case 'approve':
      return approve(ctx, held, request.by);
    case 'reject':
      return reject(ctx, held, request.by, request.reason ?? DEFAULT_REJECT_REASON);
    case 'discard':
      return { record: await ctx.store.decideHeld(held.id, { decision: 'discard', decidedBy: request.by }) };
  }
}

/** What became of one post of a bulk decision (decideHeldEach). */
export type HeldBulkOutcome =
  | { id: number; outcome: 'decided'; decided: HeldDecided }
  /** Never held, or held on another list. */
  | { id: number; outcome: 'not_found' }
  /** Decided before (by someone else, or earlier in the same request): what was decided. */
  | { id: number; outcome: 'already_decided'; record: HeldDecisionRecord }
  /** Could not be decided now (unreadable, the store busy): the error's code, message and whether trying later may help. */
  | { id: number; outcome: 'failed'; code: string; message: string; temporary: boolean };

/**
 * The same decision on many held posts of `list` (the REST API's bulk route),
 * each through decideHeld, one post after another with its crash windows:
 * killed midway, the posts decided are decided and the rest still wait.
 * What became of each, in the order given: a post no longer waiting is
 * `already_decided` when a decision on it is recorded for this list,
 * `not_found` otherwise; one that cannot be decided is `failed` with its
 * error's code, and the others are still tried. ListUnknownError, before
 * anything is done, if there is no such list.
 */
export async function decideHeldEach(ctx: Pick<AppContext, 'store' | 'now' | 'enqueue'>, list: string, ids: readonly number[], request: HeldDecisionRequest): Promise<HeldBulkOutcome[]> {
  const found = await ctx.store.getList(list);
  const outcomes: HeldBulkOutcome[] = [];
  for (const id of ids) {
    try {
      outcomes.push({ id, outcome: 'decided', decided: await decideHeld(ctx, found.address, id, request) });
    } catch (error) {
      if (error instanceof HeldMessageUnknownError) {
        const record = await ctx.store.heldDecision(id);
        outcomes.push(record !== null && record.list === found.address ? { id, outcome: 'already_decided', record } : { id, outcome: 'not_found' });
      } else if (isSwitchyardError(error)) {
        outcomes.push({ id, outcome: 'failed', code: error.code, message: error.message, temporary: error.temporary });
      } else {
        throw error;
      }
    }
  }
  return outcomes;
}

async function approve(ctx: Pick<AppContext, 'store' | 'now' | 'enqueue'>, held: HeldMessage, by: string): Promise<HeldDecided> {
  const raw = rawOf(held);
  const approval = { heldId: held.id, token: randomBytes(16).toString('hex'), by, at: ctx.now().toISOString() };
  const { heldFromEntry: _entry, approval: _previous, ...kept } = held.metadata;
  const metadata = { ...kept, listId: held.list, approval } as JsonObject;
  const entry = await ctx.enqueue(IN_QUEUE, raw, metadata);
  const record = await ctx.store.decideHeld(held.id, { decision: 'approve', decidedBy: by });
  return { record, entry };
}

async function reject(ctx: Pick<AppContext, 'store' | 'now' | 'enqueue'>, held: HeldMessage, by: string, reason: string): Promise<HeldDecided> {
  const list = await ctx.store.getList(held.list);
  const message = RawMessage.parse(rawOf(held));
  const envelopeSender = typeof held.metadata.envelopeSender === 'string' ? held.metadata.envelopeSender : undefined;
  const why = whyNotNotify(message, held.sender === '' ? null : held.sender, envelopeSender);
  let notice: RejectNoticeOutcome;
  if (why === null) {
    const built = rejectNotice(list, { to: held.sender, subject: held.subject, messageId: held.messageId ?? undefined, reason }, ctx.now());
    notice = { to: held.sender, entry: await ctx.enqueue(VIRGIN_QUEUE, built.message, built.metadata) };
  } else {
    notice = { skipped: why };
  }
  const record = await ctx.store.decideHeld(held.id, { decision: 'reject', decidedBy: by, reason });
  return { record, notice };
}

export interface ExpiredHeld {
  list: string;
  id: number;
  sender: string;
  subject: string;
  receivedAt: string;
}

/**
 * Discard the held posts older than their list's maxDaysToHold (0: kept
 * forever) at `now`, as Mailman does: no notice to anyone, the decision
 * recorded as `expire` by `expiry`, one log line per post. What the
 * scheduler runs on `cron.heldExpiry`.
 */
export async function expireHeldPosts(ctx: Pick<AppContext, 'store' | 'now' | 'log'>): Promise<ExpiredHeld[]> {
  const { store, log } = ctx;
  const now = ctx.now().getTime();
  const expired: ExpiredHeld[] = [];
  for (const list of await store.lists()) {
    const days = list.settings.maxDaysToHold;
    if (days === 0) continue;
    const cutoff = now - days * DAY_MS;
    for (const held of await store.heldMessages(list.address)) {
      if (held.receivedAt.getTime() >= cutoff) continue;
      await store.decideHeld(held.id, { decision: 'expire', decidedBy: 'expiry', reason: `held longer than ${days} days` });
      const record = { list: list.address, id: held.id, sender: held.sender, subject: held.subject, receivedAt: held.receivedAt.toISOString() };
      log?.info({ ...record, reason: held.reason, maxDaysToHold: days }, `held post #${held.id} on ${list.address} expired after ${days} days: discarded`);
      expired.push(record);
    }
  }
  return expired;
}

/** The counter of automatic replies maxAutoResponsesPerDay limits: command replies, held-post and rejection notices together. */
export const AUTORESPONSE_KIND = 'autoresponse';

/**
 * Null when the list may send `address` one more automatic reply today
 * (UTC; and counts it, in one store transaction, so two runners never both
 * send the eleventh); else why not. maxAutoResponsesPerDay 0: no limit, as
 * in Mailman.
 */
export async function countAutoResponse(ctx: Pick<AppContext, 'store' | 'now'>, list: MailingList, address: string): Promise<string | null> {
  const limit = list.settings.maxAutoResponsesPerDay;
  if (limit === 0) return null;
  const day = ctx.now().toISOString().slice(0, 10);
  const allowed = await ctx.store.takeAutoResponse(list.address, address, AUTORESPONSE_KIND, day, limit);
  return allowed ? null : `${address} had ${limit} automatic replies from ${list.address} today (maxAutoResponsesPerDay)`;
}

/** What became of the notice to the poster of a held post. */
export type PosterNoticeOutcome = { to: string; entry: string } | { skipped: string };

export interface HeldNotices {
  /** The `virgin` entry of the moderators' notice. */
  moderators: string;
  poster: PosterNoticeOutcome;
}

/** Why the poster of `held` gets no "awaits approval" notice (without counting one), or null when they may. */
function whyNotTellPoster(list: MailingList, held: HeldMessage, message: RawMessage): string | null {
  if (!list.settings.respondToPostRequests) return 'the list does not answer held posts (respondToPostRequests is false)';
  const envelopeSender = typeof held.metadata.envelopeSender === 'string' ? held.metadata.envelopeSender : undefined;
  return whyNotNotify(message, held.sender === '' ? null : held.sender, envelopeSender);
}

/** Enqueue the notices of a post just held: to the moderators and owners, and (when it may) to the poster. */
export async function sendHeldNotices(ctx: Pick<AppContext, 'store' | 'now' | 'enqueue'>, list: MailingList, held: HeldMessage, message: RawMessage): Promise<HeldNotices> {
  const auth = list.settings.moderateByReply;
  // The token is recorded before the notice is queued: a notice carrying a token the store does not know would answer no reply.
  const reply = auth === 'off' ? undefined : { token: await ctx.store.heldReplyToken(held.id, randomBytes(16).toString('hex')), auth };
  const forModerators = holdNotice(list, held, ctx.now(), reply);
  const moderators = await ctx.enqueue(VIRGIN_QUEUE, forModerators.message, forModerators.metadata);
  const why = whyNotTellPoster(list, held, message);
  if (why !== null) return { moderators, poster: { skipped: why } };
  let forPoster: ReturnType<typeof postHeldNotice>;
  try {
    parseAddress(held.sender);
    forPoster = postHeldNotice(list, held, ctx.now());
  } catch (error) {
    // A sender that is no address, or no header may carry (AddressInvalidError, HeaderValueError): the post
    // stays held and the moderators know; only this courtesy is lost.
    return { moderators, poster: { skipped: `no notice can be written to ${JSON.stringify(held.sender)}: ${(error as Error).message}` } };
  }
  const limited = await countAutoResponse(ctx, list, held.sender);
  if (limited !== null) return { moderators, poster: { skipped: limited } };
  return { moderators, poster: { to: held.sender, entry: await ctx.enqueue(VIRGIN_QUEUE, forPoster.message, forPoster.metadata) } };
}

/** Whether a held post still waits for a moderator, or what was decided (null: no record, e.g. its list was removed). */
export type HoldState = { waiting: true; held: HeldMessage } | { waiting: false; decision: HeldDecisionRecord | null };

export async function holdState(ctx: StoreContext, heldId: number): Promise<HoldState> {
  try {
    return { waiting: true, held: await ctx.store.getHeld(heldId) };
  } catch (error) {
    if (!(error instanceof HeldMessageUnknownError)) throw error;
  }
  return { waiting: false, decision: await ctx.store.heldDecision(heldId) };
}
