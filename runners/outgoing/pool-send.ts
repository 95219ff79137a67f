/**
 * One SMTP transaction of bytes already final, handed straight to
 * nodemailer's connection pool (its transport's `send(mail, callback)`, the
 * interface nodemailer's own transports implement) instead of through
 * `sendMail()`. sendMail() builds a MailComposer tree for every call, makes a
 * Message-ID with random bytes, parses and punycodes each envelope address,
 * and streams the raw bytes through two transforms: for a VERP post that is
 * one set per recipient, some 15% of the outgoing runner's CPU, for bytes it
 * sends unchanged. What the pool itself does is the same either way: its
 * connections, `maxMessages`, the `signal` that aborts a transaction (and
 * closes its connection), the replies and errors smtp-outcome.ts reads.
 *
 * Only an envelope whose every address sendMail() would pass unchanged goes
 * this way: a dot-atom local part of printable ASCII and a lower-case
 * letters-digits-hyphens domain whose last label starts with a letter (so
 * neither punycode, lower-casing nor the URL parser's IPv4 forms could
 * rewrite it). Any other envelope returns undefined and the caller uses
 * sendMail(), so the addresses the MTA and the journal see never depend on
 * which way a transaction went. The message may come in parts (a
 * personalised copy: its own header fields, the post's shared bytes, its own
 * footer), written in order without being joined. Like sendMail() for a raw
 * message, a message not ending in a line break gets one (CR LF; LF after a
 * lone CR).
 */
import { PassThrough } from 'node:stream';
import type { Transporter } from 'nodemailer';

/** What the pool reports for an accepted transaction (smtp-outcome.ts classifySuccess reads it). */
export interface PoolSentInfo {
  accepted: string[];
  rejected: string[];
  rejectedErrors?: unknown[];
  response: string;
}

/** The slice of a nodemailer transport's `send(mail, callback)` contract the pool reads. */
interface PoolMail {
  data: { signal?: AbortSignal };
  message: {
    getEnvelope(): { from: string; to: string[] };
    messageId(): string;
    getHeader(key: string): string;
    createReadStream(): PassThrough;
  };
}

interface PoolTransport {
  send(mail: PoolMail, callback: (error: Error | null, info: PoolSentInfo) => void): void;
}

const LOCAL = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?:${LABEL}\\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$`);

/** Would sendMail() send `address` exactly as written? */
export function plainAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || address.length > 254) return false;
  const domain = address.slice(at + 1);
  return domain.length <= 253 && !domain.startsWith('xn--') && !domain.includes('.xn--') && LOCAL.test(address.slice(0, at)) && DOMAIN.test(domain);
}

const CRLF = Buffer.from('\r\n');
const LF = Buffer.from('\n');

/**
 * Send the message (`parts`, in order) to `to` from `from` over the pool of `transport`, or
 * undefined when the envelope is not plain (see the module comment): the
 * caller then uses sendMail().
 */
export function poolSend(transport: Transporter, from: string, to: readonly string[], parts: readonly Uint8Array[], signal: AbortSignal): Promise<PoolSentInfo> | undefined {
  if (!plainAddress(from) || !to.every(plainAddress)) return undefined;
  const last = parts.findLast((part) => part.length > 0)?.at(-1);
  const tail = last === 0x0a ? undefined : last === 0x0d ? LF : CRLF;
  const mail: PoolMail = {
    data: { signal },
    message: {
      getEnvelope: () => ({ from, to: [...to] }),
      messageId: () => '',
      getHeader: () => '',
      createReadStream: () => {
        const stream = new PassThrough();
        for (const part of parts) if (part.length > 0) stream.write(part);
        stream.end(tail);
        return stream;
      },
    },
  };
  const pool = (transport as unknown as { transporter: PoolTransport }).transporter;
  return new Promise((resolve, reject) => pool.send(mail, (error, info) => (error ? reject(error) : resolve(info))));
}
