/** `join` / `subscribe [digest=mime|plain|no]`: ask to become a member, under the list's subscriptionPolicy. */
import { outcomeText, requestSubscription } from '../../../src/app/subscriptions.js';
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';
import { mailedSender } from './outcome.js';

const DIGEST = /^digest=(mime|plain|no|yes)$/i;

export const join: EmailCommand = {
  aliases: ['subscribe'],
  usage: 'join [digest=mime|plain|no]',
  async run(ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
    const notes: string[] = [];
    for (const arg of args) {
      const digest = DIGEST.exec(arg);
      if (digest === null) return { lines: [`unknown argument ${JSON.stringify(arg.slice(0, 60))}; usage: ${this.usage}`] };
      // Member preferences (delivery mode) are not stored yet: say so rather than pretend.
      if (!['no'].includes(digest[1]!.toLowerCase())) notes.push('digests are not available yet on this server: you would get every post as it is sent');
    }
    const outcome = await requestSubscription(ctx.app, ctx.list.address, { address: ctx.sender, displayName: ctx.displayName }, ctx.membership);
    return { lines: [outcomeText(outcome, ctx.list), ...notes], mailedSender: mailedSender(ctx, outcome), rateLimited: outcome.status === 'confirmation-limit' };
  },
};
