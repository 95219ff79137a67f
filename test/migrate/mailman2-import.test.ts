/**
 * `switchyard import mailman2`: a Mailman 2.1 list from `config_list -o` and
 * `list_members` output (fixtures written from the 2.1 documentation and
 * source, test/fixtures/mailman2/), or from its config.pck through the safe
 * pickle reader; hostile files (a Python expression, a pickle that would
 * run a command) are refused and run nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, removeHome, ROOT, runCli, testConfig } from '../master/harness.js';
import { runHomeCliInProcess } from '../support/cli.js';
import { openStore } from '../../src/store/index.js';
import { parseConfigList } from '../../src/migrate/python-literal.js';
import { readPickle } from '../../src/migrate/safe-pickle.js';

const FIXTURES = join(ROOT, 'test/fixtures/mailman2');
const PWNED = '/tmp/switchyard-pwned';
let home: string;

beforeAll(async () => {
  home = await makeHome(testConfig(''));
});

afterAll(async () => {
  if (home) await removeHome(home);
});

describe('the Python literal parser', () => {
  it('reads strings of every kind, numbers, booleans, None, lists, tuples and dicts', () => {
    const parsed = parseConfigList(
      [
        "a = 'it''s'  # adjacent",
        'b = u"caf\\xe9 \\u2014 \\U0001F600 \\101\\n"',
        "c = r'^\\d+$'",
        'd = """multi',
        "line 'quoted'\"\"\"",
        'e = [1, -2, 3.5, 0x1F, 010, 7L, True, False, None,]',
        "f = {'k': (1, 'two'), 2: []}",
        "g = b'bytes'",
        "h = ('single',)",
      ].join('\n'),
    );
    expect(parsed).toEqual({ a: 'its', b: 'café — 😀 A\n', c: '^\\d+$', d: "multi\nline 'quoted'", e: [1, -2, 3.5, 31, 8, 7, true, false, null], f: { k: [1, 'two'], '2': [] }, g: 'bytes', h: ['single'] });
  });

  it.each([
    ["x = __import__('os').system('id')", /name or an expression/],
    ['x = open("/etc/passwd")', /name or an expression/],
    ["x = 'a' + 'b'", /expression/],
    ['x = 1 * 9', /expression/],
    ["x = ['a'].pop()", /expression/],
    ['import os', /not followed by =/],
    ['x == 1', /not followed by =/],
    ["x = 'unterminated", /not closed/],
    ['x = lambda: 1', /name or an expression/],
  ])('refuses %s', (text, message) => {
    expect(() => parseConfigList(text)).toThrow(expect.objectContaining({ code: 'SY_IMPORT_UNSAFE', message: expect.stringMatching(message) }));
  });
});

describe('the safe pickle reader', () => {
  it('reads Python 2 protocol 1 strings and dicts (as Mailman 2.1 wrote config.pck)', () => {
    // {'real_name': 'Dev', 'n': 5} with SHORT_BINSTRING keys and values, protocol 1.
    const data = Buffer.from('}q\x00(U\x09real_nameq\x01U\x03Devq\x02U\x01nK\x05u.', 'latin1');
    expect(readPickle(data)).toEqual(new Map<unknown, unknown>([['real_name', 'Dev'], ['n', 5]]));
  });

  it.each([
    ['GLOBAL + REDUCE (os.system)', Buffer.from("cos\nsystem\n(S'id'\ntR.", 'latin1'), /os\.system \(GLOBAL\)/],
    ['STACK_GLOBAL', Buffer.from('\x80\x04\x8c\x02os\x8c\x06system\x93.', 'latin1'), /os\.system/],
    ['INST', Buffer.from("(S'id'\nios\nsystem\n.", 'latin1'), /INST/],
    ['BUILD', Buffer.from('}b.', 'latin1'), /BUILD/],
    ['OBJ', Buffer.from('(o.', 'latin1'), /OBJ/],
    ['NEWOBJ', Buffer.from(')\x81.', 'latin1'), /NEWOBJ/],
    ['PERSID', Buffer.from('Pid\n.', 'latin1'), /PERSID/],
    ['a truncated pickle', Buffer.from('\x80\x02}q', 'latin1'), /ends|STOP/],
  ])('refuses %s', (_name, data, message) => {
    expect(() => readPickle(data)).toThrow(expect.objectContaining({ code: 'SY_IMPORT_UNSAFE', message: expect.stringMatching(message) }));
  });
});

describe('switchyard import mailman2', () => {
  it('imports config_list -o and list_members output: settings, owners, moderators, members with digest, nomail and moderation; the rest reported', async () => {
    const result = await runCli(['--home', home, 'import', 'mailman2', '--list-dir', join(FIXTURES, 'dev'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { lists: { list: string; unmapped: { setting: string; value: string; note: string }[] }[] };
    const unmapped = report.lists[0]!.unmapped;
    expect(unmapped.map((u) => u.setting)).toEqual(expect.arrayContaining(['info', 'anonymous_list', 'topics', 'umbrella_list', 'accept_these_nonmembers', 'msg_footer']));
    // archive_private = 1: members only, as switchyard's web archive with archivePolicy private.
    expect(unmapped.map((u) => u.setting)).not.toContain('archive_private');
    expect(unmapped.find((u) => u.setting === 'msg_footer')!.note).toContain('%(web_page_url)s');
    const store = openStore(home);
    try {
      const list = await store.getList('dev@lists.example.org');
      expect(list.displayName).toBe('Dev');
      expect(list.description).toBe('Développeurs — the dev list');
      expect(list.settings).toMatchObject({
        subjectPrefix: '[Dev] ',
        replyGoesToList: 'point_to_list',
        maxMessageSize: 100,
        dmarcMitigateAction: 'munge_from',
        subscriptionPolicy: 'confirm_then_moderate',
        unsubscriptionPolicy: 'confirm',
        memberRosterVisibility: 'members',
        defaultMemberAction: 'accept',
        defaultNonmemberAction: 'reject',
        acceptTheseNonmembers: ['partner@example.com'],
        discardTheseNonmembers: ['^.*@junk\\.example$'],
        bannedAddresses: ['banned@example.net', '^.*@spam\\.example$'],
        maxDaysToHold: 21,
        digestSizeThreshold: 40,
        digestVolumeFrequency: 'monthly',
        welcomeMessageText: 'Welcome to {displayName}.',
        footerText: '_______________________________________________\n{displayName} mailing list\n{displayName}@{domain}\n%(web_page_url)slistinfo%(cgiext)s/%(_internal_name)s',
        archive: true,
        archivePolicy: 'private',
      });
      const members = await store.members('dev@lists.example.org');
      const by = (address: string, role = 'member') => members.find((m) => m.address === address && m.role === role);
      expect(members.map((m) => `${m.role} ${m.address}`).sort()).toEqual([
        'member ann@example.org', 'member away@example.org', 'member bob@example.net', 'member bouncy@example.org', 'member dora@example.org', 'member troll@example.com',
        'moderator mod@example.org', 'owner boss@example.org',
      ]);
      expect(by('ann@example.org')).toMatchObject({ displayName: 'Ann Example', deliveryMode: 'regular', deliveryStatus: 'enabled' });
      expect(by('away@example.org')).toMatchObject({ displayName: 'Away, Person', deliveryStatus: 'by_user' });
      expect(by('bouncy@example.org')).toMatchObject({ deliveryStatus: 'by_bounces' });
      expect(by('dora@example.org')).toMatchObject({ deliveryMode: 'mime_digests' });
      expect(by('troll@example.com')).toMatchObject({ moderationAction: 'hold' });
    } finally {
      await store.close();
    }
    // The second run in this process (program.ts run(), what the binary runs) without a node start-up.
    const again = JSON.parse((await runHomeCliInProcess(home, ['import', 'mailman2', '--list-dir', join(FIXTURES, 'dev'), '--json'])).stdout) as { unchanged: boolean };
    expect(again.unchanged).toBe(true);
  });

  it("imports a config.pck through the safe pickle reader, with the members and options it carries", async () => {
    const result = await runCli(['--home', home, 'import', 'mailman2', '--list-dir', join(FIXTURES, 'pickled'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const store = openStore(home);
    try {
      expect((await store.getList('pick@lists.example.org')).settings).toMatchObject({ subscriptionPolicy: 'confirm', defaultNonmemberAction: 'hold' });
      const members = await store.members('pick@lists.example.org', { role: 'member' });
      expect(members.map((m) => [m.address, m.displayName, m.deliveryMode, m.deliveryStatus, m.receiveOwnPostings, m.hideAddress, m.moderationAction])).toEqual([
        ['Ann@example.org', 'Ann Example', 'regular', 'enabled', false, true, null],
        ['bob@example.net', '', 'regular', 'by_bounces', true, false, 'hold'],
        ['dora@example.org', '', 'plain_digests', 'enabled', true, false, null],
      ]);
    } finally {
      await store.close();
    }
  });

  it.each([
    ['a config with a Python expression', 'hostile-expression'],
    ['a pickle that would run a command', 'hostile-pickle'],
  ])('refuses %s with SY_IMPORT_UNSAFE, runs nothing and imports nothing', async (_name, dir) => {
    const result = await runCli(['--home', home, 'import', 'mailman2', '--list-dir', join(FIXTURES, dir), '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe('SY_IMPORT_UNSAFE');
    expect(existsSync(PWNED)).toBe(false);
    const store = openStore(home);
    try {
      expect((await store.lists()).map((l) => l.address)).not.toContain('evil@lists.example.org');
    } finally {
      await store.close();
    }
  });
});
