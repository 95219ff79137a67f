/**
 * `switchyard members ...` as operators run it: the built binary against a
 * real store in a temp home, member files on disk. Assumes `tsc` has run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, runCli, runCliInProcess, runHomeCliInProcess, type CliResult } from '../support/cli.js';
import { listMembers } from '../../src/app/membership.js';
import { parsePreferenceAssignments } from '../../src/app/member-preferences.js';
import { openStore, type Member, type NewMember, type Role, type Store } from '../../src/store/index.js';
import { withHomeStore } from '../support/home-store.js';

const LIST = 'dev@example.org';
/** util-linux script(1) runs a command on a pseudo-terminal: how the progress bar is seen. */
const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
let home: string;

/**
 * `switchyard --home HOME ARGS` in this process (program.ts run(), what the binary runs: the same exit
 * code, stdout and stderr) without a node start-up (~0.35 s of CPU) each. The built binary itself runs
 * (syReal) for one of each kind of outcome: a success's output, exit 1, a usage error (exit 2), a --json
 * error, stdin, the progress bar on a terminal.
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

/** Run the binary with `input` on stdin. */
function withStdin(args: readonly string[], input: string): Promise<CliResult> {
  return runCli(['--home', home, ...args], {}, input);
}

interface MemberJson {
  address: string;
  displayName: string;
  role: string;
  deliveryStatus: string;
  moderationAction: string | null;
  bounceScore: number;
  subscribedAt: string;
}

interface ImportJson {
  list: string;
  lines: number;
  added: number;
  existing: number;
  invalid: { line: number; text: string; reason: string }[];
}

/**
 * The home's store in this process, for the state around the command a test is
 * about: each CLI run is a node start-up (~0.3 s of CPU), so setting up and
 * checking through the store and the use cases keeps the CLI runs for what the
 * CLI itself does (parsing, output, exit codes).
 */
function inStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
  return withHomeStore(home, work);
}

/** A member added as `members add` adds it (store.addMember, which the use case calls), for tests about other commands. */
function addMember(member: NewMember, list = LIST): Promise<Member> {
  return inStore((store) => store.addMember(list, member));
}

/**
 * The list's members (one role, or all) as `members list --json` lists them: the use case it calls
 * (listMembers), in this process. The command itself prints them in 'add normalises ...' below.
 */
async function members(role?: Role, list = LIST): Promise<Member[]> {
  return inStore((store) => listMembers({ store }, list, role === undefined ? {} : { role }));
}

/** `members list --json` run for real. */
async function membersViaCli(role?: string): Promise<MemberJson[]> {
  return (await json<{ members: MemberJson[] }>('members', 'list', LIST, ...(role ? ['--role', role] : []))).members;
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-cli-members-'));
  // The list straight into the store: these tests are about the members commands (`lists create` has its
  // own in lists.test.ts), and a CLI start-up per test was a sixth of this file's time.
  const store = openStore(home);
  try {
    await store.createList({ address: LIST });
  } finally {
    await store.close();
  }
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('switchyard members', () => {
  it.each([['members'], ['members', 'add'], ['members', 'remove'], ['members', 'list'], ['members', 'import'], ['members', 'export'], ['members', 'enable'], ['members', 'disable'], ['members', 'set-moderation'], ['members', 'set']])(
    '`%s --help` prints its usage and exits 0',
    async (...words: string[]) => {
      // In this process (program.ts run(), what the binary runs); the built binary's own help is the next test.
      const result = await runCliInProcess([...words, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: switchyard ${words.join(' ')}`);
    },
  );

  it('the built binary prints the same help as the program run in-process, and exits 0', async () => {
    const real = await runCli(['members', 'import', '--help']);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('Usage: switchyard members import');
    expect(real.stdout).toBe((await runCliInProcess(['members', 'import', '--help'])).stdout);
  });

  it('add normalises the address (IDN domain to xn--, domain lower-cased, local part kept) and records name and role', async () => {
    const added = await syReal('members', 'add', LIST, 'Anne@Bücher.Example', '--name', 'Anne Example');
    expect(added).toMatchObject({ code: 0, stderr: '', stdout: `added Anne@xn--bcher-kva.example to ${LIST} as member\n` });
    const owner = await json<MemberJson>('members', 'add', LIST, 'boss@example.org', '--role', 'owner');
    expect(owner).toMatchObject({ address: 'boss@example.org', role: 'owner', deliveryStatus: 'enabled', bounceScore: 0 });
    expect((await membersViaCli()).map((m) => [m.address, m.displayName, m.role])).toEqual([
      ['Anne@xn--bcher-kva.example', 'Anne Example', 'member'],
      ['boss@example.org', '', 'owner'],
    ]);
  });

  it('add refuses a duplicate (exit 1), an invalid address or role (exit 2), and an unknown list (exit 1)', async () => {
    await addMember({ address: 'anne@example.org' });
    const duplicate = await syReal('members', 'add', LIST, 'ANNE@Example.org');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('is already a member of dev@example.org');
    const invalid = await sy('members', 'add', LIST, 'anne at example.org');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('invalid address "anne at example.org"');
    const role = await syReal('members', 'add', LIST, 'x@example.org', '--role', 'king');
    expect(role.code).toBe(2);
    expect(role.stderr).toContain("Allowed choices are member, owner, moderator");
    const injected = await sy('members', 'add', LIST, 'eve@example.org', '--name', 'Eve\r\nBcc: all@example.org');
    expect(injected.code).toBe(2);
    expect(injected.stderr).toContain('SY_MEMBER_NAME_INVALID');
    expect(injected.stderr).toContain('carriage return');
    const unknown = await sy('members', 'add', 'nope@example.org', 'x@example.org');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no list nope@example.org');
  });

  it('add refuses an address with a path after the domain instead of storing it cut short', async () => {
    const result = await sy('members', 'add', LIST, 'victim@example.org/../../etc');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid address "victim@example.org/../../etc": domain is not a valid host name');
    expect(JSON.stringify(await members())).not.toContain('victim');
  });

  it('disable stops delivery (by_owner) and enable restores it, with --json; a non-member exits 1', async () => {
    await addMember({ address: 'a@example.org' });
    const disabled = await sy('members', 'disable', LIST, 'a@example.org');
    expect(disabled).toMatchObject({ code: 0, stderr: '' });
    expect(disabled.stdout).toContain('disabled by the owner');
    expect((await members())[0]!.deliveryStatus).toBe('by_owner');
    expect((await json<MemberJson>('members', 'enable', LIST, 'a@example.org')).deliveryStatus).toBe('enabled');
    expect((await json<MemberJson>('members', 'disable', LIST, 'a@example.org')).deliveryStatus).toBe('by_owner');
    const stranger = await sy('members', 'disable', LIST, 'nobody@example.org');
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain('nobody@example.org is not a member of dev@example.org');
  });

  it("set-moderation sets a member's own action (default clears it), shown in list; a bad action exits 2", async () => {
    await addMember({ address: 'a@example.org' });
    const set = await sy('members', 'set-moderation', LIST, 'a@example.org', 'hold');
    expect(set).toMatchObject({ code: 0, stderr: '', stdout: `posts from a@example.org (member) to ${LIST}: hold\n` });
    expect((await members())[0]!.moderationAction).toBe('hold');
    expect((await sy('members', 'list', LIST)).stdout).toMatch(/^a@example\.org\s+member\s+enabled\s+regular\s+-\s+hold\s/m);
    expect((await json<MemberJson>('members', 'set-moderation', LIST, 'a@example.org', 'default')).moderationAction).toBeNull();
    const bad = await sy('members', 'set-moderation', LIST, 'a@example.org', 'maybe');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected one of accept, hold, reject, discard, or default');
  });

  it('remove takes one role away; a non-member exits 1', async () => {
    await addMember({ address: 'a@example.org' });
    await addMember({ address: 'a@example.org', role: 'moderator' });
    expect((await sy('members', 'remove', LIST, 'A@example.org')).stdout).toBe(`removed a@example.org (member) from ${LIST}\n`);
    expect((await members()).map((m) => m.role)).toEqual(['moderator']);
    const again = await sy('members', 'remove', LIST, 'a@example.org');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('a@example.org is not a member of dev@example.org');
  });

  it('list prints a table, filters by role, and says so when there is nobody', async () => {
    expect((await sy('members', 'list', LIST)).stdout).toBe(`${LIST} has no members\n`);
    await addMember({ address: 'a@example.org', displayName: 'A' });
    await addMember({ address: 'o@example.org', role: 'owner' });
    const table = (await sy('members', 'list', LIST)).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^ADDRESS\s+NAME\s+ROLE\s+DELIVERY\s+MODE\s+OPTIONS\s+MODERATION\s+BOUNCE SCORE\s+SUBSCRIBED$/);
    expect(table[1]).toMatch(/^a@example\.org\s+A\s+member\s+enabled\s+regular\s+-\s+default\s+0\s+\d{4}-/);
    expect(table).toHaveLength(3);
    expect((await members('owner')).map((m) => m.address)).toEqual(['o@example.org']);
  });

  it('import reads a header naming delivery_mode and delivery_status; --dry-run counts and changes nothing; a header with an unknown column changes nothing and exits 2', async () => {
    const file = join(home, 'modes.csv');
    await writeFile(file, 'email,delivery_mode,delivery_status\na@example.org,plain,\nb@example.org,,off\nc@example.org,weekly,\n');
    const dry = await sy('members', 'import', LIST, file, '--dry-run');
    expect(dry.stdout).toBe(`${LIST}: dry run, nothing changed: would add 2, already members 0, invalid 1 (4 lines read)\n`);
    expect(dry.stderr).toContain('line 4: delivery_mode "weekly" is not regular');
    expect(dry.stderr).toContain('(SY_MEMBER_IMPORT_FIELD)');
    expect(await members()).toEqual([]);
    expect((await sy('members', 'import', LIST, file)).code).toBe(1);
    const listed = await members();
    expect(listed.map((m) => [m.address, m.deliveryMode, m.deliveryStatus])).toEqual([
      ['a@example.org', 'plain_digests', 'enabled'],
      ['b@example.org', 'regular', 'by_user'],
    ]);
    await writeFile(file, 'address,shoe_size\nd@example.org,44\n');
    const refused = await sy('members', 'import', LIST, file);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('SY_MEMBER_IMPORT_HEADER');
    expect((await members()).map((m) => m.address)).not.toContain('d@example.org');
  });

  it('import adds valid lines, reports invalid ones by line number without stopping, and exits 1 when some were invalid', async () => {
    const file = join(home, 'members.csv');
    await writeFile(
      file,
      ['address,name', 'a@example.org,Anne', 'not an address', '"b@example.org","Example, Bob"', '', 'C Person <c@Example.ORG>', 'a@example.org', 'd@exa mple.org', '# done'].join('\r\n') + '\r\n',
    );
    const result = await sy('members', 'import', LIST, file);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`${LIST}: added 3, already members 1, invalid 2 (9 lines read)\n`);
    expect(result.stderr).toBe('line 3: "not an address": no @ (SY_ADDRESS_INVALID)\nline 8: "d@exa mple.org": space in domain (SY_ADDRESS_INVALID)\n');
    // Not a TTY: no progress bar frames.
    expect(result.stderr).not.toContain('\r');
    expect((await members()).map((m) => [m.address, m.displayName])).toEqual([
      ['a@example.org', 'Anne'],
      ['b@example.org', 'Example, Bob'],
      ['c@example.org', 'C Person'],
    ]);

    const again = await sy('members', 'import', LIST, file, '--json');
    const report = JSON.parse(again.stdout) as ImportJson;
    expect(report).toMatchObject({ list: LIST, lines: 9, added: 0, existing: 4 });
    expect(report.invalid).toEqual([
      { line: 3, text: 'not an address', address: 'not an address', code: 'SY_ADDRESS_INVALID', reason: '"not an address": no @' },
      { line: 8, text: 'd@exa mple.org', address: 'd@exa mple.org', code: 'SY_ADDRESS_INVALID', reason: '"d@exa mple.org": space in domain' },
    ]);
  });

  it.skipIf(!HAS_SCRIPT)('import draws a progress bar on stderr when it is a terminal, and clears it before the summary', async () => {
    const file = join(home, 'many.txt');
    await writeFile(file, Array.from({ length: 12_000 }, (_, i) => `m${i}@example.org`).join('\n'));
    const quote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, BIN, '--home', home, 'members', 'import', LIST, file].map(quote).join(' ');
    const result = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/\rimporting \[#+\.*\] \d+\/12000 \d+%/);
    expect(result.stdout).toContain('importing [##############################] 12000/12000 100%');
    expect(result.stdout).toContain(`\r\x1b[K${LIST}: added 12000, already members 0, invalid 0 (12000 lines read)`);
  });

  it('import of a clean file exits 0; --role gives every address that role; - reads stdin', async () => {
    const file = join(home, 'owners.txt');
    await writeFile(file, 'o1@example.org\no2@example.org\n');
    const result = await sy('members', 'import', LIST, file, '--role', 'owner');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect((await members('owner')).map((m) => m.address)).toEqual(['o1@example.org', 'o2@example.org']);
    const piped = await withStdin(['members', 'import', LIST, '-'], 's1@example.org\ns2@example.org');
    expect(piped).toMatchObject({ code: 0, stdout: `${LIST}: added 2, already members 0, invalid 0 (2 lines read)\n` });
  });

  it('import of an unknown list or a missing file exits 1 with a clear message', async () => {
    const file = join(home, 'm.txt');
    await writeFile(file, 'a@example.org\n');
    const unknown = await sy('members', 'import', 'nope@example.org', file);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no list nope@example.org');
    const missing = await sy('members', 'import', LIST, join(home, 'absent.txt'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('absent.txt: no such file');
  });

  it('export writes a file that import reads back to the same members (csv and lines)', async () => {
    const people = ['plain@example.org', 'Comma Name <comma@example.org>', '"quoted ""name"" here" <q@example.org>', 'Ünïcode Näme <u@bücher.example>', '"odd,local"@example.org'];
    await withStdin(['members', 'import', LIST, '-'], `${people.join('\n')}\n`);
    await addMember({ address: 'owner@example.org', role: 'owner' });
    const before = (await members('member')).map((m) => [m.address, m.displayName]);
    expect(before).toHaveLength(5);

    const csv = await sy('members', 'export', LIST);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toContain('comma@example.org,Comma Name\n');
    expect(csv.stdout).not.toContain('owner@example.org');
    const lines = await sy('members', 'export', LIST, '--format', 'lines');
    expect(lines.stdout.trimEnd().split('\n')).toEqual(before.map(([address]) => address));

    await inStore(async (store) => {
      await store.createList({ address: 'copy@example.org' });
      await store.createList({ address: 'bare@example.org' });
    });
    const csvFile = join(home, 'export.csv');
    await writeFile(csvFile, csv.stdout);
    expect((await sy('members', 'import', 'copy@example.org', csvFile)).code).toBe(0);
    expect((await withStdin(['members', 'import', 'bare@example.org', '-'], lines.stdout)).code).toBe(0);
    const copy = (await members(undefined, 'copy@example.org')).map((m) => [m.address, m.displayName]);
    expect(copy).toEqual(before);
    const bare = (await members(undefined, 'bare@example.org')).map((m) => m.address);
    expect(bare).toEqual(before.map(([address]) => address));
    expect((await sy('members', 'export', LIST, '--role', 'owner')).stdout).toBe('owner@example.org\n');
    expect((await sy('members', 'export', LIST, '--format', 'xml')).code).toBe(2);
  });

  // How long it takes is a benchmark's business (`npm run bench -- members-import`, target under 10 s), not a test's.
  // 25 000 crosses the import's 5 000-member batches (src/store/member-import.ts) and
  // export's 10 000-line writes several times; the bench imports 100 000.
  it('imports 25 000 members, and exports them all', async () => {
    const MANY = 25_000;
    const file = join(home, 'big.csv');
    const rows: string[] = [];
    for (let i = 0; i < MANY; i++) rows.push(i % 2 === 0 ? `user${i}@example${i % 97}.org,"Member, ${i}"` : `User${i}@Example${i % 97}.ORG`);
    await writeFile(file, `${rows.join('\n')}\n`);
    const result = await sy('members', 'import', LIST, file, '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ added: MANY, existing: 0, invalid: [] });
    const exported = await sy('members', 'export', LIST, '--format', 'lines');
    expect(exported.stdout.split('\n').filter(Boolean)).toHaveLength(MANY);
    expect(await readFile(join(home, 'switchyard.db')).then((b) => b.length)).toBeGreaterThan(0);
  });

  it('set changes preferences (names and short words), list shows them, bad keys and values exit 2 with SY_MEMBER_PREFERENCE and change nothing', async () => {
    await addMember({ address: 'anne@example.org' });
    const set = await sy('members', 'set', LIST, 'anne@example.org', 'deliveryMode=plain', 'receiveOwnPostings=no', 'hide=on', 'preferredLanguage=pt-BR');
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toBe(`anne@example.org on ${LIST}: deliveryMode=plain_digests receiveOwnPostings=false hideAddress=true preferredLanguage=pt-BR\n`);
    const [anne] = await members();
    expect(anne).toMatchObject({ deliveryMode: 'plain_digests', receiveOwnPostings: false, receiveListCopy: true, acknowledgePosts: false, hideAddress: true, preferredLanguage: 'pt-BR', deliveryStatus: 'enabled' });
    const table = await sy('members', 'list', LIST);
    expect(table.stdout).toMatch(/anne@example\.org .*enabled +plain_digests +no-own-posts,hidden,lang=pt-BR/);
    const asJson = await json<MemberJson & { acknowledgePosts: boolean; deliveryStatus: string }>('members', 'set', LIST, 'anne@example.org', 'ack=yes', 'deliveryStatus=disabled_by_owner');
    expect(asJson).toMatchObject({ acknowledgePosts: true, deliveryStatus: 'by_owner' });

    const refused = await sy('members', 'set', LIST, 'anne@example.org', 'hideAddress=false', 'colour=blue');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('SY_MEMBER_PREFERENCE');
    // The other bad words through the parser the command runs before it opens the store: the same error, so the same exit code.
    for (const bad of [['deliveryMode=weekly'], ['receiveListCopy=perhaps'], ['preferredLanguage=x y'], ['novalue']]) {
      expect(() => parsePreferenceAssignments(['hideAddress=false', ...bad]), bad[0]).toThrow(expect.objectContaining({ code: 'SY_MEMBER_PREFERENCE', exitCode: 2 }));
    }
    const refusedJson = await syReal('members', 'set', LIST, 'anne@example.org', 'colour=blue', '--json');
    expect(refusedJson.code).toBe(2);
    expect(JSON.parse(refusedJson.stdout || refusedJson.stderr)).toMatchObject({ error: { code: 'SY_MEMBER_PREFERENCE' } });
    expect((await members())[0]).toMatchObject({ hideAddress: true, acknowledgePosts: true });
    const unknown = await sy('members', 'set', LIST, 'nobody@example.org', 'ack=yes');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('SY_MEMBER_UNKNOWN');
  });
});
