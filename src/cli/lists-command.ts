/**
 * `switchyard lists ...`: create, remove, list, show and configure mailing
 * lists (Mailman's `mailman create`/`remove`/`lists`/`info` and the list
 * settings). Tables for people, `--json` for scripts. The use cases are
 * src/app/lists.ts; this file parses and prints.
 *
 * Files: the list store (`<home>/switchyard.db`), each command one
 * transaction: killed at any moment, the change happened entirely or not at
 * all; after create and remove, the MTA files (rewritten by the ListCreated /
 * ListRemoved subscriber of app-context.ts; a failure is a warning and exit 1).
 */
import { Command, InvalidArgumentError } from 'commander';
import { createList, isListField, listLists, listRemovalImpact, removeList, setListValue, showList, shownSettings, type ListOverview } from '../app/lists.js';
import { parseAddress, parseListAddress, StoreError, type SettingKey } from '../store/index.js';
import { SETTING_KEYS, settingDescription, settingKind, settingOptions } from '../store/list-settings.js';
import { printWarnings, withApp, warnSubscriberErrors } from './app-context.js';
import { nonmembersCommand } from './nonmembers-command.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { formatTable, printable } from './table.js';

export function listsCommand(): Command {
  return new Command('lists')
    .description('create, remove, list, show and configure mailing lists')
    .addCommand(createCommand())
    .addCommand(removeCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(setCommand())
    .addCommand(nonmembersCommand())
    .addHelpText('after', `
Examples:
  switchyard lists create dev@lists.example.org --owner boss@example.org --display-name "Developers"
  switchyard lists nonmembers add dev@lists.example.org accept '^.*@partner\\.example$'
  switchyard lists set dev@lists.example.org defaultNonmemberAction reject
  switchyard lists set dev@lists.example.org suspiciousHeaders '["^X-Spam-Flag: YES"]'
  switchyard lists show dev@lists.example.org
  switchyard lists remove dev@lists.example.org --yes

Exit codes: 0 ok, 1 error (e.g. no such list), 2 bad arguments.`);
}

/** commander argument parser: a valid list posting address, lower-cased. */
export function listArgument(text: string): string {
  try {
    return parseListAddress(text).address;
  } catch (error) {
    if (error instanceof StoreError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function createCommand(): Command {
  return new Command('create')
    .description('create a list with the default settings')
    .argument('<list>', 'posting address NAME@DOMAIN (NAME: 1-64 of a-z, 0-9, ".", "_", "-")', listArgument)
    .option('--display-name <name>', 'name shown to people (default: NAME capitalised); also sets the subject prefix "[name] "')
    .option('--description <text>', 'one line about the list')
    .option('--owner <address>', 'an owner: gets the notices (held posts, bounces, -owner mail); repeat for more', collectAddress, [])
    .option('--moderator <address>', 'a moderator: gets the held-post notices too; repeat for more', collectAddress, [])
    .option('--json', 'print JSON')
    .addHelpText('after', `
A list created without --owner works, with a warning: its notices go to the
site owner ([site] owner in switchyard.toml, default postmaster@DOMAIN) until
\`switchyard members add LIST ADDRESS --role owner\` gives it one.`)
    .action(async (list: string, options: { displayName?: string; description?: string; owner: string[]; moderator: string[]; json?: boolean }, command: Command) => {
      const { overview, subscriberErrors } = await withApp(command, (app) =>
        createList(app, {
          address: list,
          owners: options.owner,
          moderators: options.moderator,
          ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
          ...(options.description === undefined ? {} : { description: options.description }),
        }),
      );
      warnSubscriberErrors(subscriberErrors);
      printWarnings(overview.warnings);
      if (options.json) return printJson(listJson(overview));
      const admins = overview.counts.owner + overview.counts.moderator > 0 ? `, ${overview.counts.owner} owner(s), ${overview.counts.moderator} moderator(s)` : '';
      process.stdout.write(`created list ${overview.list.address} (${overview.list.displayName})${admins}\n`);
    });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('remove a list with all its members and held messages')
    .argument('<list>', 'posting address', listArgument)
    .option('--yes', 'really remove it (required: there is no undo)')
    .option('--json', 'print JSON')
    .action(async (list: string, options: { yes?: boolean; json?: boolean }, command: Command) => {
      const { removed, subscriberErrors } = await withApp(command, async (app) => {
        if (options.yes !== true) {
          // Say what would go before refusing, so the operator knows what --yes means here.
          const impact = await listRemovalImpact(app, list);
          throw new CliError(`removing ${impact.list} deletes its ${impact.members} member record(s) and ${impact.held} held message(s) for good; add --yes`, EXIT_USAGE);
        }
        return removeList(app, list);
      });
      warnSubscriberErrors(subscriberErrors);
      if (options.json) return printJson(removed);
      process.stdout.write(`removed list ${removed.list} (${removed.members} member record(s), ${removed.held} held message(s))\n`);
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('list every mailing list')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const rows = await withApp(command, (app) => listLists(app));
      if (options.json) return printJson({ lists: rows.map(listJson) });
      if (rows.length === 0) return void process.stdout.write('no lists (create one with `switchyard lists create NAME@DOMAIN --owner ADDRESS`)\n');
      printWarnings(rows.flatMap((row) => row.warnings));
      process.stdout.write(
        formatTable(
          ['LIST', 'DISPLAY NAME', 'MEMBERS', 'OWNERS', 'MODERATORS', 'HELD', 'DESCRIPTION'],
          rows.map(({ list, counts, held }) => [list.address, printable(list.displayName), String(counts.member), String(counts.owner), String(counts.moderator), String(held), printable(list.description)]),
          ['left', 'left', 'right', 'right', 'right', 'right'],
        ),
      );
    });
}

function showCommand(): Command {
  return new Command('show')
    .description("show a list: its facts and every setting's value")
    .argument('<list>', 'posting address', listArgument)
    .option('--json', 'print JSON')
    .action(async (listAddress: string, options: { json?: boolean }, command: Command) => {
      const overview = await withApp(command, (app) => showList(app, listAddress));
      const { list, counts, held } = overview;
      if (options.json) return printJson(listJson(overview));
      const field = (name: string, value: string): string => `${name.padEnd(13)}${value}\n`;
      let text =
        field('list', list.address) +
        field('display name', printable(list.displayName)) +
        field('description', printable(list.description)) +
        field('created', list.createdAt.toISOString()) +
        field('members', `${counts.member} members, ${counts.owner} owners, ${counts.moderator} moderators`) +
        field('held', `${held} message(s)`) +
        overview.warnings.map((warning) => field('WARNING', printable(warning))).join('');
      const settings = shownSettings(list);
      text += `\n${formatTable(['SETTING', 'VALUE', 'DESCRIPTION'], SETTING_KEYS.map((key) => [key, printable(JSON.stringify(settings[key])), settingHelp(key)]))}`;
      process.stdout.write(text);
    });
}

function setCommand(): Command {
  return new Command('set')
    .description('change one setting of a list (or its displayName or description)')
    .argument('<list>', 'posting address', listArgument)
    .argument('<key>', 'setting name, as `lists show` lists them')
    .argument('<value>', 'true/false, a number, one of the listed choices, text, or a JSON array for lists')
    .option('--json', 'print JSON: the list as `lists show --json` prints it')
    .action(async (listAddress: string, key: string, value: string, options: { json?: boolean }, command: Command) => {
      const { overview, value: shown } = await withApp(command, (app) => setListValue(app, listAddress, key, value));
      if (options.json) return printJson(listJson(overview));
      process.stdout.write(`${overview.list.address}: ${key} = ${printable(isListField(key) ? String(shown) : JSON.stringify(shown))}\n`);
    });
}

function settingHelp(key: SettingKey): string {
  const options = settingOptions(key);
  const kind = settingKind(key);
  const hint = options !== null ? ` (${options.join(' | ')})` : kind === 'list' ? ' (JSON array)' : kind === 'password' ? ' (`none` clears)' : '';
  return `${settingDescription(key)}${hint}`;
}

/** commander option parser for a repeatable address option: each value checked, all kept. */
export function collectAddress(text: string, previous: string[]): string[] {
  try {
    return [...previous, parseAddress(text).address];
  } catch (error) {
    if (error instanceof StoreError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function listJson({ list, counts, held, warnings }: ListOverview) {
  return {
    address: list.address,
    name: list.name,
    domain: list.domain,
    displayName: list.displayName,
    description: list.description,
    createdAt: list.createdAt.toISOString(),
    members: counts,
    held,
    warnings,
    settings: shownSettings(list),
  };
}

// Kept here too for the command modules that import it from lists-command.ts.
export { printable };

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
