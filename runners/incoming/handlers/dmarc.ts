/**
 * dmarc: DMARC mitigation for posts whose From domain publishes a reject or
 * quarantine policy, which list rewriting would otherwise make fail DMARC at
 * the members' providers. It acts when the list's dmarcMitigateAction is
 * munge_from or wrap_message and either dmarcMitigateUnconditionally is set
 * or the policy calls for it (metadata `dmarc: true`, set by the chain's
 * dmarc-mitigation rule, or looked up here when the chain did not run it:
 * incoming/dmarc-verdict.ts). reject and discard are the chain's.
 *
 *   munge_from    From: "Name via List" <list@domain> (Name: the author's
 *                 display name, else the member's, else the address with its
 *                 domain replaced by "---", as Mailman does); the original
 *                 From goes to Reply-To when the list leaves Reply-To alone
 *                 (replyGoesToList no_munging), else to Cc, so it is not
 *                 lost beside the list's own Reply-To (Mailman's rule);
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
import { dmarcVerdict } from '../dmarc-verdict.js';
import type { PipelineContext } from '../pipeline.js';

/** Fields the outer message of wrap_message carries over (Mailman's KEEPERS). */
const WRAP_KEEPS = /^(date|message-id|in-reply-to|references|subject|to|cc|reply-to|precedence|x-beenthere|list-.*|archived-at)$/;

function addTo(message: RawMessage, field: string, mailbox: Mailbox): RawMessage {
  const existing = message.getAll(field).flatMap(parseMailboxes);
  return message.set(field, uniqueMailboxes([...existing, mailbox]).map(formatMailbox).join(', '));
}

/** The name shown before "via": Mailman's, which never shows an address as a name. */
async function displayNameOf(ctx: PipelineContext, original: Mailbox): Promise<string> {
  let name = original.name;
  if (name === '') {
    const member = await ctx.store.findMember(ctx.list.address, original.address, 'member');
    name = member?.displayName ?? '';
  }
  if (name === '') name = original.address;
  return name.replace(/@([^ .]+\.)+[^ .]+$/, '---');
}

/** The message with From munged and the original From kept where replies find it. */
async function mungeFrom(ctx: PipelineContext, message: RawMessage, original: Mailbox): Promise<RawMessage> {
  const list = ctx.list;
  const from: Mailbox = { name: `${await displayNameOf(ctx, original)} via ${list.displayName}`, address: list.address };
  const munged = message.set('From', formatMailbox(from));
  return list.settings.replyGoesToList === 'no_munging' ? addTo(munged, 'Reply-To', original) : addTo(munged, 'Cc', original);
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

export async function dmarc(ctx: PipelineContext): Promise<void> {
  const action = ctx.list.settings.dmarcMitigateAction;
  if (action !== 'munge_from' && action !== 'wrap_message') return;
  const verdict = { list: ctx.list, message: ctx.message, metadata: ctx.metadata, log: ctx.log, ...(ctx.resolveTxt === undefined ? {} : { resolveTxt: ctx.resolveTxt }) };
  if (!(await dmarcVerdict(verdict))) return;
  const fromValue = ctx.message.get('from');
  const original = fromValue === undefined ? undefined : parseMailboxes(fromValue)[0];
  if (original === undefined) {
    ctx.log.warn({ list: ctx.list.address, from: fromValue ?? null }, 'dmarc: no readable From address; post left as it is');
    return;
  }
  if (original.address.toLowerCase() === ctx.list.address) return;
  if (action === 'munge_from') {
    ctx.message = await mungeFrom(ctx, ctx.message, original);
  } else {
    // The outer message is the list's: its From is munged; the original, wrapped inside, is untouched.
    const outer = wrap(ctx.message);
    ctx.message = await mungeFrom(ctx, outer, original);
  }
  ctx.metadata.dmarcMitigated = action;
}
