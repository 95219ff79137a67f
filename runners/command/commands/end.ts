/** `end` (or `stop`): no more commands; whatever follows is not read. */
import type { CommandResult, EmailCommand } from '../email-command.js';

export const end: EmailCommand = {
  aliases: ['stop'],
  usage: 'end',
  async run(): Promise<CommandResult> {
    return { lines: ['no more commands read'], stop: true };
  },
};
