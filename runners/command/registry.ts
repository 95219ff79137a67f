/**
 * The email commands, one registry entry each (src/registry.ts): adding a
 * command is one file under commands/ and one register() here.
 */
import { Registry } from '../../src/registry.js';
import { confirm } from './commands/confirm.js';
import { end } from './commands/end.js';
import { help } from './commands/help.js';
import { info } from './commands/info.js';
import { join } from './commands/join.js';
import { leave } from './commands/leave.js';
import { set } from './commands/set.js';
import { who } from './commands/who.js';
import type { EmailCommand } from './email-command.js';

export const EMAIL_COMMANDS = new Registry<EmailCommand>('email command')
  .register({ name: 'join', description: 'ask to become a member (aka subscribe)', module: 'runners/command/commands/join.ts', implementation: join })
  .register({ name: 'leave', description: 'ask to stop being a member (aka unsubscribe)', module: 'runners/command/commands/leave.ts', implementation: leave })
  .register({ name: 'confirm', description: 'answer a confirmation mail with its token', module: 'runners/command/commands/confirm.ts', implementation: confirm })
  .register({ name: 'help', description: 'this list of commands', module: 'runners/command/commands/help.ts', implementation: help })
  .register({ name: 'info', description: 'what the list is, how to post and leave', module: 'runners/command/commands/info.ts', implementation: info })
  .register({ name: 'who', description: "the members' addresses, if the list gives them out", module: 'runners/command/commands/who.ts', implementation: who })
  .register({ name: 'set', description: 'your member preferences: digest, delivery, myposts, nodupes, ack, hide, language; `set show` lists them', module: 'runners/command/commands/set.ts', implementation: set })
  .register({ name: 'end', description: 'stop reading commands (aka stop)', module: 'runners/command/commands/end.ts', implementation: end })
  .freeze();

const BY_WORD = new Map<string, string>();
for (const entry of EMAIL_COMMANDS.entries()) {
  BY_WORD.set(entry.name, entry.name);
  for (const alias of entry.implementation.aliases) BY_WORD.set(alias, entry.name);
}

/** The command a written word calls (name or alias, any case), or undefined. */
export function resolveCommandWord(word: string): string | undefined {
  return BY_WORD.get(word.toLowerCase());
}
