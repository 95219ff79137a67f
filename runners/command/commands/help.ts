/** `help`: the commands this list answers. */
import { listServiceAddress } from '../../../src/app/membership-notices.js';
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';

export const help: EmailCommand = {
  aliases: [],
  usage: 'help',
  async run(ctx: CommandContext): Promise<CommandResult> {
    return {
      lines: [
        `Commands go in the Subject or at the top of the body of a message to ${listServiceAddress(ctx.list, '-request')}, one a line:`,
        ...ctx.commands.map((command) => `  ${command.usage.padEnd(30)} ${command.description}`),
        `Shortcuts: mail ${listServiceAddress(ctx.list, '-join')} to join, ${listServiceAddress(ctx.list, '-leave')} to leave.`,
      ],
    };
  },
};
