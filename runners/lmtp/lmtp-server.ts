/**
 * The LMTP service (RFC 2033) behind runners/lmtp.ts, on smtp-server in LMTP
 * mode. It offers PIPELINING, 8BITMIME (without it Postfix re-encodes 8-bit
 * bodies to quoted-printable) and SMTPUTF8 (without it Postfix bounces
 * internationalised mail), ENHANCEDSTATUSCODES and SIZE.
 *
 * Per recipient:
 *   RCPT TO   routed at once (src/ingress/routing.ts): 550 5.1.1 for an unknown
 *             address, 451 4.3.0 when the store is busy or anything else of
 *             ours fails;
 *   DATA      one reply per accepted recipient, in order: 250 only after
 *             that recipient's queue entry is durable (src/ingress/
 *             ingress-writer.ts); 452 when storage ran out, 451 for other
 *             trouble of ours; 552 5.3.4 (onOversize reject) or 452
 *             (defer) for an oversize message; 554 5.6.0 for an empty one.
 * A repeated RCPT address (in any case) is accepted and answered after DATA
 * like its first occurrence, as RFC 2033 wants one reply per accepted RCPT:
 * one entry for the address, one reply per RCPT, so the MTA's count matches.
 *
 * DATA is streamed (src/ingress/ingress-writer.ts, queues/stream-enqueue.ts):
 * past 64 KiB the message goes to the temp file of its first recipient's
 * entry as it arrives, so memory stays flat whatever the sizes; an oversize
 * one is drained without being kept. Each further recipient (a post and a
 * bounce in one transaction) gets its own entry, on its own queue, copied
 * from that file once the message is complete: one entry per accepted
 * address, and 250 only after it is durable.
 *
 * Counted (the service's work counters, src/work-counters.ts): every
 * connection admitted (lmtpSessions), and every refusal by its reason
 * (lmtpRejects): per recipient answered with anything but 250 at RCPT TO
 * or DATA, and per connection refused by admission. A SIZE= over the limit
 * at MAIL FROM is refused by smtp-server before it asks us: not counted.
 *
 * Connections (runners/lmtp/admission.ts): the MTA's addresses may take any
 * of `maxClients` slots, every other address at most `maxClientsPerAddress`,
 * all of them together at most `maxClients - reservedClients`; refused with
 * 421. A connection with no transaction open for `idleTimeout` (from its
 * greeting or the end of its last transaction to MAIL, whatever else it
 * sends) gets 421 and is closed; inside a transaction `socketTimeout` bounds
 * silence.
 *
 * close(): stop listening at once; connections idle between transactions get
 * 421 and are closed; a connection in DATA is closed right after its replies;
 * whatever is left after `closeTimeout` gets 421 and is cut (those
 * transactions were never acknowledged: the MTA keeps the mail).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { IngressConfig, LmtpConfig } from '../../src/ingress/ingress-schema.js';
import { classifyIngressError } from '../../src/ingress/errors.js';
import { IngressWriter } from '../../src/ingress/ingress-writer.js';
import { isBlank } from '../../src/ingress/mbox-from.js';
import { routeRecipient, type Route } from '../../src/ingress/routing.js';
import type { Store } from '../../src/store/index.js';
import { ConnectionAdmission } from './admission.js';
import type { LabelValue, WorkCounters } from '../../src/work-counters.js';

export interface LmtpServiceOptions {
  lmtp: LmtpConfig;
  ingress: IngressConfig;
  store: Store;
  writer: IngressWriter;
  log: Logger;
  /** Called after each recipient's entry is durable (statistics). */
  onAccepted?: (route: Route, queue: string, id: string) => void;
  /** Where sessions admitted and refusals are counted (the service's work counters: lmtpSessions, lmtpRejects). */
  counters?: WorkCounters;
}

type RejectReason = LabelValue<'lmtpRejects'>;

/** The work counter's reason for a failure replyFor() answers. */
function rejectReason(error: unknown): RejectReason {
  switch (classifyIngressError(error).kind) {
    case 'unknown-recipient':
      return 'unknown-address';
    case 'too-large':
      return 'oversize';
    case 'empty':
      return 'empty';
    case 'temporary':
      return 'temporary';
  }
}

/** An SMTP reply for smtp-server: it sends `responseCode` and the message. */
class Reply extends Error {
  constructor(readonly responseCode: number, message: string) {
    super(message);
    this.name = 'Reply';
  }
}

/** The reply for a failure of ours or of the sender's. */
function replyFor(error: unknown): Reply {
  const failure = classifyIngressError(error);
  switch (failure.kind) {
    case 'unknown-recipient':
      return new Reply(550, `no such list address: ${failure.message}`);
    case 'empty':
      return new Reply(554, failure.message);
    case 'too-large':
      return new Reply(552, failure.message);
    case 'temporary':
      return failure.storage ? new Reply(452, `insufficient storage, try again later: ${failure.message}`) : new Reply(451, `temporary failure, try again later: ${failure.message}`);
  }
}

type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;

export class LmtpService {
  private readonly server: SMTPServer;
  /** Routes of the recipients accepted in each session's current transaction. */
  private readonly routes = new WeakMap<SMTPServerSession, Map<string, Route>>();
  /** Sessions in DATA: close() lets them finish. */
  private readonly busy = new Set<string>();
  private readonly admission: ConnectionAdmission;
  /** Each admitted session's idle timer (see the module comment). */
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();
  private closing = false;

  constructor(private readonly options: LmtpServiceOptions) {
    const { lmtp, ingress } = options;
    this.admission = new ConnectionAdmission(lmtp);
    this.server = new SMTPServer({
      lmtp: true,
      name: hostname(),
      banner: 'switchyard',
      disabledCommands: ['AUTH', 'STARTTLS'],
      // smtp-server hides them by default; Postfix logs and acts on the enhanced codes (5.1.1, 4.3.0).
      hideENHANCEDSTATUSCODES: false,
      authOptional: true,
      size: ingress.maxMessageSize,
      // 552 5.3.4 per recipient from smtp-server itself; with 'defer' onData answers 452.
      rejectOversized: ingress.onOversize === 'reject',
      // Admission is ours (onConnect); the library's own limit, counted before
      // onConnect runs, only bounds the sockets not yet admitted or refused, so
      // a burst of connections waiting to be refused does not shut the MTA out.
      maxClients: lmtp.maxClients * 2,
      maxRecipients: lmtp.maxRecipients,
      socketTimeout: lmtp.socketTimeout,
      closeTimeout: lmtp.closeTimeout,
      // Nothing uses the client's host name, and a slow resolver would hold a slot.
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, callback) => callback(this.onConnect(session)),
      onClose: (session) => this.onClose(session),
      onMailFrom: (_address, session, callback) => {
        this.routes.set(session, new Map());
        callback();
      },
      onRcptTo: (address, session, callback) => {
        this.onRcptTo(address, session).then(
          () => callback(),
          (error: unknown) => callback(error as Error),
        );
      },
      onData: (stream, session, callback) => {
        this.busy.add(session.id);
        this.onData(stream, session).then(
          (replies) => callback(null, replies as unknown as string), // per-recipient replies (LMTP): smtp-server takes an array of strings and Errors
          (error: unknown) => {
            // smtp-server answers it once per recipient (LMTP).
            this.rejected(rejectReason(error), session.envelope.rcptTo.length);
            callback(replyFor(error));
          },
        ).finally(() => {
          this.busy.delete(session.id);
          if (this.closing) setImmediate(() => this.closeConnectionOf(session.id));
          else this.armIdleTimer(session);
        });
      },
    });
    this.server.on('error', (error: NodeJS.ErrnoException) => {
      // A failed listen rejects listen(), whose caller says what it means (the port is taken): not a connection's trouble.
      if (error.syscall === 'listen') return;
      options.log.warn({ err: error }, 'LMTP connection error');
    });
  }

  /** Resolves once listening; rejects with the listen error (EADDRINUSE, EACCES). */
  listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.options.lmtp;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.server.server.removeListener('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        this.server.server.removeListener('error', onError);
        const address = this.server.server.address();
        resolve(typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : { host, port });
      };
      this.server.server.once('error', onError);
      this.server.server.once('listening', onListening);
      this.server.listen(port, host);
    });
  }

  /** See the module comment. Resolves when every connection is gone. */
  close(): Promise<void> {
    this.closing = true;
    this.options.log.debug({ connections: this.server.connections.size, inData: this.busy.size }, 'LMTP service closing');
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const connection of this.server.connections) {
        if (!this.busy.has(connection.id)) this.closeConnection(connection);
      }
    });
  }

  get connectionCount(): number {
    return this.server.connections.size;
  }

  private closeConnectionOf(sessionId: string, reply?: string): void {
    for (const connection of this.server.connections) if (connection.id === sessionId) this.closeConnection(connection, reply);
  }

  private closeConnection(connection: Connection, reply = 'switchyard LMTP shutting down, try again later'): void {
    connection.send(421, reply);
    connection.close();
  }

  /** Admit the connection or say why not (421, see admission.ts). */
  private onConnect(session: SMTPServerSession): Reply | null {
    if (this.closing) return new Reply(421, 'switchyard LMTP shutting down, try again later');
    const refusal = this.admission.admit(session.id, session.remoteAddress);
    if (refusal !== undefined) {
      this.options.log.warn({ client: session.remoteAddress, connections: this.admission.size }, `LMTP connection refused: ${refusal}`);
      this.rejected('too-many-connections');
      return new Reply(421, refusal);
    }
    this.options.counters?.count('lmtpSessions');
    this.armIdleTimer(session);
    return null;
  }

  private rejected(reason: RejectReason, amount = 1): void {
    this.options.counters?.count('lmtpRejects', reason, amount);
  }

  private onClose(session: SMTPServerSession): void {
    this.admission.release(session.id);
    clearTimeout(this.idleTimers.get(session.id));
    this.idleTimers.delete(session.id);
  }

  /**
   * (Re)start the session's idle timer: at connect and at the end of each
   * transaction. When it fires inside a transaction (MAIL given, or DATA being
   * answered) it starts again; outside one the connection is closed.
   */
  private armIdleTimer(session: SMTPServerSession): void {
    clearTimeout(this.idleTimers.get(session.id));
    const timer = setTimeout(() => {
      this.idleTimers.delete(session.id);
      if (this.closing) return;
      if (this.busy.has(session.id) || session.envelope.mailFrom !== false) {
        this.armIdleTimer(session);
        return;
      }
      this.options.log.info({ client: session.remoteAddress, idleTimeout: this.options.lmtp.idleTimeout }, 'LMTP connection closed: no transaction within lmtp.idleTimeout');
      this.closeConnectionOf(session.id, `idle for ${Math.round(this.options.lmtp.idleTimeout / 1000)} s without a transaction, closing connection`);
    }, this.options.lmtp.idleTimeout);
    timer.unref();
    this.idleTimers.set(session.id, timer);
  }

  private async onRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    if (this.closing) {
      this.rejected('temporary');
      throw new Reply(421, 'switchyard LMTP shutting down, try again later');
    }
    let route: Route;
    try {
      route = await routeRecipient(this.options.store, address.address);
    } catch (error) {
      const reply = replyFor(error);
      this.rejected(rejectReason(error));
      this.options.log.info({ recipient: address.address, code: reply.responseCode, reason: reply.message }, 'LMTP recipient refused');
      throw reply;
    }
    let routes = this.routes.get(session);
    if (routes === undefined) this.routes.set(session, (routes = new Map()));
    const key = address.address.toLowerCase();
    if (routes.has(key)) {
      // smtp-server keeps one envelope recipient per address (a repeat replaces
      // the earlier one in place) and answers after DATA, by itself too (an
      // oversize message), once per envelope recipient. A copy at the end makes
      // the envelope one recipient per accepted RCPT, in RCPT order, so every
      // reply path counts as the MTA does.
      const earlier = session.envelope.rcptTo.find((rcpt) => rcpt.address.toLowerCase() === key);
      if (earlier !== undefined) session.envelope.rcptTo.push({ ...earlier });
    }
    routes.set(key, route);
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<(string | Error)[]> {
    const recipients = session.envelope.rcptTo;
    const routes = this.routes.get(session) ?? new Map<string, Route>();
    const mailFrom = session.envelope.mailFrom;
    const sender = mailFrom === false ? '' : mailFrom.address;
    const receivedAt = new Date();
    // One entry per address (the first RCPT's spelling), one reply per RCPT.
    const addresses = new Map<string, { address: string; route: Route }>();
    for (const rcpt of recipients) {
      const key = rcpt.address.toLowerCase();
      if (addresses.has(key)) continue;
      addresses.set(key, { address: rcpt.address, route: routes.get(key) ?? (await routeRecipient(this.options.store, rcpt.address)) });
    }
    const unique = [...addresses.values()];
    const message = this.options.writer.begin(unique.map(({ address, route }) => ({ route, envelope: { sender, recipient: address, via: 'lmtp' as const, receivedAt } })));
    let failure: unknown;
    let blank = true;
    let received = false;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        // Past the limit or a failed write: keep draining, keep nothing; the message is answered as a whole.
        if (stream.sizeExceeded || failure !== undefined) continue;
        if (blank) blank = isBlank(chunk);
        try {
          await message.write(chunk);
        } catch (error) {
          failure = error;
        }
      }
      received = true;
    } finally {
      // The client gone in the middle (the stream throws) leaves nothing behind either.
      if (!received || stream.sizeExceeded || failure !== undefined || blank) await message.discard();
    }
    if (stream.sizeExceeded) {
      // Counted either way; answered so only with onOversize = 'defer' (otherwise smtp-server answers 552 5.3.4 itself).
      this.rejected('oversize', recipients.length);
      return recipients.map(() => new Reply(452, `message larger than ingress.maxMessageSize (${this.options.ingress.maxMessageSize} bytes); deferred`));
    }
    if (failure !== undefined) {
      const reply = replyFor(failure);
      this.options.log.warn({ code: reply.responseCode, err: failure }, 'LMTP message not accepted');
      this.rejected(rejectReason(failure), recipients.length);
      return recipients.map(() => reply);
    }
    if (blank) {
      this.rejected('empty', recipients.length);
      return recipients.map(() => new Reply(554, 'not a message: it is empty'));
    }
    const outcomes = await message.finish();
    const replies = new Map<string, string | Error>();
    unique.forEach(({ address, route }, index) => {
      const outcome = outcomes[index]!;
      if (outcome.status === 'fulfilled') {
        this.options.onAccepted?.(route, route.queue, outcome.value);
        replies.set(address.toLowerCase(), `queued as ${route.queue}/${outcome.value}`);
      } else {
        const reply = replyFor(outcome.reason);
        this.options.log.warn({ recipient: address, code: reply.responseCode, err: outcome.reason }, 'LMTP recipient not accepted');
        // Per RCPT, as the MTA counts: a repeated address is answered (and refused) once per RCPT.
        this.rejected(rejectReason(outcome.reason), recipients.filter((rcpt) => rcpt.address.toLowerCase() === address.toLowerCase()).length);
        replies.set(address.toLowerCase(), reply);
      }
    });
    return recipients.map((rcpt) => replies.get(rcpt.address.toLowerCase())!);
  }
}
