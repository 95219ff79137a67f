/** `confirm TOKEN`: answer a confirmation (the token is in its Subject and its -confirm+TOKEN address). */
import { confirmRequest, outcomeText } from '../../../src/app/subscriptions.js';
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';
import { mailedSender } from './outcome.js';

export const confirm: EmailCommand = {
  aliases: [],
  usage: 'confirm TOKEN',
  async run(ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
    const token = args[0];
    if (token === undefined) return { lines: ['confirm needs the token from the confirmation mail: confirm TOKEN'] };
    const outcome = await confirmRequest(ctx.app, ctx.list.address, token, ctx.membership);
    return { lines: [outcomeText(outcome, ctx.list)], mailedSender: mailedSender(ctx, outcome) };
  },
};
