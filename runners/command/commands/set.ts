/** `set KEY VALUE`: member preferences. Not stored yet on this server, and the reply says so. */
import type { CommandResult, EmailCommand } from '../email-command.js';

export const set: EmailCommand = {
  aliases: [],
  usage: 'set KEY VALUE',
  async run(): Promise<CommandResult> {
    return { lines: ['member preferences are not available yet on this server: nothing was changed'] };
  },
};
