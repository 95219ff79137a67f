/**
 * The notice the list's owners get when the smarthost refuses a post for its
 * content (outgoing/smtp-outcome.ts contentRefusal: 5xx at DATA, or a
 * content-class reply such as 5.6.x, 5.3.4, "line too long", "message too
 * big"): the reply, what the post was, where it is kept and how to send it
 * again, with the post attached as message/rfc822, or only its header block
 * (text/rfc822-headers) when it is large or was refused for its size.
 *
 * It goes through `virgin` (metadata toOwners, notice `delivery-refused`),
 * which makes its lines fit the limit too. It can never set off a loop: the
 * outgoing runner writes no such notice for a message that is itself one
 * (metadata `notice`) or is automatic (Auto-Submitted other than no), and
 * this one is both.
 */
import type { JsonObject } from '../../queues/index.js';
import { boundaryFor } from '../../src/mail/decoration.js';
import { buildNotice } from '../../src/mail/notice.js';
import { RawMessage } from '../../src/mail/raw-message.js';

export const REFUSAL_NOTICE = 'delivery-refused';
/** Larger posts are summarised by their header block, not attached whole. */
export const ATTACH_LIMIT = 256 * 1024;

export interface Refusal {
  /** The list's posting address (the out entry's listPosting or listId). */
  list: string;
  /** The refused message, as sent. */
  message: Buffer;
  command: string;
  smtpCode: number | null;
  response: string;
  /** Recipients not delivered, kept with the entry. */
  undelivered: number;
  /** The entry's id and the queue it is kept in (shunt, or retry with onMessageRejected = "retry"). */
  entryId: string;
  keptIn: string;
  /** The refusal is about the message's size: never attach it whole. */
  sizeRefusal: boolean;
  date: Date;
}

/** Whether the message must not cause a refusal notice: it is a notice or automatic itself. */
export function isAutomatic(message: Buffer, metadata: JsonObject): boolean {
  if (typeof metadata.notice === 'string') return true;
  const autoSubmitted = RawMessage.parse(message).get('Auto-Submitted');
  return autoSubmitted !== undefined && autoSubmitted.split(';')[0]!.trim().toLowerCase() !== 'no';
}

function ownerOf(list: string): string {
  const at = list.lastIndexOf('@');
  return at > 0 ? `${list.slice(0, at)}-owner@${list.slice(at + 1)}` : `postmaster@${list}`;
}

function clip(text: string | undefined, max = 200): string {
  if (text === undefined || text === '') return '(none)';
  const flat = text.replace(/[\r\n\0]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

/** The `virgin` entry for the owners of `refusal.list`. */
export function refusalNotice(refusal: Refusal): { message: Buffer; metadata: JsonObject } {
  const post = RawMessage.parse(refusal.message);
  const attachWhole = !refusal.sizeRefusal && refusal.message.length <= ATTACH_LIMIT;
  const messageId = post.get('Message-ID') || undefined;
  const reply = `${refusal.smtpCode ?? ''} ${refusal.response}`.trim();
  const text = [
    `The smarthost refused a post to ${refusal.list} because of its content, so it was not delivered.`,
    '',
    `    From:        ${clip(post.decoded('From'))}`,
    `    Subject:     ${clip(post.decoded('Subject'))}`,
    `    Message-ID:  ${clip(post.get('Message-ID'))}`,
    `    Size:        ${refusal.message.length} bytes`,
    `    Refused at:  ${refusal.command}`,
    `    Reply:       ${clip(reply, 500)}`,
    `    Not delivered to ${refusal.undelivered} recipient(s).`,
    '',
    `The post is kept in the ${refusal.keptIn} queue as entry ${refusal.entryId}. Once the cause is`,
    "fixed (the post edited, or the smarthost's limits raised), send it again with",
    `    switchyard queue requeue ${refusal.entryId}`,
    '',
    attachWhole ? 'The post is attached.' : 'The header of the post is attached (the post itself is too large to attach).',
    '',
  ].join('\n');
  const notice = RawMessage.parse(
    buildNotice({
      from: ownerOf(refusal.list),
      to: [ownerOf(refusal.list)],
      subject: `A post to ${refusal.list} was refused by the smarthost`,
      text,
      date: refusal.date,
      ...(refusal.list.includes('@') ? { listId: refusal.list } : {}),
      ...(messageId !== undefined ? { inReplyTo: messageId } : {}),
    }),
  );
  const eol = '\r\n';
  const textPart = Buffer.concat([...notice.fields.filter((field) => field.key.startsWith('content-')).map((field) => field.raw), Buffer.from(eol), notice.body]);
  const attached = attachWhole ? refusal.message : Buffer.concat([...post.fields.map((field) => field.raw)]);
  const eightBit = attached.some((byte) => byte >= 0x80);
  const attachedHead =
    `Content-Type: ${attachWhole ? 'message/rfc822' : 'text/rfc822-headers'}${eol}` +
    `Content-Disposition: attachment${attachWhole ? '; filename="refused-post.eml"' : ''}${eol}` +
    (eightBit ? `Content-Transfer-Encoding: 8bit${eol}` : '') +
    eol;
  const boundary = boundaryFor(Buffer.concat([textPart, attached]));
  const body = Buffer.concat([
    Buffer.from(`--${boundary}${eol}`),
    textPart,
    Buffer.from(`${eol}--${boundary}${eol}${attachedHead}`),
    attached,
    Buffer.from(`${eol}--${boundary}--${eol}`),
  ]);
  const message = notice
    .withFields(notice.fields.filter((field) => !field.key.startsWith('content-')))
    .set('Content-Type', `multipart/mixed; boundary="${boundary}"`)
    .withBody(body);
  return { message: message.toBuffer(), metadata: { listId: refusal.list, toOwners: true, notice: REFUSAL_NOTICE } };
}
