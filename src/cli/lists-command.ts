/**
 * `switchyard lists ...`: create, remove, list, show and configure mailing
 * lists (Mailman's `mailman create`/`remove`/`lists`/`info` and the list
 * settings). Tables for people, `--json` for scripts.
 *
 * Files: only the list store (`<home>/switchyard.db`), each command one
 * transaction: killed at any moment, the change happened entirely or not at all.
 */
import { Command, InvalidArgumentError } from 'commander';
import {
  parseListAddress,
  parseSettingValue,
  ROLES,
  SETTING_KEYS,
  settingDescription,
  settingKind,
  settingOptions,
  StoreError,
  type ListChanges,
  type MailingList,
  type Role,
  type SettingKey,
  type Store,
} from '../store/index.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { refreshMtaFiles } from './aliases-command.js';
import { withStore } from './store-access.js';
import { formatTable } from './table.js';

/** Keys of `lists set` that are list fields rather than settings. */
const FIELD_KEYS = ['displayName', 'description'] as const;

export function listsCommand(): Command {
  return new Command('lists')
    .description('create, remove, list, show and configure mailing lists')
    .addCommand(createCommand())
    .addCommand(removeCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(setCommand())
    .addHelpText('after', `
Examples:
  switchyard lists create dev@lists.example.org --display-name "Developers"
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
    .option('--json', 'print JSON')
    .action(async (list: string, options: { displayName?: string; description?: string; json?: boolean }, command: Command) => {
      const created = await withStore(command, (store) =>
        store.createList({
          address: list,
          ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
          ...(options.description === undefined ? {} : { description: options.description }),
        }),
      );
      // The MTA must learn of the new addresses (switchyard aliases).
      await refreshMtaFiles(command);
      if (options.json) return printJson(listJson(created, { member: 0, owner: 0, moderator: 0 }, 0));
      process.stdout.write(`created list ${created.address} (${created.displayName})\n`);
    });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('remove a list with all its members and held messages')
    .argument('<list>', 'posting address', listArgument)
    .option('--yes', 'really remove it (required: there is no undo)')
    .option('--json', 'print JSON')
    .action(async (list: string, options: { yes?: boolean; json?: boolean }, command: Command) => {
      const removed = await withStore(command, async (store) => {
        if (options.yes !== true) {
          // Say what would go before refusing, so the operator knows what --yes means here.
          const [members, held] = await Promise.all([store.countMembers(list), store.countHeld(list)]);
          throw new CliError(`removing ${list} deletes its ${members} member record(s) and ${held} held message(s) for good; add --yes`, EXIT_USAGE);
        }
        return store.removeList(list);
      });
      await refreshMtaFiles(command);
      if (options.json) return printJson(removed);
      process.stdout.write(`removed list ${removed.list} (${removed.members} member record(s), ${removed.held} held message(s))\n`);
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('list every mailing list')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const rows = await withStore(command, async (store) => {
        const result: { list: MailingList; counts: Record<Role, number>; held: number }[] = [];
        for (const list of await store.lists()) result.push({ list, counts: await roleCounts(store, list.address), held: await store.countHeld(list.address) });
        return result;
      });
      if (options.json) return printJson({ lists: rows.map((row) => listJson(row.list, row.counts, row.held)) });
      if (rows.length === 0) return void process.stdout.write('no lists (create one with `switchyard lists create NAME@DOMAIN`)\n');
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
      const { list, counts, held } = await withStore(command, async (store) => {
        const found = await store.getList(listAddress);
        return { list: found, counts: await roleCounts(store, found.address), held: await store.countHeld(found.address) };
      });
      if (options.json) return printJson(listJson(list, counts, held));
      const field = (name: string, value: string): string => `${name.padEnd(13)}${value}\n`;
      let text =
        field('list', list.address) +
        field('display name', printable(list.displayName)) +
        field('description', printable(list.description)) +
        field('created', list.createdAt.toISOString()) +
        field('members', `${counts.member} members, ${counts.owner} owners, ${counts.moderator} moderators`) +
        field('held', `${held} message(s)`);
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
      let changes: ListChanges;
      if ((FIELD_KEYS as readonly string[]).includes(key)) {
        changes = { [key]: value };
      } else {
        try {
          changes = { settings: parseSettingValue(key, value) };
        } catch (error) {
          if (error instanceof StoreError) throw new CliError(error.message, EXIT_USAGE);
          throw error;
        }
      }
      const { list, counts, held } = await withStore(command, async (store) => {
        const updated = await store.updateList(listAddress, changes);
        return { list: updated, counts: await roleCounts(store, updated.address), held: await store.countHeld(updated.address) };
      });
      if (options.json) return printJson(listJson(list, counts, held));
      const shown = key === 'displayName' ? list.displayName : key === 'description' ? list.description : JSON.stringify(shownSettings(list)[key as SettingKey]);
      process.stdout.write(`${list.address}: ${key} = ${printable(shown)}\n`);
    });
}

async function roleCounts(store: Store, list: string): Promise<Record<Role, number>> {
  const counts = { member: 0, owner: 0, moderator: 0 };
  for (const role of ROLES) counts[role] = await store.countMembers(list, { role });
  return counts;
}

/** Settings as shown: the moderator password's hash never leaves the store. */
function shownSettings(list: MailingList): Record<SettingKey, unknown> {
  return { ...list.settings, moderatorPassword: list.settings.moderatorPassword === null ? null : '(set)' };
}

function settingHelp(key: SettingKey): string {
  const options = settingOptions(key);
  const kind = settingKind(key);
  const hint = options !== null ? ` (${options.join(' | ')})` : kind === 'list' ? ' (JSON array)' : kind === 'password' ? ' (`none` clears)' : '';
  return `${settingDescription(key)}${hint}`;
}

function listJson(list: MailingList, counts: Record<Role, number>, held: number) {
  return {
    address: list.address,
    name: list.name,
    domain: list.domain,
    displayName: list.displayName,
    description: list.description,
    createdAt: list.createdAt.toISOString(),
    members: counts,
    held,
    settings: shownSettings(list),
  };
}

/** Names and descriptions come from operators and subscribers: no terminal escapes. */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
