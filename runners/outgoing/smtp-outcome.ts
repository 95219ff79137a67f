/**
 * What one SMTP transaction's result means for its recipients, from what
 * nodemailer reports (its errors keep the SMTP facts: `code`, `command`,
 * `responseCode`, `response`, and per refused recipient `rejectedErrors`).
 *
 *   2xx to DATA                   accepted: every recipient not refused at RCPT TO is done
 *   4xx to RCPT TO                that recipient is deferred (to `retry`)
 *   5xx to RCPT TO                that recipient failed permanently (a bounce event)
 *   5xx to MAIL FROM or DATA      the message is refused: the whole entry is held
 *                                 (shunt or retry), no bounce event for anyone
 *   4xx to MAIL FROM or DATA, a dropped connection, a timeout, TLS trouble, 421
 *                                 the transaction's recipients are deferred
 *   refused/timed-out connect, greeting failure, 421, AUTH or TLS failure
 *                                 also: the destination is down (back off)
 *   5xx to RCPT TO for every      the message is refused (as at DATA), not the
 *   recipient, all with the same  members: no bounce events (servers that check
 *   content-class reply           SIZE= or policy at RCPT TO answer so)
 *
 * contentRefusal() tells which refusals of the message are about its
 * content (its lines, size, media or policy) rather than the sender or our
 * MTA: those are worth a notice to the list's owners (outgoing.ts).
 */

export interface RecipientFailure {
  recipient: string;
  permanent: boolean;
  smtpCode: number | null;
  enhancedStatus: string | null;
  response: string;
}

export type TransactionOutcome =
  /** The MTA took the message for `accepted`; `failures` were refused at RCPT TO. */
  | { kind: 'accepted'; accepted: string[]; failures: RecipientFailure[]; response: string }
  /** Every recipient was refused at RCPT TO; nothing was sent. */
  | { kind: 'refused'; failures: RecipientFailure[] }
  /** 5xx to MAIL FROM or DATA, or a message nodemailer would not send. */
  | { kind: 'message-rejected'; command: string; smtpCode: number | null; response: string }
  /** Nothing final: every recipient of the transaction is deferred. */
  | { kind: 'deferred'; reason: string; smtpCode: number | null; response: string; destinationDown: boolean };

/** The fields of a nodemailer error this module reads. */
interface SmtpError {
  message?: unknown;
  timeoutType?: unknown;
  originalCode?: unknown;
  code?: unknown;
  command?: unknown;
  responseCode?: unknown;
  response?: unknown;
  recipient?: unknown;
  rejectedErrors?: unknown;
}

export function enhancedStatusOf(response: string): string | null {
  const match = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response);
  return match?.[1] ?? null;
}

/** Enhanced status codes about the message itself: media (5.6.x), too big for the system (5.3.4), over an administrative limit (5.2.3). */
const CONTENT_STATUS = /^5\.(6\.\d{1,3}|3\.4|2\.3)$/;
/** What servers without enhanced status codes say about such messages. */
const CONTENT_TEXT = /\bline(s)? (is |are )?too long|\b(message|mail|data) (is |was )?too (big|large|long)|message size|size (limit )?exceed|exceeds? [^.]*size|message length/i;

/** Whether a content-class reply (see CONTENT_STATUS, CONTENT_TEXT). */
export function isContentReply(response: string): boolean {
  const status = enhancedStatusOf(response);
  return (status !== null && CONTENT_STATUS.test(status)) || CONTENT_TEXT.test(response);
}

/**
 * Whether a refusal of the whole message (`message-rejected`) is about its
 * content: any 5xx at DATA (the server had read the message), or a 5xx with
 * a content-class reply at MAIL FROM (SIZE=) or RCPT TO.
 */
export function contentRefusal(command: string, smtpCode: number | null, response: string): boolean {
  if (smtpCode === null || smtpCode < 500) return false;
  return command === 'DATA' || isContentReply(response);
}

function codeOf(error: SmtpError): number | null {
  return typeof error.responseCode === 'number' ? error.responseCode : null;
}

function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function recipientFailure(error: SmtpError, recipient: string): RecipientFailure {
  const smtpCode = codeOf(error);
  const response = text(error.response, text(error.message, 'refused'));
  return { recipient, permanent: smtpCode !== null && smtpCode >= 500, smtpCode, enhancedStatus: enhancedStatusOf(response), response };
}

function failuresOf(rejectedErrors: unknown): RecipientFailure[] {
  if (!Array.isArray(rejectedErrors)) return [];
  return rejectedErrors.flatMap((error: SmtpError) => (typeof error.recipient === 'string' ? [recipientFailure(error, error.recipient)] : []));
}

/** System errors of connecting: the destination is unreachable, not this message. */
const CONNECT_ERRNOS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const TLS_ERRNO = /^(CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_TLS|ERR_SSL)/;

/** A failure to connect, to be greeted, or to set up TLS (a timeout or drop later in the session is not). */
function connectPhaseFailure(err: SmtpError & { timeoutType?: unknown; originalCode?: unknown }): boolean {
  if (err.timeoutType === 'CONNECT_TIMEOUT' || err.timeoutType === 'GREETING_TIMEOUT') return true;
  const errno = text(err.originalCode);
  return CONNECT_ERRNOS.has(errno) || TLS_ERRNO.test(errno) || code(err) === 'EDNS';
}

function code(err: SmtpError): string {
  return text(err.code);
}

export function classifySuccess(info: { accepted: readonly unknown[]; response?: unknown; rejectedErrors?: unknown }): TransactionOutcome {
  const accepted = info.accepted.map((a) => (typeof a === 'string' ? a : text((a as { address?: unknown }).address)));
  return { kind: 'accepted', accepted, failures: failuresOf(info.rejectedErrors), response: text(info.response) };
}

/**
 * The outcome of a failed sendMail() for the transaction's envelope
 * `recipients`. A failure before any transaction command (connect, greeting,
 * STARTTLS, AUTH, EHLO) or a 421 marks the destination down.
 */
export function classifyError(error: unknown, recipients: readonly string[]): TransactionOutcome {
  const err = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as SmtpError;
  const code = text(err.code);
  const command = text(err.command);
  const smtpCode = codeOf(err);
  const response = text(err.response, text(err.message));
  if (smtpCode === 421) {
    return { kind: 'deferred', reason: `421 from the MTA at ${command || 'connect'}`, smtpCode, response, destinationDown: true };
  }
  if (code === 'EENVELOPE' && command === 'RCPT TO') {
    const failures = failuresOf(err.rejectedErrors);
    // Every recipient was refused; one nodemailer did not itemise is deferred, not failed.
    const itemised = new Set(failures.map((f) => f.recipient));
    for (const recipient of recipients) {
      if (!itemised.has(recipient)) failures.push({ recipient, permanent: false, smtpCode, enhancedStatus: enhancedStatusOf(response), response });
    }
    // Every recipient refused for the message's content, alike: the message is refused, not the members.
    const first = failures[0];
    if (first !== undefined && first.permanent && failures.every((f) => f.permanent && f.smtpCode === first.smtpCode && f.enhancedStatus === first.enhancedStatus && isContentReply(f.response))) {
      return { kind: 'message-rejected', command: 'RCPT TO', smtpCode: first.smtpCode, response: first.response };
    }
    return { kind: 'refused', failures };
  }
  if ((command === 'MAIL FROM' || command === 'DATA') && smtpCode !== null) {
    if (smtpCode >= 500) return { kind: 'message-rejected', command, smtpCode, response };
    return { kind: 'deferred', reason: `${smtpCode} to ${command}`, smtpCode, response, destinationDown: false };
  }
  if ((code === 'EMESSAGE' || code === 'EENVELOPE') && command === 'API') {
    return { kind: 'message-rejected', command: 'API', smtpCode: null, response: text(err.message) };
  }
  // Whether the destination itself is down: nodemailer reports every
  // connection-level failure as command CONN, so the phase is read from the
  // timeout type and the system error code it keeps.
  const destinationDown = connectPhaseFailure(err) || code === 'EAUTH' || code === 'ETLS' || code === 'EREQUIRETLS';
  return { kind: 'deferred', reason: `${code || 'error'}${command ? ` at ${command}` : ''}: ${text(err.message)}`, smtpCode, response, destinationDown };
}
