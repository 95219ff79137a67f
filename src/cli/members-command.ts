/**
 * `switchyard members ...`: add, remove, list, import and export the members,
 * owners and moderators of a list (Mailman's `addmembers`, `delmembers`,
 * `members`). Tables for people, `--json` for scripts. The use cases are
 * src/app/membership.ts; this file parses and prints.
 *
 * Files: reads the member file given to `import` (or stdin for `-`); writes
 * only the list store. `import` commits in batches (see
 * src/store/member-import.ts): killed midway, the batches committed stay, and
 * running it again reports them as already members.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parsePreferenceAssignments, PREFERENCES, setMemberPreferences } from '../app/member-preferences.js';
import { addMember, disableMember, enableMember, exportMembers, importMembers, listMembers, removeMember, setModerationAction } from '../app/membership.js';
import { MODERATION_ACTIONS, parseAddress, ROLES, StoreError, type Member, type ModerationAction, type Role } from '../store/index.js';
import type { ImportResult } from '../store/member-import.js';
import { withApp } from './app-context.js';
import { CliError } from './exit-codes.js';
import { listArgument, printable, printJson } from './lists-command.js';
import { createProgress } from './progress.js';
import { formatTable } from './table.js';

export function membersCommand(): Command {
  return new Command('members')
    .description("add, remove, list, import and export a list's members, owners and moderators")
    .addCommand(addCommand())
    .addCommand(removeCommand())
    .addCommand(listCommand())
    .addCommand(importCommand())
    .addCommand(exportCommand())
    .addCommand(enableCommand())
    .addCommand(disableCommand())
    .addCommand(setModerationCommand())
    .addCommand(setCommand())
    .addHelpText('after', `
Examples:
  switchyard members add dev@lists.example.org anne@example.org --name "Anne Example"
  switchyard members add dev@lists.example.org boss@example.org --role owner
  switchyard members set-moderation dev@lists.example.org troll@example.org hold
  switchyard members disable dev@lists.example.org away@example.org
  switchyard members set dev@lists.example.org anne@example.org deliveryMode=mime_digests receiveOwnPostings=false
  switchyard members import dev@lists.example.org subscribers.csv
  switchyard members export dev@lists.example.org > subscribers.csv

Member files (import; export writes the same): one member per line, as
  anne@example.org   or   anne@example.org,Anne Example   (CSV, RFC 4180 quoting)
  or   Anne Example <anne@example.org>
Blank lines and # comments are skipped. A first line naming the columns
(address,name,delivery_mode,delivery_status: address required, any order)
is a header; delivery_mode takes regular, mime_digests, plain_digests,
summary_digests (or mime, plain, summary, digest), delivery_status enabled,
by_user, by_owner (or on, off). Members already there are left as they are.

Exit codes: 0 ok, 1 error (e.g. no such list; import: some lines were invalid,
the valid ones are imported), 2 bad arguments.`);
}

function roleOption(description: string, defaultValue?: Role): Option {
  const option = new Option('--role <role>', description).choices(ROLES);
  return defaultValue === undefined ? option : option.default(defaultValue);
}

function addressArgument(text: string): string {
  try {
    return parseAddress(text).address;
  } catch (error) {
    if (error instanceof StoreError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function addCommand(): Command {
  return new Command('add')
    .description('add one address to a list')
    .argument('<list>', 'posting address', listArgument)
    .argument('<address>', 'the address to add', addressArgument)
    .option('--name <name>', 'display name')
    .addOption(roleOption('member, owner or moderator', 'member'))
    .option('--json', 'print JSON')
    .action(async (list: string, address: string, options: { name?: string; role: Role; json?: boolean }, command: Command) => {
      const member = await withApp(command, (app) => addMember(app, list, { address, role: options.role, ...(options.name === undefined ? {} : { displayName: options.name }) }));
      if (options.json) return printJson(memberJson(member));
      process.stdout.write(`added ${member.address} to ${member.list} as ${member.role}\n`);
    });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('remove one address (in one role) from a list')
    .argument('<list>', 'posting address', listArgument)
    .argument('<address>', 'the address to remove', addressArgument)
    .addOption(roleOption('the role to remove it from', 'member'))
    .option('--json', 'print JSON')
    .action(async (list: string, address: string, options: { role: Role; json?: boolean }, command: Command) => {
      const removed = await withApp(command, (app) => removeMember(app, list, address, options.role));
      if (options.json) return printJson({ removed: memberJson(removed) });
      process.stdout.write(`removed ${removed.address} (${removed.role}) from ${removed.list}\n`);
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('list the members of a list, by address')
    .argument('<list>', 'posting address', listArgument)
    .addOption(roleOption('only this role (default: every role)'))
    .option('--json', 'print JSON')
    .action(async (list: string, options: { role?: Role; json?: boolean }, command: Command) => {
      const members = await withApp(command, (app) => listMembers(app, list, options.role === undefined ? {} : { role: options.role }));
      if (options.json) return printJson({ list, members: members.map(memberJson) });
      if (members.length === 0) return void process.stdout.write(`${list} has no ${options.role === undefined ? 'members' : `${options.role}s`}\n`);
      process.stdout.write(
        formatTable(
          ['ADDRESS', 'NAME', 'ROLE', 'DELIVERY', 'MODE', 'OPTIONS', 'MODERATION', 'BOUNCE SCORE', 'SUBSCRIBED'],
          members.map((m) => [printable(m.address), printable(m.displayName), m.role, m.deliveryStatus, m.deliveryMode, optionFlags(m), m.moderationAction ?? 'default', String(m.bounceScore), m.subscribedAt.toISOString()]),
          ['left', 'left', 'left', 'left', 'left', 'left', 'left', 'right'],
        ),
      );
    });
}

/** Re-enable delivery (after bounces, or a member's own stop), clearing the bounce score and reminders. */
function enableCommand(): Command {
  return new Command('enable')
    .description('re-enable delivery to a member (disabled by bounces, by the member or by the owner), resetting the bounce score')
    .argument('<list>', 'posting address', listArgument)
    .argument('<address>', 'the member', addressArgument)
    .option('--json', 'print JSON')
    .action(async (list: string, address: string, options: { json?: boolean }, command: Command) => {
      const member = await withApp(command, (app) => enableMember(app, list, address));
      if (options.json) return printJson(memberJson(member));
      process.stdout.write(`delivery to ${member.address} on ${member.list} enabled, bounce score reset\n`);
    });
}

/** Stop delivery by the owner's decision (by_owner): the member stays, may post, gets nothing until `enable`. */
function disableCommand(): Command {
  return new Command('disable')
    .description('stop delivery to a member (delivery status by_owner); they stay on the list and may still post; `members enable` undoes it')
    .argument('<list>', 'posting address', listArgument)
    .argument('<address>', 'the member', addressArgument)
    .option('--json', 'print JSON')
    .action(async (list: string, address: string, options: { json?: boolean }, command: Command) => {
      const member = await withApp(command, (app) => disableMember(app, list, address));
      if (options.json) return printJson(memberJson(member));
      process.stdout.write(`delivery to ${member.address} on ${member.list} disabled by the owner (\`members enable\` re-enables it)\n`);
    });
}

function moderationArgument(text: string): ModerationAction | null {
  if (text === 'default') return null;
  if (!(MODERATION_ACTIONS as readonly string[]).includes(text)) throw new InvalidArgumentError(`expected one of ${MODERATION_ACTIONS.join(', ')}, or default`);
  return text as ModerationAction;
}

/** The member's own moderation action, used by the posting chain's moderation rule before the list's default. */
function setModerationCommand(): Command {
  return new Command('set-moderation')
    .description("set what happens to one member's posts: accept, hold, reject or discard; default: the list's defaultMemberAction")
    .argument('<list>', 'posting address', listArgument)
    .argument('<address>', 'the member', addressArgument)
    .argument('<action>', `${MODERATION_ACTIONS.join(' | ')} | default`, moderationArgument)
    .addOption(roleOption('the role whose action it is (an owner or moderator posting has one too)', 'member'))
    .option('--json', 'print JSON')
    .action(async (list: string, address: string, action: ModerationAction | null, options: { role: Role; json?: boolean }, command: Command) => {
      const member = await withApp(command, (app) => setModerationAction(app, list, address, action, options.role));
      if (options.json) return printJson(memberJson(member));
      const what = action === null ? "the list's defaultMemberAction" : action;
      process.stdout.write(`posts from ${member.address} (${member.role}) to ${member.list}: ${what}\n`);
    });
}

/** A member's preferences and delivery status, key=value (src/app/member-preferences.ts validates them). */
function setCommand(): Command {
  const keys = PREFERENCES.map((spec) => `  ${spec.key}${spec.aliases.length > 0 ? ` (${spec.aliases.join(', ')})` : ''}: ${spec.description}`);
  return new Command('set')
    .description("set a member's preferences: deliveryMode, deliveryStatus, receiveOwnPostings, receiveListCopy, acknowledgePosts, hideAddress, preferredLanguage")
    .argument('<list>', 'posting address', listArgument)
    .argument('<address>', 'the member', addressArgument)
    .argument('<key=value...>', 'one or more preferences')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nKeys (short words in parentheses):\n${[...new Set(keys)].join('\n')}\n\nBad keys or values exit 2 (SY_MEMBER_PREFERENCE); nothing is changed.`)
    .action(async (list: string, address: string, pairs: string[], options: { json?: boolean }, command: Command) => {
      // Parsed before the store is opened: a typo changes nothing.
      const changes = parsePreferenceAssignments(pairs);
      const member = await withApp(command, (app) => setMemberPreferences(app, list, address, changes));
      if (options.json) return printJson(memberJson(member));
      process.stdout.write(`${member.address} on ${member.list}: ${Object.entries(changes).map(([key, value]) => `${key}=${value ?? 'default'}`).join(' ')}\n`);
    });
}

function importCommand(): Command {
  return new Command('import')
    .description('add every address of a member file (one per line, or CSV: address,name) to a list')
    .argument('<list>', 'posting address', listArgument)
    .argument('<file>', 'the member file; - reads stdin')
    .addOption(roleOption('the role given to every address', 'member'))
    .option('--dry-run', 'read and check the file, count what would be added; change nothing')
    .option('--json', 'print JSON: counts and every invalid line')
    .action(async (list: string, file: string, options: { role: Role; dryRun?: boolean; json?: boolean }, command: Command) => {
      let total = 0;
      const open = async (): Promise<AsyncIterable<string>> => {
        // Only once the list is known to exist: an unknown list fails before the file is read.
        if (process.stderr.isTTY === true && file !== '-') total = await countLines(file);
        const input = file === '-' ? process.stdin : createReadStream(file);
        await new Promise<void>((resolve, reject) => {
          input.once('error', reject);
          if (file === '-') resolve();
          else input.once('open', () => resolve());
        }).catch((error: NodeJS.ErrnoException) => {
          throw new CliError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
        });
        return createInterface({ input, crlfDelay: Infinity });
      };
      const result = await withApp(command, async (app) => {
        const progress = createProgress('importing');
        try {
          return await importMembers(app, list, open, { role: options.role, dryRun: options.dryRun === true, onProgress: (done) => progress.update(done, Math.max(total, done)) });
        } finally {
          progress.end();
        }
      });
      if (options.json) printJson(result);
      else printImport(result);
      if (result.invalid.length > 0) process.exitCode = 1;
    });
}

function exportCommand(): Command {
  return new Command('export')
    .description('write the members of a list as a member file that `members import` reads back')
    .argument('<list>', 'posting address', listArgument)
    .addOption(roleOption('the role to export', 'member'))
    .addOption(new Option('--format <format>', 'csv: address,name; lines: the address alone').choices(['csv', 'lines']).default('csv'))
    .action(async (list: string, options: { role: Role; format: 'csv' | 'lines' }, command: Command) => {
      const lines = await withApp(command, (app) => exportMembers(app, list, { role: options.role, format: options.format }));
      const chunk: string[] = [];
      for (const line of lines) {
        chunk.push(line);
        if (chunk.length === 10_000) await write(`${chunk.splice(0).join('\n')}\n`);
      }
      if (chunk.length > 0) await write(`${chunk.join('\n')}\n`);
    });
}

/** Write respecting back-pressure, so a large export into a slow pipe does not pile up in memory. */
function write(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}

/** Lines in a file, for the progress bar's total: a fast byte scan before the import. */
async function countLines(file: string): Promise<number> {
  let lines = 0;
  let last = 0x0a;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) lines++;
      if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
    }
  } catch {
    return 0; // the import itself reports the unreadable file
  }
  return last === 0x0a ? lines : lines + 1;
}

function printImport(result: ImportResult): void {
  for (const bad of result.invalid) process.stderr.write(`line ${bad.line}: ${printable(bad.reason)} (${bad.code})\n`);
  process.stdout.write(
    `${result.list}: ${result.dryRun ? 'dry run, nothing changed: would add' : 'added'} ${result.added}, already members ${result.existing}, invalid ${result.invalid.length} (${result.lines} lines read)\n`,
  );
}

/** The preferences that differ from the defaults, short: `no-own-posts,ack,hidden,lang=pt-BR`; `-` when none. */
function optionFlags(member: Member): string {
  const flags = [
    member.receiveOwnPostings ? '' : 'no-own-posts',
    member.receiveListCopy ? '' : 'no-list-copy',
    member.acknowledgePosts ? 'ack' : '',
    member.hideAddress ? 'hidden' : '',
    member.preferredLanguage === null ? '' : `lang=${member.preferredLanguage}`,
  ].filter((flag) => flag !== '');
  return flags.length === 0 ? '-' : flags.join(',');
}

function memberJson(member: Member) {
  return {
    list: member.list,
    address: member.address,
    displayName: member.displayName,
    role: member.role,
    deliveryStatus: member.deliveryStatus,
    deliveryMode: member.deliveryMode,
    receiveOwnPostings: member.receiveOwnPostings,
    receiveListCopy: member.receiveListCopy,
    acknowledgePosts: member.acknowledgePosts,
    hideAddress: member.hideAddress,
    preferredLanguage: member.preferredLanguage,
    moderationAction: member.moderationAction,
    bounceScore: member.bounceScore,
    lastBounceAt: member.lastBounceAt?.toISOString() ?? null,
    bounceWarningsSent: member.bounceWarningsSent,
    subscribedAt: member.subscribedAt.toISOString(),
  };
}
