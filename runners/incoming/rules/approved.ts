/**
 * approved: a post carrying the list's moderator password, in an Approved:
 * header (also Approve:, X-Approved:, X-Approve:) or as the first non-blank
 * line of its text (`Approved: password`), is accepted at once.
 *
 * The password must never reach the members: every such header is removed
 * from the post whether the password is right or not, and a right password
 * in the body has its line cut out of the raw body bytes. That is done only
 * where it is sure to remove every copy: a post that is a single text/plain
 * part whose line is found literally in the raw bytes, and nowhere else
 * after the cut. Otherwise (a multipart/alternative post, whose HTML part
 * repeats the text; a base64 or quoted-printable body) the post is held
 * instead of accepted, with a reason that tells the moderator approving it
 * would send the password to the list (the Approved: header always works). A wrong password is ignored: the post
 * goes on through the chain.
 */
import type { RawMessage } from '../../../src/mail/raw-message.js';
import { verifyModeratorPasswordAsync } from '../../../src/store/index.js';
import type { Rule } from '../chain.js';

export const APPROVED_HEADERS = ['Approved', 'Approve', 'X-Approved', 'X-Approve'] as const;
const PSEUDO_HEADER = /^approved?:\s*(.*)$/i;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The message with its body line `Approved: <password>` removed, or
 * undefined when that cannot be done for sure (see the module comment).
 */
export function withoutPasswordLine(message: RawMessage, password: string): RawMessage | undefined {
  const mediaType = (message.get('Content-Type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'text/plain') return undefined;
  // latin1: one character per byte, so string offsets are byte offsets.
  const body = message.body.toString('latin1');
  const literal = Buffer.from(password, 'utf8').toString('latin1');
  const line = new RegExp(`^[ \\t]*(?:x-)?approved?:[ \\t]*${escapeRegex(literal)}[ \\t]*(?:\\r?\\n|$)`, 'im').exec(body);
  if (line === null) return undefined;
  const rest = body.slice(0, line.index) + body.slice(line.index + line[0].length);
  if (rest.includes(literal)) return undefined;
  return message.withBody(Buffer.concat([message.body.subarray(0, line.index), message.body.subarray(line.index + line[0].length)]));
}

export const approved: Rule = {
  name: 'approved',
  async check(ctx) {
    const headerValue = APPROVED_HEADERS.map((name) => ctx.message.get(name)).find((value) => value !== undefined);
    if (headerValue !== undefined) ctx.message = ctx.message.without(...APPROVED_HEADERS);
    const settings = ctx.list.settings;
    if (settings.moderatorPassword === null) return undefined;
    if (headerValue !== undefined && (await verifyModeratorPasswordAsync(settings, headerValue))) {
      return { action: 'accept', reason: 'approved with the moderator password (Approved: header)' };
    }
    const firstLine = ctx.summary.textLines[0];
    const match = firstLine === undefined ? null : PSEUDO_HEADER.exec(firstLine);
    if (match === null || !(await verifyModeratorPasswordAsync(settings, match[1]!.trim()))) return undefined;
    const stripped = withoutPasswordLine(ctx.message, match[1]!.trim());
    if (stripped === undefined) {
      return { action: 'hold', reason: 'the moderator password is in a body it cannot be removed from for sure (encoded, or in more than one part), so approving it would send the password to the list; reject it and post again with an Approved: header' };
    }
    ctx.message = stripped;
    return { action: 'accept', reason: 'approved with the moderator password (Approved: line in the body)' };
  },
};
