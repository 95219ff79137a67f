/**
 * reply-to: Reply-To munging (list setting replyGoesToList).
 *
 *   no_munging       the field is left as the poster wrote it;
 *   point_to_list    Reply-To: the list, then any addresses the poster had there;
 *   explicit_header  Reply-To: replyToAddress, then the poster's.
 *
 * Keeping the poster's own Reply-To addresses is Mailman's default
 * (first_strip_reply_to off): replies still reach where the poster asked.
 * An invalid replyToAddress leaves the field alone and is logged.
 */
import { formatMailbox, parseMailboxes, uniqueMailboxes, type Mailbox } from '../../../src/mail/mailbox.js';
import { addressProblem } from '../../../src/store/index.js';
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
      const explicit = parseMailboxes(settings.replyToAddress)[0];
      const problem = explicit === undefined ? 'empty' : addressProblem(explicit.address);
      if (explicit === undefined || problem !== null) {
        ctx.log.warn({ list: ctx.list.address, replyToAddress: settings.replyToAddress, problem }, 'reply-to: replyToAddress is not a usable address; Reply-To left as it is');
        return;
      }
      first = explicit;
      break;
    }
  }
  const original = ctx.message.getAll('reply-to').flatMap(parseMailboxes);
  ctx.message = ctx.message.set('Reply-To', uniqueMailboxes([first, ...original]).map(formatMailbox).join(', '));
}
