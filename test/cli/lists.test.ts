/**
 * `switchyard lists ...` as operators run it: the built binary against a
 * real store in a temp home. Assumes `tsc` has run (`npm test` does).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIST_SETTING_REGISTRIES } from '../../runners/list-setting-registries.js';
import { setListValue, shownSettings } from '../../src/app/lists.js';
import { addNonmemberPattern } from '../../src/app/nonmembers.js';
import { listArgument } from '../../src/cli/lists-command.js';
import type { Store } from '../../src/store/index.js';
import { withHomeStore } from '../support/home-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { runCli, runCliInProcess, runHomeCliInProcess, type CliResult } from '../support/cli.js';

const AGENT = fileURLToPath(new URL('../../dist/test/fixtures/store-agent.js', import.meta.url));

let home: string;

/**
 * `switchyard --home HOME ARGS` in this process (program.ts run(), what the binary runs: the same exit
 * code, stdout and stderr) without a node start-up (~0.35 s of CPU) each. The built binary itself runs
 * (syReal) for one of each kind of outcome: a success's output, a warning on stderr, exit 1, a usage
 * error (exit 2), a missing home, a busy store.
 */
function sy(...args: string[]): Promise<CliResult> {
  return runHomeCliInProcess(home, args);
}

/** `switchyard --home HOME ARGS`, the built binary in a process of its own. */
function syReal(...args: string[]): Promise<CliResult> {
  return runCli(['--home', home, ...args]);
}

async function json<T>(...args: string[]): Promise<T> {
  const result = await sy(...args, '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/**
 * The home's store in this process, for the state around the command a test is
 * about: each CLI run is a node start-up (~0.3 s of CPU), so setting up and
 * checking through the use cases and the store directly keeps the CLI runs for
 * what the CLI itself does (parsing, output, exit codes); every command form
 * checked this way is run for real elsewhere in this file.
 */
function inStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
  return withHomeStore(home, work);
}

/** A list as `lists create` makes it (store.createList, which the use case calls), for tests about other commands. */
function createList(address: string, options: { description?: string; owner?: string } = {}): Promise<unknown> {
  return inStore((store) =>
    store.createList({ address, ...(options.description === undefined ? {} : { description: options.description }), members: options.owner === undefined ? [] : [{ address: options.owner, role: 'owner' }] }),
  );
}

/** The list's settings as `lists show --json` prints them (shownSettings), and its display name. */
async function shownList(address: string): Promise<{ displayName: string; settings: Record<string, unknown> }> {
  return inStore(async (store) => {
    const list = await store.getList(address);
    return { displayName: list.displayName, settings: shownSettings(list) };
  });
}

async function listAddresses(): Promise<string[]> {
  return inStore(async (store) => (await store.lists()).map((list) => list.address));
}

/**
 * How a use case run in this process refuses: the error whose code, message and
 * exitCode the CLI prints as `switchyard: CODE: MESSAGE` and exits with (one real
 * run per kind of refusal shows that, beside the in-process ones).
 */
async function refusal(work: (store: Store) => Promise<unknown>): Promise<{ code: string; message: string; exitCode: number }> {
  try {
    await inStore(work);
  } catch (error) {
    return error as { code: string; message: string; exitCode: number };
  }
  throw new Error('expected a refusal, but it succeeded');
}

/** `lists set` in this process: the use case the command calls, with the registries it checks against. */
function setValue(address: string, key: string, value: string): Promise<unknown> {
  return inStore((store) => setListValue({ store, settingRegistries: LIST_SETTING_REGISTRIES }, address, key, value));
}

interface ListJson {
  address: string;
  displayName: string;
  description: string;
  members: { member: number; owner: number; moderator: number };
  held: number;
  settings: Record<string, unknown>;
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-cli-lists-'));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('switchyard lists', () => {
  it.each([['lists'], ['lists', 'create'], ['lists', 'remove'], ['lists', 'list'], ['lists', 'show'], ['lists', 'set'], ['lists', 'nonmembers'], ['lists', 'nonmembers', 'add'], ['lists', 'nonmembers', 'remove'], ['lists', 'nonmembers', 'list']])('`%s --help` prints its usage and exits 0', async (...words: string[]) => {
    // In this process (program.ts run(), what the binary runs); the built binary's own help is the next test.
    const result = await runCliInProcess([...words, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: switchyard ${words.join(' ')}`);
  });

  it('the built binary prints the same help as the program run in-process, and exits 0', async () => {
    const real = await runCli(['lists', 'nonmembers', 'add', '--help']);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('Usage: switchyard lists nonmembers add');
    expect(real.stdout).toBe((await runCliInProcess(['lists', 'nonmembers', 'add', '--help'])).stdout);
  });

  it('create makes a list with a lower-cased address, and the database file 0660 in the home', async () => {
    const created = await syReal('lists', 'create', 'Dev@Lists.Example.ORG', '--display-name', 'Developers', '--description', 'the devs', '--owner', 'boss@example.org');
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toBe('created list dev@lists.example.org (Developers), 1 owner(s), 0 moderator(s)\n');
    expect(((await stat(join(home, 'switchyard.db'))).mode & 0o777).toString(8)).toBe('660');
    const shown = await json<ListJson>('lists', 'show', 'dev@lists.example.org');
    expect(shown).toMatchObject({ address: 'dev@lists.example.org', displayName: 'Developers', description: 'the devs', held: 0, members: { member: 0, owner: 1, moderator: 0 } });
    expect(shown.settings).toMatchObject({ subjectPrefix: '[Developers] ', defaultNonmemberAction: 'hold', maxMessageSize: 40, moderatorPassword: null });
  });

  it('create takes --owner and --moderator (repeatable); without an owner it creates the list and warns on stderr, and show keeps warning', async () => {
    const created = await json<ListJson & { warnings: string[] }>('lists', 'create', 'dev@example.org', '--owner', 'a@example.org', '--owner', 'B@Example.ORG', '--moderator', 'm@example.org');
    expect(created.members).toEqual({ member: 0, owner: 2, moderator: 1 });
    expect(created.warnings).toEqual([]);
    const owners = await inStore((store) => store.members('dev@example.org', { role: 'owner' }));
    expect(owners.map((m) => m.address)).toEqual(['a@example.org', 'B@example.org']);

    const bare = await syReal('lists', 'create', 'ops@example.org');
    expect(bare.code).toBe(0);
    expect(bare.stdout).toBe('created list ops@example.org (Ops)\n');
    expect(bare.stderr).toBe(
      'switchyard: warning: ops@example.org has no owner: its notices (held posts, bounces, -owner mail) go to the site owner postmaster@example.org ([site] owner); add one with `switchyard members add ops@example.org ADDRESS --role owner`\n',
    );
    const shown = await sy('lists', 'show', 'ops@example.org');
    expect(shown.stdout).toMatch(/^WARNING\s+ops@example.org has no owner/m);
    const shownJson = JSON.parse((await sy('lists', 'show', 'ops@example.org', '--json')).stdout) as { warnings: string[] };
    expect(shownJson.warnings).toHaveLength(1);
    const listed = await sy('lists', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stderr).toContain('ops@example.org has no owner');
    expect(listed.stderr).not.toContain('dev@example.org has no owner');

    // [site] owner names who gets them.
    await writeFile(join(home, 'switchyard.toml'), '[site]\nowner = "listmaster@example.net"\n');
    expect((await sy('lists', 'show', 'ops@example.org')).stdout).toContain('the site owner listmaster@example.net');

    const invalid = await sy('lists', 'create', 'qa@example.org', '--owner', 'not an address');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('invalid address');
    expect(await listAddresses()).not.toContain('qa@example.org');
  });

  it('nonmembers add, list and remove patterns with --json; a bad or dangerous regular expression is refused with exit 2 and a clear error', async () => {
    await createList('dev@example.org', { owner: 'boss@example.org' });
    const added = await sy('lists', 'nonmembers', 'add', 'dev@example.org', 'accept', 'Partner@Example.COM');
    expect(added).toMatchObject({ code: 0, stderr: '', stdout: 'dev@example.org: added Partner@example.com to acceptTheseNonmembers\n' });
    const regex = await json<{ changed: boolean; patterns: Record<string, string[]> }>('lists', 'nonmembers', 'add', 'dev@example.org', 'discard', '^.*@spam\\.example$');
    expect(regex).toMatchObject({ changed: true, patterns: { list: 'dev@example.org', accept: ['Partner@example.com'], discard: ['^.*@spam\\.example$'] } });
    const table = (await sy('lists', 'nonmembers', 'list', 'dev@example.org')).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^ACTION\s+PATTERN\s+SETTING$/);
    expect(table.slice(1)).toEqual([expect.stringMatching(/^accept\s+Partner@example.com\s+acceptTheseNonmembers$/), expect.stringMatching(/^discard\s+\^\.\*@spam\\\.example\$\s+discardTheseNonmembers$/)]);

    const refused = await syReal('lists', 'nonmembers', 'add', 'dev@example.org', 'hold', '^(a+)+$');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('list setting holdTheseNonmembers');
    expect(refused.stderr).toContain('exponential time');
    // The other bad patterns through the use case the command calls: the same error, so the same exit code and message.
    for (const [pattern, message] of [
      ['^([a-z', 'not a valid regular expression'],
      [`^${'x'.repeat(250)}`, 'at most 200'],
    ] as const) {
      const error = await refusal((store) => addNonmemberPattern({ store }, 'dev@example.org', 'hold', pattern));
      expect(error.exitCode, pattern).toBe(2);
      expect(error.message, pattern).toContain('list setting holdTheseNonmembers');
      expect(error.message, pattern).toContain(message);
    }
    const viaSet = await sy('lists', 'set', 'dev@example.org', 'rejectTheseNonmembers', '["^(x|xx)*$"]');
    expect(viaSet.code).toBe(2);
    expect(viaSet.stderr).toContain('exponential time');
    expect((await sy('lists', 'nonmembers', 'add', 'dev@example.org', 'quarantine', 'a@example.org')).code).toBe(2);

    const removed = await json<{ changed: boolean; patterns: Record<string, string[]> }>('lists', 'nonmembers', 'remove', 'dev@example.org', 'accept', 'partner@example.com');
    expect(removed).toMatchObject({ changed: true, patterns: { accept: [], hold: [], reject: [], discard: ['^.*@spam\\.example$'] } });
    const nothing = await sy('lists', 'nonmembers', 'remove', 'dev@example.org', 'accept', 'partner@example.com');
    expect(nothing.code).toBe(1);
    expect(nothing.stdout).toContain('nothing removed');
  });

  it('create refuses an existing list (exit 1) and an invalid address (exit 2), naming the problem', async () => {
    await createList('dev@example.org');
    const again = await syReal('lists', 'create', 'DEV@example.org');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('list dev@example.org already exists');
    const invalid = await syReal('lists', 'create', 'dev');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('invalid list address');
    // The other bad addresses through the command's argument parser: commander turns its InvalidArgumentError into exit 2, as above.
    for (const bad of ['../etc@example.org', 'dev-request@example.org', 'de v@example.org', 'x@lists.example.org/../../tmp']) {
      expect(() => listArgument(bad), bad).toThrow(InvalidArgumentError);
      expect(() => listArgument(bad), bad).toThrow('invalid list address');
    }
  });

  it('create refuses an address with a path after the domain instead of creating the list without it', async () => {
    const result = await sy('lists', 'create', 'x@lists.example.org/../../tmp');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('not a valid host name');
    expect(await listAddresses()).toEqual([]);
  });

  it('list shows every list as a table, or JSON with member counts', async () => {
    expect((await sy('lists', 'list')).stdout).toContain('no lists');
    await createList('b@example.org', { description: 'Bee' });
    await createList('a@example.org');
    await inStore((store) => store.addMember('b@example.org', { address: 'x@example.org' }));
    const table = await sy('lists', 'list');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^LIST\s+DISPLAY NAME\s+MEMBERS\s+OWNERS\s+MODERATORS\s+HELD\s+DESCRIPTION$/);
    expect(lines[1]).toMatch(/^a@example\.org\s+A\s+0\s+0\s+0\s+0$/);
    expect(lines[2]).toMatch(/^b@example\.org\s+B\s+1\s+0\s+0\s+0\s+Bee$/);
    const { lists } = await json<{ lists: ListJson[] }>('lists', 'list');
    expect(lists.map((l) => [l.address, l.members.member])).toEqual([
      ['a@example.org', 0],
      ['b@example.org', 1],
    ]);
  });

  it('show prints the facts and every setting with its value and description', async () => {
    await createList('dev@example.org');
    const result = await sy('lists', 'show', 'dev@example.org');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^list\s+dev@example\.org$/m);
    expect(result.stdout).toMatch(/^defaultNonmemberAction\s+"hold"\s+what happens to posts from addresses that are not members/m);
    expect(result.stdout).toMatch(/^maxMessageSize\s+40\s+/m);
  });

  it('set validates the value against the settings schema and stores it; errors name the key and exit 2', async () => {
    await createList('dev@example.org');
    expect((await sy('lists', 'set', 'dev@example.org', 'defaultNonmemberAction', 'reject')).stdout).toBe('dev@example.org: defaultNonmemberAction = "reject"\n');
    expect((await sy('lists', 'set', 'dev@example.org', 'emergency', 'yes')).code).toBe(0);
    // The same use case in this process: the text forms of an array and of a list field.
    await setValue('dev@example.org', 'suspiciousHeaders', '["^X-Spam-Flag: YES"]');
    await setValue('dev@example.org', 'displayName', 'Developers');
    const secret = await sy('lists', 'set', 'dev@example.org', 'moderatorPassword', 'hunter2');
    expect(secret.stdout).not.toContain('hunter2');
    const shown = await json<ListJson>('lists', 'show', 'dev@example.org');
    expect(shown.displayName).toBe('Developers');
    expect(shown.settings).toMatchObject({ defaultNonmemberAction: 'reject', emergency: true, suspiciousHeaders: ['^X-Spam-Flag: YES'], moderatorPassword: '(set)' });

    const unknownKey = await sy('lists', 'set', 'dev@example.org', 'nosuchkey', '1');
    expect(unknownKey.code).toBe(2);
    expect(unknownKey.stderr).toContain('list setting nosuchkey: no such setting; the settings are emergency');
    // The other bad values through the use case the command calls: the same error, so the same exit code and message.
    for (const [key, value, message] of [
      ['maxMessageSize', 'lots', 'list setting maxMessageSize: expected a number'],
      ['defaultMemberAction', 'maybe', 'list setting defaultMemberAction: expected one of accept, hold, reject, discard'],
      ['suspiciousHeaders', '["(unclosed"]', 'not a valid regular expression'],
    ] as const) {
      const error = await refusal((store) => setListValue({ store, settingRegistries: LIST_SETTING_REGISTRIES }, 'dev@example.org', key, value));
      expect(error.exitCode, key).toBe(2);
      expect(error.message, key).toContain(message);
    }
    expect((await shownList('dev@example.org')).settings.maxMessageSize).toBe(40);
  });

  it('settings naming handlers or chains are checked against their registry: an unknown name exits 1 listing the valid names, nothing is stored', async () => {
    await createList('dev@example.org');
    const before = (await shownList('dev@example.org')).settings;
    const pipeline = await sy('lists', 'set', 'dev@example.org', 'postingPipeline', '["cleanse","bogus","to-outgoing"]');
    expect(pipeline.code).toBe(1);
    expect(pipeline.stderr).toContain('unknown pipeline handler "bogus" (known: cleanse, subject-prefix, list-headers, reply-to, dmarc, decorate, to-archive, to-outgoing, message-id, line-length)');
    // The chain registry through the use case the command calls: the same error kind, so the same exit code.
    const chain = await refusal((store) => setListValue({ store, settingRegistries: LIST_SETTING_REGISTRIES }, 'dev@example.org', 'postingChain', 'bogus'));
    expect(chain.exitCode).toBe(1);
    expect(chain.message).toContain('unknown chain "bogus" (known: default, approved)');
    const after = (await shownList('dev@example.org')).settings;
    expect(after.postingPipeline).toEqual(before.postingPipeline);
    expect(after.postingChain).toBe('default');

    await setValue('dev@example.org', 'postingPipeline', '["cleanse","to-outgoing"]');
    expect((await sy('lists', 'set', 'dev@example.org', 'postingChain', 'approved')).stdout).toBe('dev@example.org: postingChain = "approved"\n');
    expect((await shownList('dev@example.org')).settings).toMatchObject({ postingPipeline: ['cleanse', 'to-outgoing'], postingChain: 'approved' });
  });

  it('values that go into mail headers are refused with a line break or another control character, and a replyToAddress must be one address (exit 1, SY_HEADER_SETTING); nothing is stored', async () => {
    await createList('dev@example.org');
    const cr = await sy('lists', 'set', 'dev@example.org', 'subjectPrefix', '[X]\r\nBcc: victim@evil.example\r\nX-Inj: 1 ');
    expect(cr.code).toBe(1);
    expect(cr.stderr).toContain('list setting subjectPrefix: contains a carriage return (CR)');
    expect(cr.stderr).toContain('switchyard: SY_HEADER_SETTING: list setting');
    // The other values through the use case the command calls: the same error, so the same exit code and `switchyard: CODE: message`.
    for (const [key, value, message] of [
      ['subjectPrefix', '[X]\nBcc: victim@evil.example', 'list setting subjectPrefix: contains a line feed (LF)'],
      ['replyToAddress', 'a@b.example\r\nBcc: v@evil.example', 'list setting replyToAddress: contains a carriage return (CR)'],
      ['replyToAddress', 'a@b.example, v@evil.example', 'list setting replyToAddress: not exactly one valid address'],
      ['displayName', 'Dev\r\nBcc: victim@evil.example', 'list setting displayName: contains a carriage return (CR)'],
      ['listHelpUrl', 'https://x.example/\u0001', 'list setting listHelpUrl: contains the control character U+0001'],
    ] as const) {
      const error = await refusal((store) => setListValue({ store, settingRegistries: LIST_SETTING_REGISTRIES }, 'dev@example.org', key, value));
      expect(error.exitCode, `${key} ${JSON.stringify(value)}`).toBe(1);
      expect(error.message, key).toContain(message);
      expect(error.code, key).toBe('SY_HEADER_SETTING');
      expect(error.message, key).toMatch(/^list setting/);
    }
    const shown = await shownList('dev@example.org');
    expect(shown.displayName).toBe('Dev');
    expect(shown.settings).toMatchObject({ subjectPrefix: '[Dev] ', replyToAddress: '', listHelpUrl: '' });
    await setValue('dev@example.org', 'replyToAddress', 'Discussion <talk@example.org>');

    const created = await sy('lists', 'create', 'evil@example.org', '--display-name', 'Evil\r\nBcc: victim@evil.example');
    expect(created.code).toBe(1);
    expect(created.stderr).toContain('list setting displayName: contains a carriage return (CR)');
    expect(await listAddresses()).not.toContain('evil@example.org');
  });

  it('remove refuses without --yes (exit 2, saying what would go), and with it removes members and held messages', async () => {
    await createList('dev@example.org');
    await inStore((store) => store.addMember('dev@example.org', { address: 'x@example.org' }));
    const store = new SqliteStore({ file: join(home, 'switchyard.db') });
    await store.holdMessage({ list: 'dev@example.org', sender: 'y@example.org', subject: 's', reason: 'r', raw: Buffer.from('m') });
    await store.close();

    const refused = await sy('lists', 'remove', 'dev@example.org');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('deletes its 1 member record(s) and 1 held message(s) for good; add --yes');
    expect(await listAddresses()).toHaveLength(1);

    expect(await json('lists', 'remove', 'dev@example.org', '--yes')).toEqual({ list: 'dev@example.org', members: 1, held: 1 });
    expect(await listAddresses()).toHaveLength(0);
  });

  it('an unknown list exits 1 with a clear message for show, set and remove', async () => {
    for (const [index, args] of [['show', 'nope@example.org'], ['set', 'nope@example.org', 'emergency', 'true'], ['remove', 'nope@example.org', '--yes']].entries()) {
      // The first as the built binary, the others in this process.
      const result = await (index === 0 ? syReal : sy)('lists', ...args);
      expect(result.code, args[0]).toBe(1);
      expect(result.stderr, args[0]).toBe(`switchyard: SY_LIST_UNKNOWN: no list nope@example.org (\`switchyard lists list\` shows them); looked in the home ${home}\n`);
    }
  });

  it('a home directory that does not exist is an error (exit 1), not silently created', async () => {
    const missing = join(home, 'missing');
    const result = await runCli(['--home', missing, 'lists', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`switchyard: SY_HOME_MISSING: no switchyard home at ${missing}: pass --home or set SWITCHYARD_HOME\n`);
  });

  it('a store locked by another process past store.busyTimeout exits 1 saying it is busy', async () => {
    await createList('dev@example.org');
    await writeFile(join(home, 'switchyard.toml'), '[store]\nbusyTimeout = "200ms"\n');
    const holder = spawn(process.execPath, [AGENT, 'hold', join(home, 'switchyard.db')], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: holder.stdout });
    const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
    try {
      expect(await next()).toBe('locked');
      const result = await syReal('lists', 'create', 'other@example.org');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('is busy (locked by another process); try again later');
      // Reading is not blocked by the writer.
      expect((await sy('lists', 'list')).code).toBe(0);
      holder.stdin.write('release\n');
      expect(await next()).toBe('released');
    } finally {
      holder.kill('SIGKILL');
    }
    expect((await sy('lists', 'create', 'other@example.org')).code).toBe(0);
  });
});
