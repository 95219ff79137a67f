/**
 * What the incoming runner does with a post the chain held, rejected or
 * discarded (accept is the pipeline's: runners/incoming.ts).
 *
 *   hold     the post (as the chain left it: Approved: headers removed) is
 *            stored with its reason and entry metadata in the list store
 *            (one SQLite transaction), then a notice for the moderators and
 *            owners, and one for the poster, are enqueued on `virgin`
 *            (src/app/moderation.ts sendHeldNotices).
 *   reject   a notice with the reason goes to the poster through `virgin`,
 *            unless that could start a mail loop (src/mail/moderation-notices.ts whyNotNotify)
 *            or the poster had the list's maxAutoResponsesPerDay today.
 *   discard  only logged.
 *
 * Crash windows (the runner then finishes the `in` entry; killed before that,
 * its `.bak` is recovered and the entry runs again):
 *   killed after the hold committed, before the notice was enqueued: the
 *     re-run finds the held message by the entry id it recorded (looked up
 *     only for entries recovered after a crash) and does not hold it twice;
 *     it enqueues the notice then. Killed after the notice too: the
 *     moderators get that notice twice (a notice, never a post, is what can
 *     be duplicated).
 *   reject killed after the notice was enqueued: the poster gets it twice.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../queues/index.js';
import { countAutoResponse, sendHeldNotices } from '../../src/app/moderation.js';
import type { RawMessage } from '../../src/mail/raw-message.js';
import type { HeldMessage, MailingList, Store } from '../../src/store/index.js';
import type { ChainDecision } from './chain.js';
import { rejectNotice, whyNotNotify } from '../../src/mail/moderation-notices.js';
import { VIRGIN_QUEUE } from '../queue-ids.js';

export interface ActionContext {
  readonly list: MailingList;
  readonly message: RawMessage;
  readonly metadata: JsonObject;
  readonly sender: string | null;
  readonly store: Store;
  readonly log: Logger;
  readonly now: () => number;
  /** The `in` entry's id, recorded with a hold so that a re-run after a crash finds it. */
  readonly entryId: string;
  /** How often the entry was recovered after a crash (0 on a first run). */
  readonly restores: number;
  enqueue(queue: string, message: Buffer, metadata: JsonObject): Promise<string>;
}

/** The application context (src/app/) the use cases called from here need. */
function appContext(ctx: ActionContext) {
  return { store: ctx.store, now: () => new Date(ctx.now()), enqueue: (queue: string, message: Uint8Array, metadata: JsonObject) => ctx.enqueue(queue, Buffer.from(message), metadata) };
}

function envelopeSender(metadata: JsonObject): string | undefined {
  return typeof metadata.envelopeSender === 'string' ? metadata.envelopeSender : undefined;
}

async function heldEarlier(ctx: ActionContext): Promise<HeldMessage | undefined> {
  if (ctx.restores === 0) return undefined;
  const held = await ctx.store.heldMessages(ctx.list.address);
  return held.find((message) => message.metadata.heldFromEntry === ctx.entryId);
}

export async function hold(ctx: ActionContext, decision: ChainDecision): Promise<HeldMessage> {
  const existing = await heldEarlier(ctx);
  const held =
    existing ??
    (await ctx.store.holdMessage({
      list: ctx.list.address,
      sender: ctx.sender ?? envelopeSender(ctx.metadata) ?? '',
      subject: ctx.message.decoded('Subject') ?? '',
      reason: decision.reason,
      receivedAt: new Date(typeof ctx.metadata.receivedAt === 'string' && !Number.isNaN(Date.parse(ctx.metadata.receivedAt)) ? ctx.metadata.receivedAt : ctx.now()),
      messageId: ctx.message.get('Message-ID') ?? null,
      raw: ctx.message.toBuffer(),
      metadata: { ...ctx.metadata, heldFromEntry: ctx.entryId },
    }));
  if (existing) ctx.log.warn({ held: held.id }, 'post was already held by an earlier run of this entry: not held twice');
  const notices = await sendHeldNotices(appContext(ctx), ctx.list, held, ctx.message);
  const poster = 'skipped' in notices.poster ? `not sent: ${notices.poster.skipped}` : 'sent';
  ctx.log.info({ rule: decision.rule, held: held.id, sender: held.sender, reason: decision.reason, posterNotice: poster }, `post held by rule ${decision.rule}`);
  return held;
}

export async function reject(ctx: ActionContext, decision: ChainDecision): Promise<void> {
  const why = whyNotNotify(ctx.message, ctx.sender, envelopeSender(ctx.metadata)) ?? (await countAutoResponse(appContext(ctx), ctx.list, ctx.sender!));
  if (why === null) {
    const notice = rejectNotice(
      ctx.list,
      { to: ctx.sender!, subject: ctx.message.decoded('Subject') ?? '', messageId: ctx.message.get('Message-ID'), reason: decision.reason },
      new Date(ctx.now()),
    );
    await ctx.enqueue(VIRGIN_QUEUE, notice.message, notice.metadata);
  }
  ctx.log.info(
    { rule: decision.rule, sender: ctx.sender, reason: decision.reason, notice: why === null ? 'sent' : `not sent: ${why}` },
    `post rejected by rule ${decision.rule}`,
  );
}

export function discard(ctx: ActionContext, decision: ChainDecision): void {
  ctx.log.info({ rule: decision.rule, sender: ctx.sender, reason: decision.reason, messageId: ctx.message.get('Message-ID') }, `post discarded by rule ${decision.rule}`);
}
