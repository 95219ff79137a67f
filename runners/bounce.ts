/**
 * The bounce runner: consumes `bounces`, which holds two kinds of entry:
 *
 * - mail to a list's bounces address (`name-bounces[+...]@domain`), written
 *   by inject or the LMTP runner with the ingress metadata { listId,
 *   envelopeSender, envelopeRecipient, receivedAt, receivedVia }. The
 *   message is classified in the worker pool (bounce/classify-worker.ts:
 *   VERP from envelopeRecipient, then DSN, MTA detectors, auto-reply check,
 *   generic detectors), so a hostile message costs only its own entry;
 * - failures the outgoing runner saw itself (5xx to RCPT TO, or deferrals
 *   past the queue lifetime): metadata { type: 'bounce-event', listId,
 *   recipient, permanent, smtpCode, enhancedStatus, response, at }, no
 *   message to parse.
 *
 * Each failed address is scored for its list (src/bounce/processor.ts: one
 * store transaction records the event and updates the member); a member
 * disabled by it gets a notice, and the owners one if the list says so, as
 * `virgin` entries. A complaint (ARF feedback report, SES complaint) is no
 * bounce: it is recorded for the member who complained and acted on as the
 * list's `complaintAction` says (src/app/bounces.ts recordComplaint; one
 * store transaction, recognised if the entry runs again after a crash).
 * Auto-replies, challenge-response messages and success
 * reports are dropped (logged). Bounces that name no member, and messages
 * no detector understands, are forwarded to the owners or discarded
 * (`forwardUnrecognizedBouncesTo`); both are counted in `switchyard status`
 * (statusDetail). Work counters (src/work-counters.ts): bounces scored,
 * members disabled, bounces not scored by reason, complaints; a bounce run
 * again after a crash is counted again. A bounce for a list that no longer exists is discarded.
 * A busy store is temporary (to `retry`).
 *
 * Files: new `virgin` entries (notices, forwards), each durably enqueued
 * before the entry is finished; no other file. Crash windows: killed after
 * the store committed a bounce but before its notices were enqueued, the
 * entry runs again; the store recognises the same event (same time and
 * source) and does not score it twice, and the processor sends the notices
 * of a member this very bounce disabled (so notices come at least once,
 * perhaps twice). Killed after a forward was enqueued: the owners may get
 * the forward twice.
 */
import type { DequeuedEntry } from '../queues/index.js';
import { recordComplaint } from '../src/app/bounces.js';
import { lookupList } from '../src/app/list-lookup.js';
import { buildForward, isOwnForward, type ForwardReason } from '../src/bounce/forward.js';
import type { VirginNotice } from '../src/bounce/notices.js';
import { applyBounce, type Bounce } from '../src/bounce/processor.js';
import { StoreError, type MailingList } from '../src/store/index.js';
import type { Classification } from './bounce/classify.js';
import type { ClassifyTask } from './bounce/classify-worker.js';
import { BounceEntryError } from './bounce/errors.js';
import { diagnose } from './bounce/reason-text.js';
import type { EntryContext } from './runner.js';
import { StoreRunner } from './store-runner.js';
import { workerModule } from './task-pool.js';
import type { LabelValue } from '../src/work-counters.js';
import { VIRGIN_QUEUE } from './queue-ids.js';
import { queueSchemas } from './lazy-schemas.js';

const CLASSIFY_WORKER = workerModule(import.meta.url, 'bounce/classify-worker.js');

function validDate(text: string | undefined, fallback: number): Date {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return new Date(Number.isNaN(ms) ? fallback : ms);
}

export default class BounceRunner extends StoreRunner {
  protected override runnerDetail(): string | undefined {
    const ignored = this.counters.get('bouncesIgnored');
    const { unrecognised, 'non-member': nonMember, 'not-bounce': notBounce } = ignored;
    const { recorded: complaints, unattributed: complaintsUnattributed } = this.counters.get('complaints');
    const store = super.runnerDetail();
    if (unrecognised + nonMember + notBounce + complaints + complaintsUnattributed === 0) return store;
    const complained = complaints + complaintsUnattributed === 0 ? '' : `, complaints ${complaints} (naming no member ${complaintsUnattributed})`;
    const counts = `unrecognised ${unrecognised}, non-member ${nonMember}, not bounces (auto-replies, challenges) ${notBounce}${complained} since start`;
    return store === undefined ? counts : `${store}; ${counts}`;
  }

  /** A bounce not scored: counted (work counters) and shown in the status detail. */
  private ignored(reason: LabelValue<'bouncesIgnored'>): void {
    this.counters.count('bouncesIgnored', reason);
    this.statusChanged();
  }

  /** A complaint: counted (work counters) and shown in the status detail. */
  private complained(outcome: LabelValue<'complaints'>): void {
    this.counters.count('complaints', outcome);
    this.statusChanged();
  }

  protected async processWithStore(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const fromOutgoing = entry.metadata.type === 'bounce-event';
    const listId = entry.metadata.listId;
    if (typeof listId !== 'string') throw new BounceEntryError('no listId in the metadata');
    const { list } = await lookupList(this.store, listId);
    if (list === null) {
      ctx.log.warn({ list: listId }, 'bounce for a list that does not exist (any more): discarded');
      return;
    }
    if (fromOutgoing) {
      const { bounceEventSchema } = await queueSchemas();
      const parsed = bounceEventSchema.safeParse(entry.metadata);
      if (!parsed.success) throw new BounceEntryError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
      const event = parsed.data;
      const source = ['SMTP', event.smtpCode ?? '', event.enhancedStatus ?? '', event.response].filter((part) => part !== '').join(' ');
      const facts = diagnose(event.response, event.enhancedStatus ?? undefined);
      const bounce: Bounce = {
        address: event.recipient,
        permanent: event.permanent,
        at: validDate(event.at, this.now()),
        source,
        reason: facts.reason,
        ...(facts.status === undefined ? {} : { status: facts.status }),
        ...(event.smtpCode == null ? {} : { reply: String(event.smtpCode) }),
        ...(event.response === '' ? {} : { replyText: event.response }),
      };
      const members = await this.apply(list, [bounce], ctx);
      if (members === 0) {
        this.ignored('non-member');
        ctx.log.info({ list: list.address, recipient: event.recipient }, 'delivery failure for an address that is not a member: ignored');
      }
      return;
    }
    const { bounceMailSchema } = await queueSchemas();
    const ingress = bounceMailSchema.safeParse(entry.metadata);
    if (!ingress.success) throw new BounceEntryError(ingress.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    const task: ClassifyTask = { message: entry.message, ...(ingress.data.envelopeRecipient === undefined ? {} : { envelopeRecipient: ingress.data.envelopeRecipient }) };
    const result = await ctx.runTask<Classification>(CLASSIFY_WORKER, task);
    const log = ctx.log.child({ list: list.address, detector: result.detector, ...(result.contentDetector ? { contentDetector: result.contentDetector } : {}) });
    if (result.notBounce === 'complaint' && result.complaint !== undefined) {
      const outcome = await recordComplaint(
        { store: this.store, log },
        list,
        { feedbackType: result.complaint.feedbackType, addresses: result.complaint.addresses, at: validDate(ingress.data.receivedAt, this.now()), source: result.messageId ?? `queue entry ${entry.id}` },
      );
      if (outcome.kind === 'recorded') {
        this.complained('recorded');
        log.info({ member: outcome.complaint.address, feedbackType: outcome.complaint.feedbackType, action: outcome.complaint.action, repeat: outcome.repeat, messageId: result.messageId }, 'complaint recorded');
      } else {
        this.complained('unattributed');
        log.warn({ addresses: result.complaint.addresses, feedbackType: result.complaint.feedbackType, messageId: result.messageId }, 'complaint naming no member of the list: counted, nothing else done');
      }
      return;
    }
    if (result.notBounce !== undefined) {
      this.ignored('not-bounce');
      log.info({ notBounce: result.notBounce, messageId: result.messageId }, 'not a bounce: discarded');
      return;
    }
    const at = validDate(ingress.data.receivedAt, this.now());
    const source = result.messageId ?? `queue entry ${entry.id}`;
    const bounces: Bounce[] = result.recipients.map((recipient) => ({
      address: recipient.address,
      permanent: recipient.permanent,
      at,
      source,
      reason: recipient.reason,
      ...(recipient.status === undefined ? {} : { status: recipient.status }),
      ...(recipient.reply === undefined ? {} : { reply: recipient.reply }),
      ...(recipient.replyText === undefined ? {} : { replyText: recipient.replyText }),
    }));
    if (bounces.length === 0) {
      this.ignored('unrecognised');
      log.warn({ messageId: result.messageId }, 'unrecognised bounce');
      await this.forward(list, 'unrecognised', entry, [], ctx);
      return;
    }
    const members = await this.apply(list, bounces, ctx);
    log.info({ permanent: result.permanent, temporary: result.temporary, members }, 'bounce processed');
    if (members === 0) {
      this.ignored('non-member');
      await this.forward(list, 'non-member', entry, bounces.map((bounce) => bounce.address), ctx);
    }
  }

  /** Score every bounce; enqueue the notices; how many of the addresses were members. */
  private async apply(list: MailingList, bounces: readonly Bounce[], ctx: EntryContext): Promise<number> {
    let members = 0;
    for (const bounce of bounces) {
      let outcome;
      try {
        outcome = await applyBounce(this.store, list, bounce);
      } catch (error) {
        // An address the store refuses (invalid syntax) is no member of anything.
        if (error instanceof StoreError && error.code === 'SY_ADDRESS_INVALID') {
          ctx.log.warn({ address: bounce.address, err: error }, 'bounce names an invalid address: ignored');
          continue;
        }
        throw error;
      }
      if (outcome.kind === 'non-member') continue;
      members++;
      this.counters.count('bouncesScored');
      if (outcome.kind === 'disabled') {
        this.counters.count('bounceDisables');
        ctx.log.warn({ list: list.address, member: bounce.address, score: outcome.score }, 'delivery disabled by bounces');
        await this.enqueueAll(outcome.notices, ctx);
      } else {
        ctx.log.info({ list: list.address, member: bounce.address, permanent: bounce.permanent, score: outcome.score }, 'bounce scored');
      }
    }
    return members;
  }

  private async enqueueAll(notices: readonly VirginNotice[], ctx: EntryContext): Promise<void> {
    for (const notice of notices) await ctx.enqueue(VIRGIN_QUEUE, notice.message, notice.metadata);
  }

  private async forward(list: MailingList, reason: ForwardReason, entry: DequeuedEntry, addresses: readonly string[], ctx: EntryContext): Promise<void> {
    if (list.settings.forwardUnrecognizedBouncesTo === 'discard') {
      ctx.log.info({ reason }, 'bounce discarded (forwardUnrecognizedBouncesTo = discard)');
      return;
    }
    if (isOwnForward(entry.message)) {
      ctx.log.warn({ reason }, 'bounce of a forwarded bounce: discarded, not forwarded again');
      return;
    }
    const store = this.store;
    for (const address of addresses) {
      const admin = (await store.findMember(list.address, address, 'owner')) ?? (await store.findMember(list.address, address, 'moderator'));
      if (admin !== null) {
        ctx.log.warn({ address, reason }, 'bounce about an owner or moderator: discarded, not forwarded to them');
        return;
      }
    }
    const forward = await buildForward(list, reason, entry.message, addresses, new Date(this.now()));
    const id = await ctx.enqueue(VIRGIN_QUEUE, forward.message, forward.metadata);
    ctx.log.info({ reason, virgin: id }, 'bounce forwarded to the list owners');
  }
}
