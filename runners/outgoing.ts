/**
 * The outgoing runner: consumes `out` (see outgoing/out-entry.ts) and hands
 * each entry's message to the smarthost (`[smtp]`) over a pool of SMTP
 * connections (nodemailer's pooled transport: `maxConnections`, `maxMessages`
 * per connection, timeouts on connect, greeting and every command and DATA;
 * and `dataTimeout`, a deadline on a whole transaction however its bytes
 * trickle, past which its connection is closed and its recipients deferred).
 * The bytes of a transaction are final here, so they go to the pool below
 * nodemailer's sendMail() whenever its addresses allow (outgoing/pool-send.ts).
 *
 * Bulk mode: the recipients still to do, sorted by domain, in transactions of
 * at most `maxRecipients` (the first of at most FIRST_TRANSACTION_RECIPIENTS,
 * so the first members are not kept waiting for a whole transaction). VERP mode (`verp` in the entry): one transaction
 * per recipient with the envelope sender `name-bounces+user=domain@listdomain`
 * (src/mail/verp.ts); with `personalize` each copy also gets its own header
 * fields and footer, rendered in the worker pool a batch of RENDER_BATCH
 * recipients per task (outgoing/render-worker.ts); the original bytes are sent
 * unchanged between them. Up to `maxConnections` transactions of an entry run at
 * once; `[runner.outgoing] concurrency` entries at once.
 *
 * Each recipient's outcome is counted by its reply class (work counter
 * `deliveryRecipients`: 2xx, 4xx, 5xx; src/work-counters.ts).
 *
 * Per recipient (outgoing/smtp-outcome.ts): accepted: done; 4xx, timeouts,
 * dropped connections, TLS trouble, 421: deferred; 5xx to RCPT TO: failed,
 * with a bounce event in `bounces`. Once every transaction is over:
 *   nothing deferred          the entry is finished;
 *   some deferred             TemporaryFailure carrying metadata whose
 *                             `recipients` are only those: the entry goes to
 *                             `retry` and comes back when due;
 *   past the lifetime         (`retry.maximalQueueLifetime` since the first
 *                             failure) each deferred recipient gets a
 *                             permanent bounce event and the entry finishes;
 *   5xx to MAIL FROM or DATA  MessageRejectedError (to `shunt`) or, with
 *   (or to every RCPT TO      `smtp.onMessageRejected = "retry"`, a
 *   alike, for content)       TemporaryFailure; either way with the
 *                             recipients not yet done, and no bounce event.
 *                             When the refusal is about the content (5xx at
 *                             DATA, 5.6.x, 5.3.4, "line too long", ...) the
 *                             list's owners also get a notice through
 *                             `virgin` (outgoing/refusal-notice.ts), once per
 *                             entry (metadata `refusalNotified`), never about
 *                             a message that is a notice or automatic itself.
 *
 * Files: a refusal notice is enqueued on `virgin` before the entry moves to
 * shunt or retry; killed in between, the entry runs again and the owners may
 * get the notice twice (a notice, never a post, is what can be duplicated).
 * The checkpoint journal `<id>.journal` beside the entry's `.bak`
 * (outgoing/checkpoint-journal.ts, which names its crash windows). It is
 * appended after every transaction with a final outcome and read before
 * sending, so a runner killed at any moment re-sends only the transactions
 * whose acceptance it had not yet recorded: those in flight and fewer than
 * CHECKPOINT_WINDOW recipients accepted but not yet on disk. It is removed
 * once the entry has settled (entry-end), except when the entry was released
 * unfinished (the runner stopping), which keeps it for the next attempt. Orphans (killed
 * between settle and removal) are swept at start. When the journal grows on
 * an entry that had been recovered after a crash, the entry's restore count is
 * reset (Switchboard.resetRestores): a runner killed over and over while
 * making progress is not fed a poison message, and one that crashes without
 * progress still has it quarantined after `maxRestores`.
 *
 * At start (slice 0 only: one check per host is enough) the runner tries the
 * smarthost once, before it reports ready (outgoing/smarthost-probe.ts:
 * connect, EHLO, QUIT within `smtp.probeTimeout`): `switchyard start` prints
 * whether it answers (a warning when not; mail then waits in `retry`), and
 * `status` shows it (statusInfo() `smarthost`, kept current by later
 * deliveries).
 *
 * DKIM (`[dkim]`, outgoing/dkim-signing.ts): the keys are read when the
 * runner is made (a bad key: the runner does not start). A bulk entry is
 * signed once, in the worker pool (outgoing/sign-worker.ts), and every
 * transaction sends the signed bytes; a bulk copy of a post the incoming
 * runner verified also gets an ARC set there, with the list domain's RSA key
 * (outgoing/arc-sealing.ts says when); a personalised copy is signed per
 * recipient as it is rendered (outgoing/render-worker.ts), after its
 * one-click List-Unsubscribe token (src/app/one-click.ts), signed here with
 * the site secret as its file holds it now, is put in. A signature that
 * cannot be made sends the entry to `retry` (DkimSignError, SY_DKIM_SIGN)
 * holding the recipients not yet done: nothing goes out unsigned.
 *
 * A smarthost found down (outgoing/destination-backoff.ts) is not tried again
 * for a while: entries taken meanwhile are deferred at once, and the reason
 * shows as the runner's last error in `switchyard status`, and, while the
 * backoff lasts, as its status detail (statusDetail(): down since when, why,
 * and the next attempt).
 */
import { hostname } from 'node:os';
import nodemailer from 'nodemailer';
import type { DequeuedEntry, JsonObject } from '../queues/index.js';
import { smtpSchema, type SmtpConfig } from '../src/config/smtp-schema.js';
import { bouncesAddress, encodeVerp } from '../src/mail/verp.js';
import { RunnerError, TemporaryFailure } from './errors.js';
import { isTemporary } from '../src/errors.js';
import { CheckpointJournal, journalPath, removeJournal, sweepOrphanJournals } from './outgoing/checkpoint-journal.js';
import { DestinationBackoff } from './outgoing/destination-backoff.js';
import { MessageRejectedError } from './outgoing/errors.js';
import { parseOutEntry, type OutEntry } from './outgoing/out-entry.js';
import { isAutomatic, refusalNotice } from './outgoing/refusal-notice.js';
import type { RenderedCopy, RenderTask } from './outgoing/render-worker.js';
import type { ArcSealSpec, SignResult, SignTask } from './outgoing/sign-worker.js';
import { arcSealFor } from './outgoing/arc-sealing.js';
import { OutgoingSigning } from './outgoing/dkim-signing.js';
import { DkimSignError } from '../src/mail/dkim/errors.js';
import { dkimSchema } from '../src/config/dkim-schema.js';
import type { SigningSpec } from '../src/mail/dkim/signer.js';
import { classifyError, classifySuccess, contentRefusal, enhancedStatusOf, type RecipientFailure, type TransactionOutcome } from './outgoing/smtp-outcome.js';
import { wireForm } from './outgoing/wire-form.js';
import { poolSend } from './outgoing/pool-send.js';
import { probeLine, probeSmarthost, type SmarthostProbe } from './outgoing/smarthost-probe.js';
import { workerModule } from './task-pool.js';
import { UNSUBSCRIBE_TOKEN_PLACEHOLDER, unsubscribeToken } from '../src/app/one-click.js';
import { SiteSecretsFile } from '../src/http/site-secret-file.js';
import { SITE_SECRET_FILE, SiteSecretError } from '../src/http/site-secret.js';
import { BOUNCES_QUEUE, VIRGIN_QUEUE } from './queue-names.js';
import type { ReadyReport } from '../src/master/protocol.js';
import { Runner, type EntryContext, type EntryOutcome, type RunnerOptions } from './runner.js';

export { BOUNCES_QUEUE, VIRGIN_QUEUE };
/** Recipients whose personalised copies one worker-pool task renders. */
export const RENDER_BATCH = 500;

/**
 * How far an entry's transactions may run ahead of its checkpoint journal:
 * a transaction starts only while fewer than this many recipients accepted
 * by the MTA are not yet on disk; otherwise it waits for the journal. So a
 * VERP entry does not idle its connection for an fdatasync per recipient
 * (the lines of many transactions share one), and a runner killed at any
 * moment sends again at most CHECKPOINT_WINDOW - 1 recipients plus the
 * transactions in flight (`smtp.maxConnections`). A bulk transaction of
 * this many recipients or more waits for its line, as every transaction did
 * before.
 */
export const CHECKPOINT_WINDOW = 100;

/**
 * An idle checkpoint journal waits this long for more lines before a write
 * and fdatasync, unless CHECKPOINT_WINDOW / 2 recipients are waiting or a
 * transaction waits for them: for a VERP post, a few dozen recipients per
 * fdatasync instead of one or two (with four entries at once the journals'
 * fdatasyncs were two fifths of the runner's busy time).
 */
export const CHECKPOINT_DELAY_MS = 10;

/** The render worker, compiled (piscina loads it in a plain worker thread). */
const RENDER_WORKER = workerModule(import.meta.url, 'outgoing/render-worker.js');
/** The bulk signing worker, compiled. */
const SIGN_WORKER = workerModule(import.meta.url, 'outgoing/sign-worker.js');

type Transport = ReturnType<typeof createPool>;

function createPool(smtp: SmtpConfig) {
  return nodemailer.createTransport({
    pool: true,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    ignoreTLS: smtp.ignoreTLS,
    tls: { rejectUnauthorized: smtp.tlsRejectUnauthorized },
    ...(smtp.user !== '' ? { auth: { user: smtp.user, pass: smtp.password } } : {}),
    maxConnections: smtp.maxConnections,
    maxMessages: smtp.maxMessages,
    connectionTimeout: smtp.connectionTimeout,
    greetingTimeout: smtp.greetingTimeout,
    socketTimeout: smtp.socketTimeout,
    // A dropped connection fails its transaction back to us (deferred, journal
    // untouched) instead of being resent behind our back.
    maxRequeues: 0,
    name: hostname(),
    logger: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
}

interface Transaction {
  from: string;
  to: string[];
}

/**
 * The most recipients in an entry's first bulk transaction (less when
 * `maxRecipients` is less): latency to the first members, for one
 * transaction more per entry (issue 20 §1).
 */
const FIRST_TRANSACTION_RECIPIENTS = 20;

/**
 * The addresses sorted domain first, so a bulk transaction holds as few
 * domains as it can. Each key is made once (not in the comparator: for 10,000
 * members that was some 270,000 string allocations, milliseconds before the
 * first transaction could start).
 */
function sortedByDomain(addresses: readonly string[]): string[] {
  const keyed = addresses.map((address) => ({ key: domainKey(address), address }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.address);
}

function domainKey(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(at + 1).toLowerCase()}@${address.slice(0, at)}`;
}

/** What one attempt at an entry came to, beside what the journal holds. */
interface Attempt {
  /** Deferred recipients and the reply that deferred them. */
  deferred: Map<string, { smtpCode: number | null; response: string }>;
  rejected?: { command: string; smtpCode: number | null; response: string };
  /** Stop starting transactions (destination down, message refused, runner stopping). */
  stop: boolean;
  transactions: number;
  delivered: number;
  bounced: number;
  /** Rendering personalised copies failed (a worker-pool task timed out or crashed). */
  renderError?: unknown;
  /** A checkpoint line could not be written: the attempt stops and process() throws it. */
  journalError?: unknown;
  /** A checkpoint line is on disk: progress (see process()). */
  recorded: () => void;
}

export default class OutgoingRunner extends Runner {
  readonly smtp: SmtpConfig;
  readonly backoff: DestinationBackoff;
  readonly signing: OutgoingSigning;
  /** The site secret, for one-click unsubscribe tokens in personalised copies; none without a home. */
  private readonly siteSecrets: SiteSecretsFile | undefined;
  private readonly transport: Transport;
  private readonly fsync: boolean;
  private running: Promise<void> | undefined;
  /** Fires when the backoff ends, so the status detail clears without waiting for an entry. */
  private backoffTimer: NodeJS.Timeout | undefined;
  /** Whether the smarthost answers: the start's check, then what deliveries learn; undefined until known. */
  private smarthost: SmarthostProbe | undefined;
  private startProbe: SmarthostProbe | undefined;

  constructor(options: RunnerOptions) {
    super(options);
    this.smtp = options.config?.smtp ?? smtpSchema.parse({});
    // Before anything else: a key that cannot sign stops the runner here (see the module comment).
    this.siteSecrets = options.home === undefined ? undefined : new SiteSecretsFile(options.home);
    this.signing = OutgoingSigning.load(options.config?.dkim ?? dkimSchema.parse({}), options.home);
    this.fsync = options.durability === 'fsync';
    this.backoff = new DestinationBackoff(`${this.smtp.host}:${this.smtp.port}`, this.smtp.destinationBackoff, this.smtp.destinationBackoffMax);
    this.transport = createPool(this.smtp);
    this.transport.on('error', (error: Error) => this.log.warn({ err: error }, 'SMTP pool error'));
    this.on('entry-end', (id: string, outcome: EntryOutcome) => {
      // Released: the entry is back in `out` unfinished, and its journal with it.
      if (outcome === 'released') return;
      removeJournal(this.journalOf(id)).catch((error: unknown) => this.log.warn({ err: error, entry: id }, 'could not remove a checkpoint journal; swept at next start'));
    });
  }

  override run(): Promise<void> {
    this.running ??= (async () => {
      try {
        const swept = await sweepOrphanJournals(this.switchboard);
        if (swept.length > 0) this.log.info({ swept: swept.length }, 'removed checkpoint journals of settled entries');
        if (this.slice === 0 && this.smtp.probeTimeout > 0) await this.probe();
        await super.run();
      } finally {
        clearTimeout(this.backoffTimer);
        this.transport.close();
      }
    })();
    return this.running;
  }

  protected override runnerDetail(): string | undefined {
    return this.backoff.statusLine(this.now());
  }

  /** `status --json`: `{ smarthost: { destination, answers, reason?, at } }` once known. */
  statusInfo(): Record<string, unknown> | undefined {
    return this.smarthost === undefined ? undefined : { smarthost: { ...this.smarthost } };
  }

  protected override readyReport(): ReadyReport | undefined {
    const probe = this.startProbe;
    const signing = this.slice === 0 && this.signing.enabled ? [this.signing.describe()] : [];
    if (probe === undefined) return signing.length === 0 ? undefined : { notes: signing };
    return probe.answers ? { notes: [probeLine(probe), ...signing] } : { notes: signing, warnings: [`${probeLine(probe)}; outgoing mail waits in retry until it does`] };
  }

  /** The start's check of the smarthost (see the module comment). */
  private async probe(): Promise<void> {
    this.emit('starting', `checking the smarthost ${this.backoff.destination}`);
    const probe = await probeSmarthost(this.smtp, hostname(), this.smtp.probeTimeout, this.now);
    this.startProbe = probe;
    this.smarthost = probe;
    if (probe.answers) this.log.info({ destination: probe.destination }, probeLine(probe));
    else this.log.warn({ destination: probe.destination, reason: probe.reason }, `${probeLine(probe)}; outgoing mail waits in retry until it does`);
  }

  /** What a delivery learnt about the smarthost, for statusInfo(). */
  private smarthostSeen(answers: boolean, reason?: string): void {
    const was = this.smarthost;
    this.smarthost = { destination: this.backoff.destination, answers, ...(reason === undefined ? {} : { reason }), at: new Date(this.now()).toISOString() };
    if (was?.answers !== answers || was.reason !== reason) this.statusChanged();
  }

  private markDown(reason: string): number {
    this.smarthostSeen(false, reason);
    const wasDown = this.backoff.downAt(this.now()) !== undefined;
    const until = this.backoff.markDown(this.now(), reason);
    if (!wasDown) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = setTimeout(() => this.statusChanged(), Math.max(0, until - this.now()) + 1);
      this.backoffTimer.unref();
      this.statusChanged();
    }
    return until;
  }

  private markUp(): void {
    if (this.smarthost?.answers !== true) this.smarthostSeen(true);
    if (!this.backoff.markUp()) return;
    clearTimeout(this.backoffTimer);
    this.statusChanged();
  }

  private journalOf(id: string): string {
    return journalPath(this.switchboard.root, this.queue, id);
  }

  async process(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const out = parseOutEntry(entry.metadata);
    // Refuses a header the hand-off would split (to shunt); re-encodes bare CRs in the body.
    const wire = wireForm(entry.message);
    if (wire.reencoded + wire.flattened > 0) ctx.log.info({ reencoded: wire.reencoded, flattened: wire.flattened }, 'bare CRs in the body made safe for SMTP');
    const journal = await CheckpointJournal.open(this.journalOf(entry.id), this.fsync, { delayMs: CHECKPOINT_DELAY_MS, flushAt: CHECKPOINT_WINDOW / 2 });
    let resetting: Promise<unknown> | undefined;
    const linesAtOpen = journal.lines;
    const onProgress = (): void => {
      // Progress on an entry recovered after a crash: it is not poison (see the module comment).
      if (resetting === undefined && entry.control.restores > 0 && journal.lines > linesAtOpen) {
        resetting = this.switchboard.resetRestores(entry).catch((error: unknown) => ctx.log.warn({ err: error }, 'could not reset the restore count'));
      }
    };
    try {
      const todo = [...new Set(out.recipients)].filter((r) => !journal.done.has(r) && !journal.failed.has(r));
      if (todo.length < out.recipients.length) {
        ctx.log.info({ skipped: out.recipients.length - todo.length, todo: todo.length }, 'checkpoint journal: skipping recipients already done');
      }
      const attempt: Attempt = { deferred: new Map(), stop: false, transactions: 0, delivered: 0, bounced: 0, recorded: onProgress };
      const down = this.backoff.describe(this.now());
      if (down !== undefined) {
        attempt.stop = true;
      } else if (todo.length > 0) {
        const dkim = this.signing.specFor(out.listPosting ?? out.listId);
        let message = wire.message;
        if (dkim !== undefined && !out.personalize) {
          try {
            message = await this.signed(wire.message, dkim, ctx, arcSealFor(entry.metadata, dkim));
          } catch (error) {
            // To retry with only the recipients not yet done (the journal goes when the entry moves).
            if (error instanceof DkimSignError) throw new RunnerError(error.code, error.message, { cause: error, temporary: true, metadata: { ...entry.metadata, recipients: todo } });
            throw error;
          }
        }
        const perCopy = out.personalize && dkim !== undefined ? { dkim, arc: arcSealFor(entry.metadata, dkim) } : undefined;
        await this.deliver(message, out, todo, journal, attempt, ctx, perCopy);
      }
      // Every line the workers did not wait for (CHECKPOINT_WINDOW) is on disk before the outcome is decided.
      await journal.synced();
      if (attempt.journalError !== undefined) throw attempt.journalError;
      await resetting;
      const remaining = todo.filter((r) => !journal.done.has(r) && !journal.failed.has(r));
      ctx.log.info(
        { list: out.listId, recipients: todo.length, delivered: attempt.delivered, bounced: attempt.bounced, remaining: remaining.length, transactions: attempt.transactions },
        'delivery attempt over',
      );
      if (remaining.length === 0) return;
      if (ctx.signal.aborted) throw new Error('runner stopping: entry released with its checkpoint journal');
      const metadata: JsonObject = { ...entry.metadata, recipients: remaining };
      if (attempt.renderError !== undefined) {
        // To shunt like any failed pool task, but holding only the recipients not yet done.
        const cause = attempt.renderError;
        const code = cause instanceof RunnerError || cause instanceof DkimSignError ? cause.code : 'SY_TASK_CRASHED';
        throw new RunnerError(code, `rendering personalised copies failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, metadata, temporary: isTemporary(cause) });
      }
      if (attempt.rejected) {
        const { command, smtpCode, response } = attempt.rejected;
        ctx.log.error({ list: out.listId, command, smtpCode, response }, 'the MTA refused the message itself: entry held, no bounce events');
        await this.noticeOfRefusal(entry, out, attempt.rejected, metadata, remaining.length, ctx);
        if (this.smtp.onMessageRejected === 'retry') {
          throw new TemporaryFailure(`the MTA refused the message at ${command}: ${response}`, { metadata });
        }
        throw new MessageRejectedError(command, smtpCode, response, metadata);
      }
      const reason = down ?? this.backoff.describe(this.now()) ?? this.deferralSummary(attempt, remaining.length);
      if (this.pastLifetime(entry)) {
        await this.giveUp(out, remaining, attempt, journal, ctx, reason);
        return;
      }
      throw new TemporaryFailure(reason, { metadata });
    } finally {
      await journal.close();
    }
  }

  /**
   * A content refusal: a notice to the list's owners (see the module
   * comment), and `refusalNotified` in the metadata the entry is held with.
   */
  private async noticeOfRefusal(entry: DequeuedEntry, out: OutEntry, rejected: NonNullable<Attempt['rejected']>, metadata: JsonObject, undelivered: number, ctx: EntryContext): Promise<void> {
    const { command, smtpCode, response } = rejected;
    if (!contentRefusal(command, smtpCode, response)) return;
    if (entry.metadata.refusalNotified === true) {
      ctx.log.info({ list: out.listId }, 'content refusal: the owners were told at an earlier attempt; no new notice');
      return;
    }
    if (isAutomatic(entry.message, entry.metadata)) {
      ctx.log.warn({ list: out.listId, notice: entry.metadata.notice ?? null }, 'content refusal of a notice or automatic message: no notice about it (no loops)');
      return;
    }
    const notice = refusalNotice({
      list: out.listPosting ?? out.listId,
      message: entry.message,
      command,
      smtpCode,
      response,
      undelivered,
      entryId: entry.id,
      keptIn: this.smtp.onMessageRejected === 'retry' ? 'retry' : 'shunt',
      sizeRefusal: /^5\.(3\.4|2\.3)$/.test(enhancedStatusOf(response) ?? '') || /too (big|large)|size/i.test(response),
      date: new Date(this.now()),
    });
    await ctx.enqueue(VIRGIN_QUEUE, notice.message, notice.metadata);
    metadata.refusalNotified = true;
    ctx.log.warn({ list: out.listId, command, smtpCode, response }, 'content refusal: the list owners are sent a notice through virgin');
  }

  private deferralSummary(attempt: Attempt, remaining: number): string {
    const last = [...attempt.deferred.values()].at(-1);
    return `${remaining} recipient(s) deferred${last ? `: ${last.response}` : ''}`;
  }

  /** Has the entry been failing for longer than `retry.maximalQueueLifetime`? */
  private pastLifetime(entry: DequeuedEntry): boolean {
    const first = entry.control.firstFailureAt;
    if (typeof first !== 'string') return false;
    return this.now() - Date.parse(first) >= this.options.retry.lifetimeMs;
  }

  private async deliver(
    message: Buffer,
    out: OutEntry,
    todo: string[],
    journal: CheckpointJournal,
    attempt: Attempt,
    ctx: EntryContext,
    perCopy: { dkim: SigningSpec; arc: ArcSealSpec | undefined } | undefined,
  ): Promise<void> {
    const transactions = this.transactions(out, todo);
    const copyOf = out.personalize ? this.personalizedCopies(message, out, transactions, ctx, perCopy) : undefined;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!attempt.stop && next < transactions.length) {
        if (ctx.signal.aborted) {
          attempt.stop = true;
          return;
        }
        const index = next++;
        const transaction = transactions[index]!;
        let raw: readonly Uint8Array[] = [message];
        if (copyOf) {
          try {
            raw = await copyOf(index);
          } catch (error) {
            // Not attempted: deferred with the others never started, and the entry held (see process()).
            attempt.renderError ??= error;
            attempt.stop = true;
            for (const recipient of transaction.to) attempt.deferred.set(recipient, { smtpCode: null, response: 'not attempted' });
            return;
          }
        }
        // The duplicate bound (CHECKPOINT_WINDOW): checked just before the transaction starts.
        while (journal.unsynced >= CHECKPOINT_WINDOW) await journal.synced();
        if (attempt.stop) {
          for (const recipient of transaction.to) attempt.deferred.set(recipient, { smtpCode: null, response: 'not attempted' });
          return;
        }
        await this.transact(raw, out, transaction, journal, attempt, ctx);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.smtp.maxConnections, transactions.length) }, worker));
    // Recipients of transactions never started are deferred with the reason that stopped them.
    for (const transaction of transactions.slice(next)) {
      for (const recipient of transaction.to) attempt.deferred.set(recipient, { smtpCode: null, response: 'not attempted' });
    }
  }

  /**
   * The personalised copy of transaction `index` (one recipient each, VERP),
   * its parts rendered in the worker pool RENDER_BATCH recipients per task
   * (outgoing/render-worker.ts), the next batch rendered while this one is
   * sent. Copies are assembled one at a time, just before their transaction.
   */
  private personalizedCopies(
    message: Buffer,
    out: OutEntry,
    transactions: Transaction[],
    ctx: EntryContext,
    signing: { dkim: SigningSpec; arc: ArcSealSpec | undefined } | undefined,
  ): (index: number) => Promise<readonly Uint8Array[]> {
    const personalize = out.personalize ?? {};
    const list = out.listPosting ?? out.listId;
    const batches = new Map<number, Promise<RenderedCopy[]>>();
    const batch = (b: number): Promise<RenderedCopy[]> => {
      let rendering = batches.get(b);
      if (rendering === undefined) {
        const recipients = transactions.slice(b * RENDER_BATCH, (b + 1) * RENDER_BATCH).map((t) => t.to[0]!);
        let tokens: string[] | undefined;
        try {
          tokens = this.unsubscribeTokens(personalize, list, recipients);
        } catch (error) {
          rendering = Promise.reject(error);
          rendering.catch(() => undefined);
          batches.set(b, rendering);
          return rendering;
        }
        const task: RenderTask = { message, recipients, list, personalize, ...(tokens === undefined ? {} : { unsubscribeTokens: tokens }), ...(signing === undefined ? {} : { dkim: signing.dkim }), ...(signing?.arc === undefined ? {} : { arc: signing.arc }) };
        rendering = ctx.runTask<RenderedCopy[]>(RENDER_WORKER, task);
        // A prefetched batch nobody awaits (delivery stopped) must not be an unhandled rejection.
        rendering.catch(() => undefined);
        batches.set(b, rendering);
      }
      return rendering;
    };
    return async (index) => {
      const b = Math.floor(index / RENDER_BATCH);
      // Transactions run at most maxConnections apart: two batches back is done with.
      batches.delete(b - 2);
      if ((b + 1) * RENDER_BATCH < transactions.length) void batch(b + 1);
      const copy = (await batch(b))[index - b * RENDER_BATCH]!;
      if (copy.signError !== undefined) throw new DkimSignError(copy.signError);
      // The message's own bytes are shared by every copy, not copied into each.
      return [copy.head, message, copy.foot];
    };
  }

  /**
   * The one-click tokens of `recipients` (src/app/one-click.ts) when a
   * personalised header asks for them, signed here with the site secret as
   * the file holds it now (a rotation is followed without a restart); an
   * HMAC each, a few microseconds. No home (no site secret): an error, the
   * entry is held rather than sent with a dead link.
   */
  private unsubscribeTokens(personalize: NonNullable<OutEntry['personalize']>, list: string, recipients: string[]): string[] | undefined {
    const wanted = Object.values(personalize.headers ?? {}).some((value) => value.includes(UNSUBSCRIBE_TOKEN_PLACEHOLDER)) || (personalize.footer ?? '').includes(UNSUBSCRIBE_TOKEN_PLACEHOLDER);
    if (!wanted) return undefined;
    if (this.siteSecrets === undefined) throw new SiteSecretError(SITE_SECRET_FILE, 'cannot be used: a personalised copy asks for a one-click unsubscribe token, and this runner was started without a home');
    const secrets = this.siteSecrets.current(new Date(this.now()));
    return recipients.map((address) => unsubscribeToken(secrets, list, address));
  }

  /** The bulk copy: the ARC set (when `arc`) and the DKIM-Signature fields, made in the worker pool, on top of the message. */
  private async signed(message: Buffer, dkim: SigningSpec, ctx: EntryContext, arc: ArcSealSpec | undefined): Promise<Buffer> {
    const task: SignTask = { message, dkim, ...(arc === undefined ? {} : { arc }) };
    let result: SignResult;
    try {
      result = await ctx.runTask<SignResult>(SIGN_WORKER, task);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      // A crashed or timed-out worker is a signing failure like any other: retry, never unsigned.
      throw new DkimSignError(error instanceof Error ? error.message : String(error), { cause: error });
    }
    if ('error' in result) throw new DkimSignError(result.error);
    return Buffer.concat([result.fields, message]);
  }

  private transactions(out: OutEntry, todo: string[]): Transaction[] {
    if (out.verp && out.listPosting !== undefined) {
      const listPosting = out.listPosting;
      return todo.map((recipient) => ({ from: encodeVerp(listPosting, recipient) ?? bouncesAddress(listPosting), to: [recipient] }));
    }
    const sorted = sortedByDomain(todo);
    const chunks: Transaction[] = [];
    // A short first transaction: its RCPT TOs go one round trip each, so the
    // first members have the post after FIRST_TRANSACTION_RECIPIENTS of them,
    // not after maxRecipients; the others start beside it on the other connections.
    for (let i = 0, size = Math.min(FIRST_TRANSACTION_RECIPIENTS, this.smtp.maxRecipients); i < sorted.length; i += size, size = this.smtp.maxRecipients) {
      chunks.push({ from: out.sender, to: sorted.slice(i, i + size) });
    }
    return chunks;
  }

  /** One SMTP transaction, its outcome recorded (journal, bounce events) before it returns. */
  private async transact(parts: readonly Uint8Array[], out: OutEntry, transaction: Transaction, journal: CheckpointJournal, attempt: Attempt, ctx: EntryContext): Promise<void> {
    let outcome: TransactionOutcome;
    // The DATA deadline (smtp.dataTimeout): socketTimeout only notices silence,
    // so an MTA that trickles bytes could hold a transaction forever. On abort
    // nodemailer's pool closes the connection carrying it and fails it to us.
    // A timer cleared on completion, not AbortSignal.timeout(): thousands of VERP
    // transactions would otherwise leave thousands of live 10-minute timers.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.smtp.dataTimeout);
    // @types/nodemailer 8 does not know the `signal` option nodemailer 10 honours: a typed variable, not a literal.
    const mail = (): Parameters<Transport['sendMail']>[0] & { signal: AbortSignal } => ({
      envelope: { from: transaction.from, to: transaction.to },
      raw: Buffer.concat(parts),
      signal: deadline.signal,
    });
    try {
      // Below sendMail() when the envelope allows (outgoing/pool-send.ts): the same pool, less work per copy.
      const info = await (poolSend(this.transport, transaction.from, transaction.to, parts, deadline.signal) ?? this.transport.sendMail(mail()));
      outcome = classifySuccess(info);
    } catch (error) {
      outcome = deadline.signal.aborted
        ? { kind: 'deferred', reason: `smtp.dataTimeout: the transaction took longer than ${this.smtp.dataTimeout} ms; connection closed`, smtpCode: null, response: '', destinationDown: false }
        : classifyError(error, transaction.to);
    } finally {
      clearTimeout(timer);
    }
    attempt.transactions++;
    this.countReplies(outcome, transaction);
    ctx.progress();
    switch (outcome.kind) {
      case 'accepted':
        this.markUp();
        // Not awaited: the next transaction may start while this line is written (CHECKPOINT_WINDOW).
        journal.record('done', outcome.accepted).then(attempt.recorded, (error: unknown) => {
          attempt.journalError ??= error;
          attempt.stop = true;
        });
        attempt.delivered += outcome.accepted.length;
        await this.recipientFailures(out, outcome.failures, journal, attempt, ctx);
        return;
      case 'refused':
        this.markUp();
        await this.recipientFailures(out, outcome.failures, journal, attempt, ctx);
        return;
      case 'message-rejected':
        attempt.rejected ??= { command: outcome.command, smtpCode: outcome.smtpCode, response: outcome.response };
        attempt.stop = true;
        return;
      case 'deferred':
        for (const recipient of transaction.to) attempt.deferred.set(recipient, { smtpCode: outcome.smtpCode, response: outcome.response || outcome.reason });
        if (outcome.destinationDown) {
          const until = this.markDown(outcome.reason);
          attempt.stop = true;
          ctx.log.warn({ destination: this.backoff.destination, reason: outcome.reason, until: new Date(until).toISOString() }, 'smarthost down: backing off');
        } else {
          ctx.log.warn({ reason: outcome.reason, recipients: transaction.to.length }, 'transaction deferred');
        }
        return;
    }
  }

  /**
   * The work counters' `deliveryRecipients` (src/work-counters.ts): each
   * recipient of the transaction by the class of what the smarthost said to
   * it: accepted 2xx, deferred 4xx (a reply or none), refused 5xx (alone at
   * RCPT TO, or with the whole message).
   */
  private countReplies(outcome: TransactionOutcome, transaction: Transaction): void {
    const counters = this.counters;
    switch (outcome.kind) {
      case 'accepted':
      case 'refused': {
        if (outcome.kind === 'accepted') counters.count('deliveryRecipients', '2xx', outcome.accepted.length);
        const refused = outcome.failures.filter((f) => f.permanent).length;
        counters.count('deliveryRecipients', '5xx', refused);
        counters.count('deliveryRecipients', '4xx', outcome.failures.length - refused);
        return;
      }
      case 'message-rejected':
        counters.count('deliveryRecipients', '5xx', transaction.to.length);
        return;
      case 'deferred':
        counters.count('deliveryRecipients', '4xx', transaction.to.length);
        return;
    }
  }

  /** 5xx: a bounce event each, then the journal line; 4xx: deferred. */
  private async recipientFailures(out: OutEntry, failures: readonly RecipientFailure[], journal: CheckpointJournal, attempt: Attempt, ctx: EntryContext): Promise<void> {
    const permanent = failures.filter((f) => f.permanent);
    for (const failure of failures) if (!failure.permanent) attempt.deferred.set(failure.recipient, { smtpCode: failure.smtpCode, response: failure.response });
    if (permanent.length === 0) return;
    await Promise.all(permanent.map((failure) => this.bounceEvent(out, failure, ctx)));
    await journal.record('failed', permanent.map((f) => f.recipient), true);
    attempt.recorded();
    attempt.bounced += permanent.length;
  }

  private async bounceEvent(out: OutEntry, failure: RecipientFailure, ctx: EntryContext): Promise<void> {
    await ctx.enqueue(BOUNCES_QUEUE, '', {
      type: 'bounce-event',
      listId: out.listId,
      recipient: failure.recipient,
      permanent: true,
      smtpCode: failure.smtpCode,
      enhancedStatus: failure.enhancedStatus,
      response: failure.response,
      at: new Date(this.now()).toISOString(),
    });
  }

  /** Past the lifetime: every recipient still deferred becomes a permanent failure. */
  private async giveUp(out: OutEntry, remaining: string[], attempt: Attempt, journal: CheckpointJournal, ctx: EntryContext, reason: string): Promise<void> {
    const failures: RecipientFailure[] = remaining.map((recipient) => {
      const last = attempt.deferred.get(recipient);
      const response = `gave up after retry.maximalQueueLifetime: ${last?.response ?? reason}`;
      return { recipient, permanent: true, smtpCode: last?.smtpCode ?? null, enhancedStatus: '5.4.7', response };
    });
    await Promise.all(failures.map((failure) => this.bounceEvent(out, failure, ctx)));
    await journal.record('failed', remaining, true);
    ctx.log.error({ list: out.listId, recipients: remaining.length, reason }, 'gave up on deferred recipients: bounce events recorded');
  }
}
