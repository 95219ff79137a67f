/** Whether an outcome already mailed the sender (shared by join, leave and confirm). */
import type { RequestOutcome } from '../../../src/app/subscriptions.js';
import type { CommandContext } from '../email-command.js';

export function mailedSender(ctx: CommandContext, outcome: RequestOutcome): boolean {
  const toSender = 'address' in outcome && outcome.address.toLowerCase() === ctx.sender.toLowerCase();
  if (!toSender) return false;
  switch (outcome.status) {
    case 'confirmation-sent':
      return true;
    case 'subscribed':
      return ctx.list.settings.sendWelcomeMessage;
    case 'unsubscribed':
      return ctx.list.settings.sendGoodbyeMessage;
    default:
      return false;
  }
}
