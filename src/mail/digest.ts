/**
 * A digest issue as a message, in the three formats members choose
 * (deliveryMode):
 *
 *   mime_digests     multipart/mixed: a text/plain part with the masthead and
 *                    the table of contents first, then a multipart/digest
 *                    with each post as a message/rfc822 part, byte for byte
 *                    as members would have received it, then the footer;
 *   plain_digests    one text/plain message laid out per RFC 1153 (topics,
 *                    a 70-dash line, each post's Date/From/Subject/
 *                    Message-ID and text separated by 30-dash lines, the
 *                    trailer); each post's text/plain content is taken with
 *                    mailparser (charsets and transfer encodings decoded);
 *   summary_digests  the masthead and the table of contents alone (with
 *                    each post's Message-ID and, when the list has an
 *                    archiveUrl, that address to look posts up).
 *
 * Subject: `<Display Name> Digest, Vol V, Issue N`. Every field goes through
 * header-field.ts (no CR/LF/NUL in values; RFC 2047 for non-ASCII). Pure
 * apart from mailparser: no I/O.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DigestMode, MailingList } from '../store/index.js';
import { formatField, oneLine } from './header-field.js';
import { RawMessage } from './raw-message.js';

export interface DigestPostInput {
  raw: Buffer;
  /** As recorded when the post was taken; the header's Subject and From are preferred when readable. */
  sender: string;
  subject: string;
}

export interface DigestIssueInput {
  list: MailingList;
  volume: number;
  issue: number;
  date: Date;
  posts: readonly DigestPostInput[];
}

const CRLF = '\r\n';

export function digestSubject(list: MailingList, volume: number, issue: number): string {
  return `${oneLine(list.displayName)} Digest, Vol ${volume}, Issue ${issue}`;
}

interface Topic {
  subject: string;
  from: string;
  date: string;
  messageId: string;
}

function topicOf(post: DigestPostInput): Topic {
  const header = RawMessage.parse(post.raw);
  return {
    subject: oneLine(header.decoded('Subject') ?? post.subject) || '(no subject)',
    from: oneLine(header.decoded('From') ?? post.sender),
    date: oneLine(header.get('Date') ?? ''),
    messageId: oneLine(header.get('Message-ID') ?? ''),
  };
}

function masthead(input: DigestIssueInput): string[] {
  const { list } = input;
  return [
    `Send ${list.displayName} mailing list submissions to`,
    `    ${list.address}`,
    '',
    'To subscribe or unsubscribe, or to change your digest preferences, mail',
    `    ${list.name}-request@${list.domain}`,
    'with the word "help" in the subject or body, or "set digest off" for every post as it is sent.',
    '',
    `You can reach the person managing the list at`,
    `    ${list.name}-owner@${list.domain}`,
    '',
    `When replying, please edit your Subject line so it is more specific than "Re: Contents of ${list.displayName} digest..."`,
    '',
  ];
}

function tableOfContents(topics: readonly Topic[], withIds: boolean, archiveUrl: string): string[] {
  const lines = ["Today's Topics:", ''];
  topics.forEach((topic, index) => {
    lines.push(`   ${String(index + 1).padStart(2)}. ${topic.subject} (${topic.from})`);
    if (withIds && topic.messageId !== '') lines.push(`       ${topic.messageId}`);
  });
  if (withIds && archiveUrl !== '') lines.push('', `The posts are in the archive: ${archiveUrl}`);
  lines.push('');
  return lines;
}

function headerBlock(input: DigestIssueInput, contentType: string, mode: DigestMode): Buffer {
  const { list, volume, issue, date } = input;
  // Deterministic per list, issue and format: the same issue composed again has the same Message-ID.
  const id = createHash('sha1').update(`${list.address}\0${volume}\0${issue}\0${mode}`).digest('hex').slice(0, 20);
  const fields: Array<[string, string]> = [
    ['From', `${list.name}-request@${list.domain}`],
    ['To', list.address],
    ['Reply-To', list.address],
    ['Subject', digestSubject(list, volume, issue)],
    ['Date', date.toUTCString().replace('GMT', '+0000')],
    ['Message-ID', `<digest.${volume}.${issue}.${id}@${list.domain}>`],
    ['List-Id', `${oneLine(list.displayName)} <${list.name}.${list.domain}>`],
    ['List-Post', `<mailto:${list.address}>`],
    ['List-Help', `<mailto:${list.name}-request@${list.domain}?subject=help>`],
    ['List-Unsubscribe', `<mailto:${list.name}-leave@${list.domain}>`],
    ['Precedence', 'list'],
    ['MIME-Version', '1.0'],
    ['Content-Type', contentType],
    ['Content-Transfer-Encoding', '8bit'],
  ];
  return Buffer.concat([...fields.map(([name, value]) => formatField(name, value, CRLF).raw), Buffer.from(CRLF)]);
}

function text(lines: readonly string[]): Buffer {
  return Buffer.from(lines.join(CRLF) + CRLF, 'utf8');
}

/** A boundary found in none of `parts`. */
function boundaryFor(parts: readonly Buffer[]): string {
  for (;;) {
    const boundary = `==digest_${randomBytes(12).toString('hex')}`;
    if (!parts.some((part) => part.includes(boundary))) return boundary;
  }
}

function footer(input: DigestIssueInput): string[] {
  const end = `End of ${input.list.displayName} Digest, Vol ${input.volume}, Issue ${input.issue}`;
  return [end, '*'.repeat(Math.min(end.length, 76))];
}

function hasEightBit(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return true;
  return false;
}

function mimeDigest(input: DigestIssueInput, topics: readonly Topic[]): Buffer {
  const toc = text([...masthead(input), ...tableOfContents(topics, false, '')]);
  const end = text(footer(input));
  const inner = boundaryFor(input.posts.map((post) => post.raw));
  const outer = boundaryFor([toc, end, ...input.posts.map((post) => post.raw), Buffer.from(inner)]);
  const chunks: Buffer[] = [headerBlock(input, `multipart/mixed; boundary="${outer}"`, 'mime_digests')];
  const add = (value: string | Buffer): void => void chunks.push(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
  add(`This is a MIME digest: each post is an attachment.${CRLF}`);
  add(`${CRLF}--${outer}${CRLF}Content-Type: text/plain; charset="utf-8"${CRLF}Content-Transfer-Encoding: 8bit${CRLF}Content-Description: ${input.list.name} Digest, Vol ${input.volume}, Issue ${input.issue}${CRLF}${CRLF}`);
  add(toc);
  add(`${CRLF}--${outer}${CRLF}Content-Type: multipart/digest; boundary="${inner}"${CRLF}${CRLF}`);
  for (const post of input.posts) {
    // The CRLF before each delimiter belongs to the delimiter (RFC 2046 5.1.1): the part is the post's bytes exactly.
    add(`${CRLF}--${inner}${CRLF}Content-Type: message/rfc822${CRLF}${hasEightBit(post.raw) ? `Content-Transfer-Encoding: 8bit${CRLF}` : ''}${CRLF}`);
    add(post.raw);
  }
  add(`${CRLF}--${inner}--${CRLF}`);
  add(`${CRLF}--${outer}${CRLF}Content-Type: text/plain; charset="utf-8"${CRLF}Content-Transfer-Encoding: 8bit${CRLF}Content-Description: Digest Footer${CRLF}${CRLF}`);
  add(end);
  add(`${CRLF}--${outer}--${CRLF}`);
  return Buffer.concat(chunks);
}

const SEPARATOR_70 = '-'.repeat(70);
const SEPARATOR_30 = '-'.repeat(30);

// mailparser, loaded with the first digest: a runner that may send one (incoming, the scheduler) need not carry it idle.
let mailparserModule: Promise<typeof import('mailparser')> | undefined;
const mailparser = (): Promise<typeof import('mailparser')> => (mailparserModule ??= import('mailparser'));

/** A post's readable text: its text/plain content, else the text mailparser made of its HTML, else a note. */
async function postText(raw: Buffer): Promise<string> {
  try {
    const { simpleParser } = await mailparser();
    const parsed = await simpleParser(raw, { skipHtmlToText: false, skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
    return (parsed.text ?? '').replace(/\r?\n/g, '\n').trimEnd() || '[this post has no text part]';
  } catch {
    return '[this post could not be read as text]';
  }
}

async function plainDigest(input: DigestIssueInput, topics: readonly Topic[]): Promise<Buffer> {
  const lines = [...masthead(input), ...tableOfContents(topics, false, ''), SEPARATOR_70, ''];
  for (let i = 0; i < input.posts.length; i++) {
    const topic = topics[i]!;
    const body = await postText(input.posts[i]!.raw);
    lines.push(`Message: ${i + 1}`);
    if (topic.date !== '') lines.push(`Date: ${topic.date}`);
    lines.push(`From: ${topic.from}`, `Subject: ${topic.subject}`);
    if (topic.messageId !== '') lines.push(`Message-ID: ${topic.messageId}`);
    lines.push('');
    // RFC 1153: a line that would read as a separator is set off by a space.
    for (const line of body.split('\n')) lines.push(line === SEPARATOR_30 || line === SEPARATOR_70 ? ` ${line}` : line);
    lines.push('', SEPARATOR_30, '');
  }
  lines.push(...footer(input));
  return Buffer.concat([headerBlock(input, 'text/plain; charset="utf-8"', 'plain_digests'), text(lines)]);
}

function summaryDigest(input: DigestIssueInput, topics: readonly Topic[]): Buffer {
  const lines = [...masthead(input), ...tableOfContents(topics, true, input.list.settings.archiveUrl), ...footer(input)];
  return Buffer.concat([headerBlock(input, 'text/plain; charset="utf-8"', 'summary_digests'), text(lines)]);
}

/** The issue as a message in `mode`'s format, CRLF line endings. */
export async function composeDigest(mode: DigestMode, input: DigestIssueInput): Promise<Buffer> {
  const topics = input.posts.map(topicOf);
  switch (mode) {
    case 'mime_digests':
      return mimeDigest(input, topics);
    case 'plain_digests':
      return plainDigest(input, topics);
    case 'summary_digests':
      return summaryDigest(input, topics);
  }
}
