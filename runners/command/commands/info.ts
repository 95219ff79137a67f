/** `info`: what the list is, and how to post and leave. */
import { listServiceAddress } from '../../../src/app/membership-notices.js';
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';

export const info: EmailCommand = {
  aliases: [],
  usage: 'info',
  async run(ctx: CommandContext): Promise<CommandResult> {
    const { list } = ctx;
    return {
      lines: [
        `${list.displayName} (${list.address})`,
        ...(list.description === '' ? [] : [list.description]),
        `To post: write to ${list.address}`,
        `To join: write to ${listServiceAddress(list, '-join')} (subscriptions: ${list.settings.subscriptionPolicy.replace(/_/g, ' ')})`,
        `To leave: write to ${listServiceAddress(list, '-leave')}`,
        `Owners: ${listServiceAddress(list, '-owner')}`,
      ],
    };
  },
};
