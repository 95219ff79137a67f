/**
 * reply-to: Reply-To munging (list setting replyGoesToList).
 *
 *   no_munging       the field is left as the poster wrote it;
 *   point_to_list    Reply-To: the list, then any addresses the poster had there;
 *   explicit_header  Reply-To: replyToAddress, then the poster's.
 *
 * Keeping the poster's own Reply-To addresses is Mailman's default
 * (first_strip_reply_to off): replies still reach where the poster asked.
 * An invalid replyToAddress leaves the field alone and is logged: one that is
 * not exactly one mailbox, or (stored before settings were checked) holds a
 * line break, is never parsed for whatever address hides in it.
 */
import { formatMailbox, parseMailboxes, uniqueMailboxes, type Mailbox } from '../../../src/mail/mailbox.js';
import { parseReplyToAddress } from '../../../src/store/index.js';
import type { PipelineContext } from '../pipeline.js';

export function replyTo(ctx: PipelineContext): void {
  const settings = ctx.list.settings;
  let first: Mailbox;
  switch (settings.replyGoesToList) {
    case 'no_munging':
      return;
    case 'point_to_list':
      first = { name: ctx.list.displayName, address: ctx.list.address };
      break;
    case 'explicit_header': {
      const explicit = parseReplyToAddress(settings.replyToAddress);
      const problem = 'problem' in explicit ? explicit.problem : null;
      if ('problem' in explicit) {
        ctx.log.warn({ list: ctx.list.address, replyToAddress: settings.replyToAddress, problem }, 'reply-to: replyToAddress is not a usable address; Reply-To left as it is');
        return;
      }
      first = explicit.mailbox;
      break;
    }
  }
  const original = ctx.message.getAll('reply-to').flatMap(parseMailboxes);
  ctx.message = ctx.message.set('Reply-To', uniqueMailboxes([first, ...original]).map(formatMailbox).join(', '));
}
