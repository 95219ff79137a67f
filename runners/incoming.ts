/**
 * The incoming runner: consumes `in`, where ingress (LMTP, `switchyard
 * inject`) puts every post to a list, runs the chain the list names in
 * `postingChain` on it (incoming/chain.ts CHAINS; `default` unless set;
 * a name no longer registered sends the entry to `shunt` with
 * UnknownChainError) and acts on the decision:
 *
 *   accept   the posting pipeline (incoming/pipeline.ts, the list's
 *            `postingPipeline`); when its last handler set ctx.outgoing, the
 *            entry itself is forwarded to `out` with the rewritten message and
 *            the out metadata (one rename: it is never queued twice);
 *            otherwise it finishes here;
 *   hold     stored in the list store, moderators notified (incoming/actions.ts);
 *   reject   a notice to the poster; discard: logged. The entry finishes.
 *
 * Every decision is logged with the rule that made it and recorded in the
 * entry's metadata as `chain: { rule, action, reason, at }` (so the `out`
 * entry, a held message and a shunted entry all say why), and counted once
 * carried out (work counter `posts`, src/work-counters.ts).
 *
 * Bad input: the header block is read byte-preserving (RawMessage, which
 * never throws); mailparser runs in the worker pool (incoming/parse-worker.ts)
 * under the runner option `parseTimeout`, and only on messages up to
 * `parseMaxSize` bytes (larger ones are held by the size rule). A plain text
 * post whose header block decides what mailparser would say (one text/plain
 * part, UTF-8 or ASCII, no transfer encoding: incoming/header-scan.ts) is
 * not sent to the pool at all. A parse that
 * times out or crashes its worker fails the entry to `shunt` with the error;
 * an entry without a listId, or naming no list, goes to `shunt` with
 * ListUnknownError. A busy list store is temporary (to `retry`).
 *
 * Approved posts (`switchyard held approve`) come back on `in` with
 * metadata `approval: { heldId, token, by, at }`. They skip every rule but
 * loop and go straight to the pipeline, after the store has recorded the
 * approval's token as the one claim on that held message
 * (Store.claimApproval): should the CLI have been killed after enqueueing
 * the approved post but before removing the hold, and the moderator approve
 * it again, the second approval is discarded here, so one held post is sent
 * at most once.
 *
 * Files: besides the `in` entry (forwarded or finished by the base class),
 * durable new entries on `virgin` (notices) and whatever the pipeline
 * enqueues (`archive`). Killed at any moment before the entry is settled:
 * its `.bak` is recovered and the whole entry runs again (the out entry's
 * temp file, written while the archive copy was, may be left beside it,
 * removed as stale); a hold is not
 * stored twice (actions.ts), and the forward to `out` is the one atomic step
 * that makes a post leave, so the list never gets it twice from one entry.
 * (Pipeline side entries such as an archive copy may be enqueued twice.)
 * A post for a list with digest members is added to the digest (one store
 * row keyed by the entry's bytes and receivedAt) just before the forward: run again, the row is
 * there already and nothing is added (src/app/digests.ts).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { DequeuedEntry, JsonObject } from '../queues/index.js';
import { RawMessage } from '../src/mail/raw-message.js';
import { normaliseHeaderLineEndings } from '../src/mail/header-line-endings.js';
import type { TxtResolver } from '../src/mail/dmarc-policy.js';
import { txtResolver } from '../src/mail/dns-resolver.js';
import { addToDigest } from '../src/app/digests.js';
import { lookupList } from '../src/app/list-lookup.js';
import type { MailingList, Store } from '../src/store/index.js';
import { RunnerSetupError, TaskCrashedError, TaskTimeoutError } from './errors.js';
import { hostname } from 'node:os';
import type { AuthConfig } from '../src/config/auth-schema.js';
import { publicBaseUrl } from '../src/app/web-links.js';
import type { DnsConfig } from '../src/config/dns-schema.js';
import { withoutResultsOf } from '../src/mail/auth-results.js';
import { temperrorOutcome, type AuthOutcome, type AuthTask } from './incoming/auth-outcome.js';
import { discard, hold, reject, type ActionContext } from './incoming/actions.js';
import { headerAddresses, posterAddress } from './incoming/addresses.js';
import { APPROVED_CHAIN, chainOf, runChain, type ChainContext, type ChainDecision } from './incoming/chain.js';
import { MalformedEntryError, unknownListError } from './incoming/errors.js';
import type { MessageSummary, ParseTask } from './incoming/parse-worker.js';
import { scanSummary } from './incoming/header-scan.js';
import { runPipeline, type PipelineContext } from './incoming/pipeline.js';
import type { EntryContext, RunnerOptions } from './runner.js';
import { StoreRunner } from './store-runner.js';
import { workerModule } from './task-pool.js';
import { incomingOptionsSchema, type IncomingOptions } from './incoming/options.js';
import { approvalSchema, IN_QUEUE, OUT_QUEUE } from './queue-names.js';

export { IN_QUEUE, OUT_QUEUE };

const PARSE_WORKER = workerModule(import.meta.url, 'incoming/parse-worker.js');
const AUTH_WORKER = workerModule(import.meta.url, 'incoming/auth-worker.js');

export { incomingOptionsSchema, type IncomingOptions } from './incoming/options.js';

/** `approval` in the metadata of a post a moderator approved. */
export type Approval = z.output<typeof approvalSchema>;

/** The rule name recorded for a post a moderator approved. */
export const MODERATOR_APPROVAL = 'moderator-approval';

export default class IncomingRunner extends StoreRunner {
  private readonly settings: IncomingOptions;
  /** The `[dns]` resolver's TXT lookups (DMARC policies); none without the configuration (runners built by unit tests). */
  private readonly resolveTxt: TxtResolver | undefined;
  /** The HTTP service's public URL when it runs (one-click unsubscribe links); undefined: off, or no config (tests). */
  private readonly webBaseUrl: string | undefined;
  /** `[auth]` with the authserv-id resolved, when posts are verified (never without the configuration). */
  private readonly auth: (AuthConfig & { dns: DnsConfig }) | undefined;

  constructor(options: RunnerOptions) {
    super(options);
    const parsed = incomingOptionsSchema.safeParse(options.options);
    if (!parsed.success) {
      throw new RunnerSetupError(`[runner.${options.name}.options]: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    }
    this.settings = parsed.data;
    this.resolveTxt = options.config === undefined ? undefined : txtResolver({ servers: options.config.dns.servers, timeoutMs: options.config.dns.timeout, cacheSize: options.config.dns.cacheSize, cacheTtlMs: options.config.dns.cacheTtl });
    this.webBaseUrl = options.config === undefined ? undefined : publicBaseUrl(options.config.http);
    const auth = options.config?.auth;
    this.auth = auth === undefined || !auth.verify ? undefined : { ...auth, authservId: auth.authservId !== '' ? auth.authservId : hostname(), dns: options.config!.dns };
  }

  /** What chain and pipeline contexts share: the resolver and the entry's logger. */
  private lookups(log: PipelineContext['log']): { resolveTxt?: TxtResolver; log: PipelineContext['log'] } {
    return this.resolveTxt === undefined ? { log } : { resolveTxt: this.resolveTxt, log };
  }

  protected async processWithStore(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const store = this.store;
    const metadata: JsonObject = { ...entry.metadata };
    const found = await lookupList(store, metadata.listId);
    if (found.list === null) throw unknownListError(found.listId, IN_QUEUE);
    const list = found.list;
    const log = ctx.log.child({ list: list.address });
    const envelopeSender = typeof metadata.envelopeSender === 'string' ? metadata.envelopeSender : undefined;
    // Before anything reads the header: a bare CR or LF in it must not become a field on the wire.
    const repaired = normaliseHeaderLineEndings(entry.message);
    if (repaired.repaired > 0) log.warn({ repaired: repaired.repaired }, 'bare CR/LF in the header block made folds or spaces');
    let message = RawMessage.parse(repaired.message);
    const sender = posterAddress(message, envelopeSender);
    const approval = this.approvalOf(metadata);

    let decision: ChainDecision;
    if (approval !== undefined) {
      const chainCtx: ChainContext = { list, message, summary: EMPTY_SUMMARY, sender, metadata, store, limits: this.settings, ...this.lookups(log) };
      decision = await runChain(chainCtx, APPROVED_CHAIN);
      if (decision.action === 'accept') {
        decision = { rule: MODERATOR_APPROVAL, action: 'accept', reason: `approved by ${approval.by} (held #${approval.heldId})` };
        if (!(await store.claimApproval(approval.heldId, approval.token))) {
          decision = { rule: MODERATOR_APPROVAL, action: 'discard', reason: `held #${approval.heldId} was already approved and sent once; this second approval is dropped` };
        }
      }
    } else {
      const arrived = message;
      if (this.auth !== undefined) message = await this.authenticate(message, metadata, envelopeSender, this.auth, ctx, log);
      const summary = await this.summarize(repaired.message, arrived, ctx);
      const chainCtx: ChainContext = { list, message, summary, sender, metadata, store, limits: this.settings, ...this.lookups(log) };
      decision = await runChain(chainCtx, chainOf(list.settings.postingChain, list.address));
      message = chainCtx.message;
    }
    metadata.chain = { rule: decision.rule, action: decision.action, reason: decision.reason, at: new Date(this.now()).toISOString() };
    log.info({ rule: decision.rule, action: decision.action, reason: decision.reason, sender, messageId: message.get('Message-ID') }, `chain: ${decision.action} (rule ${decision.rule})`);

    const actionCtx: ActionContext = {
      list,
      message,
      metadata,
      sender,
      store,
      log,
      now: this.now,
      entryId: entry.id,
      restores: typeof entry.control.restores === 'number' ? entry.control.restores : 0,
      enqueue: (queue, bytes, meta) => ctx.enqueue(queue, bytes, meta),
    };
    switch (decision.action) {
      case 'accept':
        await this.accept(list, message, metadata, store, log, ctx, sender, () => digestKey(entry));
        break;
      case 'hold':
        await hold(actionCtx, decision);
        break;
      case 'reject':
        await reject(actionCtx, decision);
        break;
      case 'discard':
        await discard(actionCtx, decision);
        break;
    }
    // Once done: a decision whose action failed (to retry) is counted when it is carried out.
    this.counters.count('posts', decision.action);
  }

  private approvalOf(metadata: JsonObject): Approval | undefined {
    if (metadata.approval === undefined) return undefined;
    const parsed = approvalSchema.safeParse(metadata.approval);
    if (!parsed.success) throw new MalformedEntryError(IN_QUEUE, parsed.error.issues.map((issue) => `approval.${issue.path.join('.')}: ${issue.message}`));
    return parsed.data;
  }

  /**
   * Removes Authentication-Results claiming our authserv-id (forged
   * upstream), verifies the post in the worker pool and prepends our own
   * Authentication-Results; records the outcome as metadata `auth`. A
   * verification that times out or crashes its worker gives temperror
   * results: the post goes on, never lost or stuck for want of DNS.
   */
  private async authenticate(message: RawMessage, metadata: JsonObject, envelopeSender: string | undefined, auth: AuthConfig & { dns: DnsConfig }, ctx: EntryContext, log: PipelineContext['log']): Promise<RawMessage> {
    const stripped = withoutResultsOf(message, auth.authservId);
    if (stripped.removed > 0) log.warn({ removed: stripped.removed, authservId: auth.authservId }, 'auth: removed Authentication-Results claiming our authserv-id (forged upstream)');
    const task: AuthTask = {
      message: stripped.message.toBuffer(),
      authservId: auth.authservId,
      trustedAuthservId: auth.trustedAuthservId,
      dnsServers: [...auth.dns.servers],
      dnsTimeoutMs: auth.dns.timeout,
      dnsCacheSize: auth.dns.cacheSize,
      dnsCacheTtlMs: auth.dns.cacheTtl,
      ...(envelopeSender === undefined ? {} : { envelopeSender }),
    };
    let outcome: AuthOutcome;
    try {
      outcome = await ctx.runTask<AuthOutcome>(AUTH_WORKER, task, { timeoutMs: auth.timeout });
    } catch (error) {
      if (!(error instanceof TaskTimeoutError) && !(error instanceof TaskCrashedError)) throw error;
      log.warn({ err: error }, 'auth: verification did not finish; temperror results recorded');
      outcome = temperrorOutcome(auth.authservId, error instanceof TaskTimeoutError ? `verification timed out after ${auth.timeout} ms` : 'verification crashed');
    }
    metadata.auth = outcome as unknown as JsonObject;
    log.info({ dkim: outcome.dkim.map((d) => `${d.domain}:${d.result}`), spf: outcome.spf.result, dmarc: outcome.dmarc.result, arc: outcome.arc.result }, 'auth: verified');
    return stripped.message.prepend('Authentication-Results', outcome.results);
  }

  /**
   * The chain's MIME view of the post as it arrived (`bytes`, parsed as
   * `message`): from its header block when that decides it (a plain text
   * post: incoming/header-scan.ts), else from mailparser in the pool.
   */
  private async summarize(bytes: Buffer, message: RawMessage, ctx: EntryContext): Promise<MessageSummary> {
    if (bytes.length > this.settings.parseMaxSize) return { ...EMPTY_SUMMARY, tooLargeToParse: bytes.length };
    const scanned = scanSummary(message);
    if (scanned !== undefined) return scanned;
    const task: ParseTask = { message: bytes };
    return ctx.runTask<MessageSummary>(PARSE_WORKER, task, { timeoutMs: this.settings.parseTimeout });
  }

  /**
   * Runs the pipeline and sends the post on. Side entries a handler started
   * with enqueueBeside (the archive copy) are written while the rest goes on
   * and awaited before the entry leaves `in`: the forward's rewritten entry
   * is written and fdatasynced meanwhile, as a temp file beside the `.bak`,
   * and renamed only once they are durable (forward's `after`). Killed before
   * that rename, the entry runs again (the copy may then be enqueued twice,
   * as before; the temp file is removed as stale); a failed one fails the
   * entry as an awaited enqueue did, its temp file removed. On any error they
   * are let settle first, so none is still writing when the entry is retried.
   */
  private async accept(list: MailingList, message: RawMessage, metadata: JsonObject, store: Store, log: PipelineContext['log'], ctx: EntryContext, sender: string | null, digestEntryKey: () => string): Promise<void> {
    const beside: Promise<void>[] = [];
    try {
      await this.acceptWith(beside, list, message, metadata, store, log, ctx, sender, digestEntryKey);
    } catch (error) {
      await Promise.allSettled(beside);
      throw error;
    }
  }

  private async acceptWith(beside: Promise<void>[], list: MailingList, message: RawMessage, metadata: JsonObject, store: Store, log: PipelineContext['log'], ctx: EntryContext, sender: string | null, digestEntryKey: () => string): Promise<void> {
    const pipeline: PipelineContext = {
      list,
      message,
      metadata,
      sender,
      explicitRecipients: headerAddresses(message, 'To', 'Cc'),
      store,
      ...(this.webBaseUrl === undefined ? {} : { webBaseUrl: this.webBaseUrl }),
      ...this.lookups(log),
      now: this.now,
      enqueue: async (queue, bytes, meta) => {
        await ctx.enqueue(queue, bytes, meta);
      },
      enqueueBeside: (queue, bytes, meta) => {
        const enqueued = ctx.enqueue(queue, bytes, meta).then(() => undefined);
        // Awaited below (or settled on an error): never an unhandled rejection meanwhile.
        enqueued.catch(() => undefined);
        beside.push(enqueued);
      },
    };
    await runPipeline(pipeline, list.settings.postingPipeline);
    // The post's final bytes, serialised once for the digest and the forward.
    let bytes: Buffer | undefined;
    const finalBytes = (): Buffer => (bytes ??= pipeline.message.toBuffer());
    if (pipeline.toDigest === true) {
      // Before the forward: killed between the two, the entry runs again and the digest row (digestKey) is not added twice.
      const digest = await addToDigest({ store, now: () => new Date(this.now()) }, list, () => ({
        entryKey: digestEntryKey(),
        message: finalBytes(),
        sender,
        subject: pipeline.message.decoded('Subject') ?? '',
        messageId: pipeline.message.get('Message-ID') ?? null,
      }));
      if (digest !== 'no-digest-members') log.info({ digest }, digest === 'added' ? 'post added to the digest' : 'post was in the digest already (entry run again)');
    }
    // Every side entry durable before the entry leaves `in`, by the forward or by finishing.
    if (pipeline.outgoing === undefined) {
      await Promise.all(beside);
      log.info({ pipeline: list.settings.postingPipeline }, 'the pipeline sent the post nowhere (no to-outgoing): finished');
      return;
    }
    // The chain's decision travels with the post, so `queue show` on an out entry says why it was sent.
    // So do the verification results (`auth`), for `queue show` and for sealing what we verified.
    const outMetadata: JsonObject = { ...pipeline.outgoing.metadata, chain: metadata.chain ?? null, ...(metadata.auth === undefined ? {} : { auth: metadata.auth }) };
    // The out entry is written and fdatasynced while the side entries finish theirs (one disk wait, not two
    // in a row), and moves only once they are durable (`after`): a side entry that failed leaves it in `in`.
    const id = await ctx.forward(OUT_QUEUE, { message: finalBytes(), metadata: outMetadata, after: Promise.all(beside) });
    log.info({ out: id }, 'post accepted: forwarded to out');
  }
}

/**
 * What makes a post's digest row unique: the entry's bytes as ingress wrote
 * them and its receivedAt, both kept when the entry is recovered after a
 * crash or moves through `retry` (which gives it a new id).
 */
function digestKey(entry: DequeuedEntry): string {
  const receivedAt = typeof entry.metadata.receivedAt === 'string' ? entry.metadata.receivedAt : '';
  return `sha1:${createHash('sha1').update(entry.message).digest('hex')}/${receivedAt}`;
}

/** The summary of a message the chain did not parse (approved posts, messages over parseMaxSize). */
const EMPTY_SUMMARY: MessageSummary = Object.freeze({ parsed: false, textLines: [], attachments: 0, attachmentBytes: 0 }) as MessageSummary;
