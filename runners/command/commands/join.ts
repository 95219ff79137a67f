/**
 * `join` / `subscribe [digest=mime|plain|summary|no]`: ask to become a member,
 * under the list's subscriptionPolicy. A digest choice is applied when the
 * membership is made at once (open policy); a request that waits for a
 * confirmation or an owner does not carry it, and the reply says how to
 * choose digests once a member (`set digest mime`).
 */
import { parsePreference } from '../../../src/app/member-preferences.js';
import { outcomeText, requestSubscription } from '../../../src/app/subscriptions.js';
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';
import { mailedSender } from './outcome.js';

const DIGEST = /^digest=(mime|plain|summary|no|yes)$/i;

export const join: EmailCommand = {
  aliases: ['subscribe'],
  usage: 'join [digest=mime|plain|summary|no]',
  async run(ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
    let digest: string | undefined;
    for (const arg of args) {
      const match = DIGEST.exec(arg);
      if (match === null) return { lines: [`unknown argument ${JSON.stringify(arg.slice(0, 60))}; usage: ${this.usage}`] };
      digest = match[1]!.toLowerCase();
    }
    const outcome = await requestSubscription(ctx.app, ctx.list.address, { address: ctx.sender, displayName: ctx.displayName }, ctx.membership);
    const notes: string[] = [];
    if (digest !== undefined && digest !== 'no') {
      const changes = parsePreference('digest', digest);
      if (outcome.status === 'subscribed') {
        await ctx.app.store.updateMember(ctx.list.address, outcome.member.address, 'member', changes);
        notes.push(`delivery: ${changes.deliveryMode}`);
      } else {
        notes.push(`digests: once you are a member, send "set digest ${digest}" to choose them`);
      }
    }
    return { lines: [outcomeText(outcome, ctx.list), ...notes], mailedSender: mailedSender(ctx, outcome), rateLimited: outcome.status === 'confirmation-limit' };
  },
};
