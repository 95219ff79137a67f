/**
 * dmarc: DMARC mitigation for posts whose From domain publishes a reject or
 * quarantine policy, which list rewriting would otherwise make fail DMARC at
 * the members' providers. It acts when the list's dmarcMitigateAction is
 * munge_from or wrap_message and either dmarcMitigateUnconditionally is set
 * or the posting chain found such a policy (metadata `dmarc: true`; the
 * lookup is src/mail/dmarc-policy.ts). reject and discard are the chain's.
 *
 *   munge_from    From: "Name via List" <list@domain>; the original From goes
 *                 to Reply-To, or to Cc when Reply-To points to the list (so
 *                 replies still reach both);
 *   wrap_message  a new message from the list (the same From munging) whose
 *                 one part is the post as message/rfc822, byte for byte; the
 *                 outer message keeps Subject, To, Cc, Reply-To, Date, Message-ID,
 *                 In-Reply-To, References and the List-* fields.
 *
 * A post without a readable From address is left as it is, logged.
 */
import { boundaryFor } from '../../../src/mail/decoration.js';
import { formatMailbox, parseMailboxes, uniqueMailboxes, type Mailbox } from '../../../src/mail/mailbox.js';
import type { HeaderField, RawMessage } from '../../../src/mail/raw-message.js';
import type { PipelineContext } from '../pipeline.js';

/** Fields the outer message of wrap_message carries over (Mailman's KEEPERS). */
const WRAP_KEEPS = /^(date|message-id|in-reply-to|references|subject|to|cc|reply-to|precedence|x-beenthere|list-.*|archived-at)$/;

function addTo(message: RawMessage, field: string, mailbox: Mailbox): RawMessage {
  const existing = message.getAll(field).flatMap(parseMailboxes);
  return message.set(field, uniqueMailboxes([...existing, mailbox]).map(formatMailbox).join(', '));
}

/** The message with From munged and the original From kept where replies find it. */
function mungeFrom(ctx: PipelineContext, message: RawMessage, original: Mailbox): RawMessage {
  const list = ctx.list;
  const shown = original.name !== '' ? original.name : original.address;
  const from: Mailbox = { name: `${shown} via ${list.displayName}`, address: list.address };
  const munged = message.set('From', formatMailbox(from));
  return list.settings.replyGoesToList === 'point_to_list' ? addTo(munged, 'Cc', original) : addTo(munged, 'Reply-To', original);
}

function wrap(message: RawMessage): RawMessage {
  const eol = message.eol;
  const inner = message.toBuffer();
  const boundary = boundaryFor(inner);
  let eightBit = false;
  for (let i = 0; i < inner.length && !eightBit; i++) eightBit = inner[i]! >= 0x80;
  const partHeader =
    `--${boundary}${eol}Content-Type: message/rfc822${eol}Content-Disposition: inline${eol}` +
    (eightBit ? `Content-Transfer-Encoding: 8bit${eol}` : '') +
    eol;
  const body = Buffer.concat([Buffer.from(partHeader, 'latin1'), inner, Buffer.from(`${eol}--${boundary}--${eol}`, 'latin1')]);
  const kept: HeaderField[] = message.fields.filter((field) => WRAP_KEEPS.test(field.key));
  return message
    .withFields([...kept, message.format('MIME-Version', '1.0'), message.format('Content-Type', `multipart/mixed; boundary="${boundary}"`)])
    .withBody(body);
}

export function dmarc(ctx: PipelineContext): void {
  const settings = ctx.list.settings;
  const action = settings.dmarcMitigateAction;
  if (action !== 'munge_from' && action !== 'wrap_message') return;
  if (!settings.dmarcMitigateUnconditionally && ctx.metadata.dmarc !== true) return;
  const fromValue = ctx.message.get('from');
  const original = fromValue === undefined ? undefined : parseMailboxes(fromValue)[0];
  if (original === undefined) {
    ctx.log.warn({ list: ctx.list.address, from: fromValue ?? null }, 'dmarc: no readable From address; post left as it is');
    return;
  }
  if (original.address.toLowerCase() === ctx.list.address) return;
  if (action === 'munge_from') {
    ctx.message = mungeFrom(ctx, ctx.message, original);
  } else {
    // The outer message is the list's: its From is munged; the original, wrapped inside, is untouched.
    const outer = wrap(ctx.message);
    ctx.message = mungeFrom(ctx, outer, original);
  }
  ctx.metadata.dmarcMitigated = action;
}
