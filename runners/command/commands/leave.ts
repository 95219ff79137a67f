/** `leave` / `unsubscribe`: ask to stop being a member, under the list's unsubscriptionPolicy. */
import { outcomeText, requestUnsubscription } from '../../../src/app/subscriptions.js';
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';
import { mailedSender } from './outcome.js';

export const leave: EmailCommand = {
  aliases: ['unsubscribe'],
  usage: 'leave',
  async run(ctx: CommandContext): Promise<CommandResult> {
    const outcome = await requestUnsubscription(ctx.app, ctx.list.address, ctx.sender);
    return { lines: [outcomeText(outcome, ctx.list)], mailedSender: mailedSender(ctx, outcome), rateLimited: outcome.status === 'confirmation-limit' };
  },
};
