/**
 * administrivia: a post whose Subject, or one of the first ten non-blank
 * lines of its text, is a mail command (`unsubscribe`, `subscribe me`,
 * `remove me`, ...) was meant for the list's -request address: held, not
 * sent to everyone. As in Mailman, a line counts only when it starts with a
 * command word followed by no more arguments than the command takes, so
 * prose that happens to contain "unsubscribe" passes.
 */
import type { Rule } from '../chain.js';

/** Command word: [fewest, most] arguments (Mailman's EMAIL_COMMANDS, with join/leave/remove me). */
const COMMANDS: Readonly<Record<string, readonly [number, number]>> = {
  confirm: [1, 1],
  help: [0, 0],
  info: [0, 0],
  join: [0, 2],
  leave: [0, 1],
  lists: [0, 0],
  options: [0, 0],
  password: [2, 2],
  remove: [0, 1],
  set: [3, 3],
  subscribe: [0, 3],
  unsubscribe: [0, 2],
  who: [0, 2],
};

/** The command `line` is, or undefined. */
export function mailCommand(line: string): string | undefined {
  const words = line.trim().toLowerCase().split(/\s+/);
  const command = words[0];
  if (command === undefined || !Object.hasOwn(COMMANDS, command)) return undefined;
  const [min, max] = COMMANDS[command]!;
  const args = words.length - 1;
  return args >= min && args <= max ? command : undefined;
}

export const administrivia: Rule = {
  name: 'administrivia',
  check({ list, message, summary }) {
    if (!list.settings.administrivia) return undefined;
    const subject = message.decoded('Subject') ?? '';
    const inSubject = mailCommand(subject);
    if (inSubject !== undefined) return { action: 'hold', reason: `the subject is a mail command (${inSubject}): send commands to the -request address` };
    for (const line of summary.textLines) {
      const command = mailCommand(line);
      if (command !== undefined) return { action: 'hold', reason: `the body starts with a mail command (${command}): send commands to the -request address` };
    }
    return undefined;
  },
};
