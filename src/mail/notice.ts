/**
 * Notices switchyard writes itself (a post held for moderation, a rejection,
 * a member disabled by bounces): plain-text UTF-8 messages, complete with the
 * fields an MTA and a mail client expect. They go to the `virgin` queue,
 * which delivers them without the posting pipeline.
 *
 * Every field is written by src/mail/header-field.ts.
 *
 * `Auto-Submitted: auto-generated` (RFC 3834) keeps vacation responders and
 * other robots from answering them, and tells our own loop rule they are not
 * posts.
 */
import { randomBytes } from 'node:crypto';
import { formatField, oneLine } from './header-field.js';

export interface Notice {
  /** `Display Name <address>` or a bare address. */
  from: string;
  to: readonly string[];
  subject: string;
  /** The body; lines end in LF or CRLF, written as CRLF. */
  text: string;
  /** Message-ID of the message this answers (angle brackets included). */
  inReplyTo?: string;
  references?: string;
  /** The list's posting address, for the List-Id field and the Message-ID domain. */
  listId?: string;
  /** For tests; default now. */
  date?: Date;
  /** Reply-To (a confirmation points replies at its -confirm+TOKEN address). */
  replyTo?: string;
  /** RFC 3834: `auto-replied` for answers to a message (command results), else `auto-generated`. */
  autoSubmitted?: 'auto-generated' | 'auto-replied';
}

function messageIdDomain(notice: Notice): string {
  const address = notice.listId ?? /<?[^<>\s]*@([^<>\s]+)>?\s*$/.exec(notice.from)?.[0] ?? 'localhost';
  const at = address.lastIndexOf('@');
  return (at >= 0 ? address.slice(at + 1) : address).replace(/[<>]/g, '') || 'localhost';
}

/** The notice as RFC 5322 bytes with CRLF line endings. */
export function buildNotice(notice: Notice): Buffer {
  if (notice.to.length === 0) throw new TypeError('a notice needs at least one recipient');
  const date = notice.date ?? new Date();
  // Subject, In-Reply-To and References carry text from the message the notice is about: made one line.
  // From and To are ours: the field writer refuses a line break in them (HeaderValueError).
  const fields: Array<[string, string]> = [
    ['From', notice.from],
    ['To', notice.to.join(', ')],
    ...(notice.replyTo === undefined ? [] : [['Reply-To', notice.replyTo] as [string, string]]),
    ['Subject', oneLine(notice.subject)],
    ['Date', date.toUTCString().replace('GMT', '+0000')],
    ['Message-ID', `<${date.getTime().toString(36)}.${randomBytes(8).toString('hex')}@${messageIdDomain(notice)}>`],
  ];
  if (notice.inReplyTo) fields.push(['In-Reply-To', oneLine(notice.inReplyTo)]);
  if (notice.references ?? notice.inReplyTo) fields.push(['References', oneLine((notice.references ?? notice.inReplyTo)!)]);
  if (notice.listId) fields.push(['List-Id', `<${notice.listId.replace('@', '.')}>`]);
  fields.push(
    ['Auto-Submitted', notice.autoSubmitted ?? 'auto-generated'],
    ['Precedence', 'bulk'],
    ['MIME-Version', '1.0'],
    ['Content-Type', 'text/plain; charset="utf-8"'],
    ['Content-Transfer-Encoding', '8bit'],
  );
  const head = Buffer.concat(fields.map(([name, value]) => formatField(name, value, '\r\n').raw));
  const body = notice.text.replace(/\r?\n/g, '\r\n');
  return Buffer.concat([head, Buffer.from('\r\n'), Buffer.from(body.endsWith('\r\n') ? body : `${body}\r\n`, 'utf8')]);
}
