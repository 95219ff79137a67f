/**
 * The LMTP service (RFC 2033) behind runners/lmtp.ts, on smtp-server in LMTP
 * mode. It offers PIPELINING, 8BITMIME (without it Postfix re-encodes 8-bit
 * bodies to quoted-printable) and SMTPUTF8 (without it Postfix bounces
 * internationalised mail), ENHANCEDSTATUSCODES and SIZE.
 *
 * Per recipient:
 *   RCPT TO   routed at once (src/mail/routing.ts): 550 5.1.1 for an unknown
 *             address, 451 4.3.0 when the store is busy or anything else of
 *             ours fails;
 *   DATA      one reply per accepted recipient, in order: 250 only after
 *             that recipient's queue entry is durable (src/ingress/
 *             ingress-writer.ts); 452 when storage ran out, 451 for other
 *             trouble of ours; 552 5.3.4 (onOversize reject) or 452
 *             (defer) for an oversize message; 554 5.6.0 for an empty one.
 * A message for several recipients is written once per recipient, each to
 * its own queue (a post and a bounce in one transaction).
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
import { routeRecipient, type Route } from '../../src/mail/routing.js';
import type { Store } from '../../src/store/index.js';

export interface LmtpServiceOptions {
  lmtp: LmtpConfig;
  ingress: IngressConfig;
  store: Store;
  writer: IngressWriter;
  log: Logger;
  /** Called after each recipient's entry is durable (statistics). */
  onAccepted?: (route: Route, queue: string, id: string) => void;
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

async function readMessage(stream: SMTPServerDataStream): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    if (stream.sizeExceeded) {
      chunks.length = 0; // keep draining; the message is refused as a whole
      continue;
    }
    chunks.push(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return stream.sizeExceeded ? undefined : Buffer.concat(chunks, bytes);
}

export class LmtpService {
  private readonly server: SMTPServer;
  /** Routes of the recipients accepted in each session's current transaction. */
  private readonly routes = new WeakMap<SMTPServerSession, Map<string, Route>>();
  /** Sessions in DATA: close() lets them finish. */
  private readonly busy = new Set<string>();
  private closing = false;

  constructor(private readonly options: LmtpServiceOptions) {
    const { lmtp, ingress } = options;
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
      maxClients: lmtp.maxClients,
      maxRecipients: lmtp.maxRecipients,
      socketTimeout: lmtp.socketTimeout,
      closeTimeout: lmtp.closeTimeout,
      logger: false,
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
          (error: unknown) => callback(replyFor(error)),
        ).finally(() => {
          this.busy.delete(session.id);
          if (this.closing) setImmediate(() => this.closeConnectionOf(session.id));
        });
      },
    });
    this.server.on('error', (error) => options.log.warn({ err: error }, 'LMTP connection error'));
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
    this.options.log.info({ connections: this.server.connections.size, inData: this.busy.size }, 'LMTP service closing');
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

  private closeConnectionOf(sessionId: string): void {
    for (const connection of this.server.connections) if (connection.id === sessionId) this.closeConnection(connection);
  }

  private closeConnection(connection: SMTPServer['connections'] extends Set<infer C> ? C : never): void {
    connection.send(421, 'switchyard LMTP shutting down, try again later');
    connection.close();
  }

  private async onRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    if (this.closing) throw new Reply(421, 'switchyard LMTP shutting down, try again later');
    let route: Route;
    try {
      route = await routeRecipient(this.options.store, address.address);
    } catch (error) {
      const reply = replyFor(error);
      this.options.log.info({ recipient: address.address, code: reply.responseCode, reason: reply.message }, 'LMTP recipient refused');
      throw reply;
    }
    let routes = this.routes.get(session);
    if (routes === undefined) this.routes.set(session, (routes = new Map()));
    routes.set(address.address.toLowerCase(), route);
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<(string | Error)[]> {
    const recipients = session.envelope.rcptTo;
    const message = await readMessage(stream);
    if (message === undefined) {
      // Only with onOversize = 'defer' (otherwise smtp-server answers 552 itself).
      return recipients.map(() => new Reply(452, `message larger than ingress.maxMessageSize (${this.options.ingress.maxMessageSize} bytes); deferred`));
    }
    if (isBlank(message)) return recipients.map(() => new Reply(554, 'not a message: it is empty'));
    const mailFrom = session.envelope.mailFrom;
    const sender = mailFrom === false ? '' : mailFrom.address;
    const receivedAt = new Date();
    const routes = this.routes.get(session) ?? new Map<string, Route>();
    return Promise.all(
      recipients.map(async (rcpt) => {
        try {
          const route = routes.get(rcpt.address.toLowerCase()) ?? (await routeRecipient(this.options.store, rcpt.address));
          const id = await this.options.writer.accept(route, message, { sender, recipient: rcpt.address, via: 'lmtp', receivedAt });
          this.options.onAccepted?.(route, route.queue, id);
          return `queued as ${route.queue}/${id}`;
        } catch (error) {
          const reply = replyFor(error);
          this.options.log.warn({ recipient: rcpt.address, code: reply.responseCode, err: error }, 'LMTP recipient not accepted');
          return reply;
        }
      }),
    );
  }
}
