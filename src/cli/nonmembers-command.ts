/**
 * `switchyard lists nonmembers ...`: the addresses and ^regex patterns of
 * non-members whose posts a list accepts, holds, rejects or discards
 * (Mailman's accept_these_nonmembers and its three siblings). The use cases
 * are src/app/nonmembers.ts; this file parses and prints.
 *
 * Files: the list store only, one setting written per change.
 */
import { Command, InvalidArgumentError } from 'commander';
import { addNonmemberPattern, listNonmemberPatterns, NONMEMBER_SETTINGS, removeNonmemberPattern, type NonmemberChange, type NonmemberPatterns } from '../app/nonmembers.js';
import { MODERATION_ACTIONS, type ModerationAction } from '../store/index.js';
import { withApp } from './app-context.js';
import { listArgument, printable, printJson } from './lists-command.js';
import { formatTable } from './table.js';

export function nonmembersCommand(): Command {
  return new Command('nonmembers')
    .description('non-members whose posts a list accepts, holds, rejects or discards (addresses or ^regex)')
    .addCommand(listCommand())
    .addCommand(changeCommand('add'))
    .addCommand(changeCommand('remove'))
    .addHelpText('after', `
A pattern is an address (matched whole, case-insensitively) or a regular
expression starting with ^, matched case-insensitively against the poster's
address. A non-member's post takes the action of the first list it matches,
in the order accept, hold, reject, discard; else the list's
defaultNonmemberAction. Members are moderated by their own action
(\`members set-moderation\`) or defaultMemberAction instead.

Regular expressions are refused when invalid, longer than 200 characters, or
with a repeated group that repeats or alternates inside ((a+)+, (a|b)*), which
can take exponential time.

Examples:
  switchyard lists nonmembers add dev@lists.example.org accept partner@example.com
  switchyard lists nonmembers add dev@lists.example.org accept '^[^@]+@partner\\.example$'
  switchyard lists nonmembers add dev@lists.example.org discard '^.*@spam\\.example$'
  switchyard lists nonmembers list dev@lists.example.org
  switchyard lists nonmembers remove dev@lists.example.org accept partner@example.com

Exit codes: 0 ok, 1 error (no such list), 2 bad arguments (a bad pattern).`);
}

function actionArgument(text: string): ModerationAction {
  if (!(MODERATION_ACTIONS as readonly string[]).includes(text)) throw new InvalidArgumentError(`expected one of ${MODERATION_ACTIONS.join(', ')}`);
  return text as ModerationAction;
}

function patternsJson(list: string, patterns: NonmemberPatterns) {
  return { list, ...patterns };
}

function listCommand(): Command {
  return new Command('list')
    .description("a list's non-member patterns, by action")
    .argument('<list>', 'posting address', listArgument)
    .option('--json', 'print JSON: { list, accept: [...], hold: [...], reject: [...], discard: [...] }')
    .action(async (list: string, options: { json?: boolean }, command: Command) => {
      const patterns = await withApp(command, (app) => listNonmemberPatterns(app, list));
      if (options.json) return printJson(patternsJson(list, patterns));
      const rows = MODERATION_ACTIONS.flatMap((action) => patterns[action].map((pattern) => [action, printable(pattern), NONMEMBER_SETTINGS[action]]));
      if (rows.length === 0) return void process.stdout.write(`${list} has no non-member patterns: non-members get defaultNonmemberAction\n`);
      process.stdout.write(formatTable(['ACTION', 'PATTERN', 'SETTING'], rows));
    });
}

function changeCommand(verb: 'add' | 'remove'): Command {
  return new Command(verb)
    .description(verb === 'add' ? "add an address or ^regex to one action's non-members" : "remove an address or ^regex from one action's non-members")
    .argument('<list>', 'posting address', listArgument)
    .argument('<action>', MODERATION_ACTIONS.join(' | '), actionArgument)
    .argument('<pattern>', 'an address, or a regular expression starting with ^')
    .option('--json', 'print JSON: what changed and every pattern now')
    .action(async (list: string, action: ModerationAction, pattern: string, options: { json?: boolean }, command: Command) => {
      const change: NonmemberChange = await withApp(command, (app) => (verb === 'add' ? addNonmemberPattern(app, list, action, pattern) : removeNonmemberPattern(app, list, action, pattern)));
      if (options.json) return printJson({ ...change, patterns: patternsJson(change.list, change.patterns) });
      const shown = printable(change.pattern);
      const what =
        verb === 'add'
          ? change.changed ? `added ${shown} to ${NONMEMBER_SETTINGS[action]}` : `${shown} is already in ${NONMEMBER_SETTINGS[action]}`
          : change.changed ? `removed ${shown} from ${NONMEMBER_SETTINGS[action]}` : `${shown} is not in ${NONMEMBER_SETTINGS[action]}: nothing removed`;
      process.stdout.write(`${change.list}: ${what}\n`);
      if (verb === 'remove' && !change.changed) process.exitCode = 1;
    });
}
