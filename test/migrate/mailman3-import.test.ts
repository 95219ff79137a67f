/**
 * `switchyard import mailman3` against a real GNU Mailman core 3.3 (Debian's
 * mailman3, a private instance: test/fixtures/mailman3-core.ts). Lists,
 * members in every role and preference, a member disabled by bounces with
 * its score, non-members with actions, bans, a held post and a pending
 * subscription are made through Mailman's own CLI and REST API; the import
 * is checked field by field, run again (nothing changes), and a post to the
 * imported list through a running switchyard master reaches exactly the
 * regular, enabled members at the saving sink. The --database path reads
 * Mailman's own database: the SQLite one of that instance, and a second
 * instance run on a private PostgreSQL cluster. Held posts come from
 * Mailman's message store (pickles read as data): byte-exact with what was
 * posted to Mailman, an 8-bit multipart post through its LMTP runner
 * included; the REST and database readers give the same records.
 */
import { existsSync } from 'node:fs';
import { chown, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { MailmanCore } from '../fixtures/mailman3-core.js';
import { freePort } from '../ingress/harness.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { runHomeCliInProcess } from '../support/cli.js';
import { openStore } from '../../src/store/index.js';
import { startPostgres, type PostgresCluster } from '../support/postgres.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import type { ImportedSite } from '../../src/migrate/site-model.js';
import { messageIdHash, messageStorePath } from '../../src/migrate/mailman3-message-store.js';

const TIMEOUT = 300_000;
const DEV = 'dev@lists.example.org';
const ANNOUNCE = 'announce@lists.example.org';
const HELD = 'From: stranger@example.net\nTo: dev@lists.example.org\nSubject: may I post?\nMessage-ID: <held-1@example.net>\nDate: Sat, 05 Dec 2026 10:00:00 +0000\n\nA question from outside.\n';
/** Held too, handed to Mailman's LMTP runner as an MTA would: CRLF, 8-bit bytes that are not UTF-8, a folded header, multipart with preamble and epilogue. */
const HELD_8BIT = Buffer.concat([
  Buffer.from('From: =?iso-8859-1?q?Ren=E9?= <rene@example.net>\r\nTo: dev@lists.example.org\r\nSubject: caf'),
  Buffer.from([0xe9]),
  Buffer.from(' au lait\r\nMessage-ID: <held-8bit@example.net>\r\nDate: Sat, 05 Dec 2026 11:00:00 +0000\r\nX-Folded: one\r\n\ttwo\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\nA preamble.\r\n--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nUn caf'),
  Buffer.from([0xe9, 0x2c, 0x20, 0xff, 0xfe]),
  Buffer.from(' s\'il vous pla'),
  Buffer.from([0xee]),
  Buffer.from('t.\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n--b1--\r\nAn epilogue.\r\n'),
]);
/** The fields Mailman adds to a post it holds (LMTP runner, message store, hold chain); the rest of a held post is what was posted. */
const MAILMAN_FIELDS = new Set(['message-id-hash', 'x-message-id-hash', 'x-mailfrom', 'x-mailman-rule-hits', 'x-mailman-rule-misses']);

/** A held post without the fields Mailman added (header lines, continuation lines included), and the names of those fields. */
function withoutMailmanFields(raw: Buffer): { posted: Buffer; added: string[] } {
  const text = raw.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text)!;
  const lines = text.slice(0, end.index + end[0].length).split(/(?<=\n)/);
  const kept: string[] = [];
  const added: string[] = [];
  let dropping = false;
  for (const line of lines) {
    if (!/^[ \t]/.test(line)) {
      const name = /^([^:\r\n]+):/.exec(line)?.[1]?.toLowerCase();
      dropping = name !== undefined && MAILMAN_FIELDS.has(name);
      if (dropping) added.push(name!);
    }
    if (!dropping) kept.push(line);
  }
  return { posted: Buffer.from(kept.join('') + text.slice(end.index + end[0].length), 'latin1'), added };
}

/** Held posts as imported are what was posted to Mailman, byte for byte, plus Mailman's own fields. */
function expectHeldByteExact(held: { messageId: string | null; raw?: Buffer | null }[]): void {
  const byId = new Map(held.map((h) => [h.messageId, h.raw!]));
  for (const [id, posted] of [['<held-1@example.net>', Buffer.from(HELD)], ['<held-8bit@example.net>', HELD_8BIT]] as const) {
    const stored = withoutMailmanFields(byId.get(id)!);
    expect(stored.posted.toString('latin1'), id).toBe(posted.toString('latin1'));
    expect(stored.posted.equals(posted)).toBe(true);
    expect(stored.added).toEqual(expect.arrayContaining(['message-id-hash', 'x-message-id-hash', 'x-mailman-rule-hits']));
  }
}

let core: MailmanCore;
let home: string;
let sink: SmtpSink;
let lmtpPort: number;
let master: MasterHandle | undefined;

async function memberId(core: MailmanCore, list: string, address: string, role = 'member'): Promise<string> {
  const found = await core.rest('GET', `/members/find?list_id=${list.replace('@', '.')}&subscriber=${address}&role=${role}`);
  return String((found.entries as Record<string, unknown>[])[0]!.member_id);
}

async function subscribe(core: MailmanCore, list: string, address: string, fields: [string, string][] = []): Promise<string> {
  await core.rest('POST', '/members', [['list_id', list.replace('@', '.')], ['subscriber', address], ['pre_verified', 'true'], ['pre_confirmed', 'true'], ['pre_approved', 'true'], ...fields]);
  return memberId(core, list, address, fields.find(([k]) => k === 'role')?.[1] ?? 'member');
}

function importArgs(extra: string[] = []): string[] {
  return ['--home', home, 'import', 'mailman3', '--rest', core.restUrl, '--user', core.user, '--password', core.password, '--json', ...extra];
}

/**
 * `switchyard --home HOME ARGS` in this process (program.ts run(): the exit code, stdout and stderr the
 * binary gives) without a node start-up each: for the runs after the first of their kind, which this
 * file runs as the built binary (dry run, import, --database import, the refused pickle, a usage error).
 */
function importInProcess(args: readonly string[]): ReturnType<typeof runCli> {
  if (args[0] !== '--home') throw new Error('importInProcess: --home HOME first');
  return runHomeCliInProcess(args[1]!, args.slice(2));
}

/** Lists, members in every role and preference, bounce state, non-members, bans, a pending subscription and a held post, made through Mailman's own CLI and REST API. */
async function populate(core: MailmanCore): Promise<void> {
  await core.rest('POST', '/domains', [['mail_host', 'lists.example.org']]);
  // Lists through Mailman's REST API, with an owner: what `mailman create -o OWNER LIST` does (create_list
  // with the default style, then the owner subscribed in the owner role), without a Python start-up
  // (seconds of CPU on a loaded machine) per list.
  for (const list of [DEV, ANNOUNCE]) {
    await core.rest('POST', '/lists', [['fqdn_listname', list]]);
    await core.rest('POST', '/members', [['list_id', list.replace('@', '.')], ['subscriber', 'boss@example.org'], ['role', 'owner'], ['pre_verified', 'true'], ['pre_confirmed', 'true'], ['pre_approved', 'true']]);
  }
  // One Python start-up (seconds of CPU on a loaded machine) through Mailman's withlist for the two things
  // its REST API cannot do, at the one point where both can be done:
  // - a held post, injected into the `in` queue as `mailman inject -q in LIST` does (inject_text on the
  //   file's text), before the list rejects non-members (below);
  // - a member disabled by bounces with a score (bouncy, subscribed first for it).
  await subscribe(core, DEV, 'bouncy@example.org');
  await writeFile(join(core.dir, 'syheld.txt'), HELD);
  await writeFile(
    join(core.dir, 'sysetup.py'),
    [
      'from mailman.app.inject import inject_text',
      'from mailman.config import config',
      'from mailman.interfaces.member import DeliveryStatus',
      'def run(mlist):',
      "    member = mlist.members.get_member('bouncy@example.org')",
      '    member.bounce_score = 3',
      '    member.preferences.delivery_status = DeliveryStatus.by_bounces',
      '    config.db.commit()',
      `    with open(${JSON.stringify(join(core.dir, 'syheld.txt'))}, encoding='utf-8') as held:`,
      "        inject_text(mlist, held.read(), switchboard='in')",
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) {
    const [uid, gid] = [Number(execFileSync('id', ['-u', 'list']).toString()), Number(execFileSync('id', ['-g', 'list']).toString())];
    for (const file of ['sysetup.py', 'syheld.txt']) await chown(join(core.dir, file), uid, gid);
  }
  const setUp = await core.mailman(['withlist', '-l', DEV, '-r', 'sysetup.run'], undefined, { PYTHONPATH: core.dir });
  expect(setUp.code, setUp.stderr).toBe(0);
  const lmtp = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: core.lmtpPort });
  try {
    await lmtp.sendMail({ envelope: { from: 'rene@example.net', to: [DEV] }, raw: HELD_8BIT });
  } finally {
    lmtp.close();
  }
  await core.until(async () => ((await core.rest('GET', '/lists/dev.lists.example.org/held')).total_size as number) === 2, 'both posts held');
  await core.rest('PATCH', '/lists/dev.lists.example.org/config', [
    ['display_name', 'Developers'],
    ['description', 'Where the code is discussed'],
    ['subject_prefix', '[dev] '],
    ['reply_goes_to_list', 'point_to_list'],
    ['dmarc_mitigate_action', 'wrap_message'],
    ['max_message_size', '100'],
    ['default_nonmember_action', 'reject'],
    ['accept_these_nonmembers', '^.*@partner\\.example$'],
    ['bounce_score_threshold', '4'],
    ['bounce_info_stale_after', '10d'],
    ['subscription_policy', 'moderate'],
    ['archive_policy', 'never'],
    ['anonymous_list', 'true'],
    ['max_days_to_hold', '30'],
    ['digest_size_threshold', '50'],
    ['send_welcome_message', 'false'],
  ]);
  // Members in every role and preference.
  await subscribe(core, DEV, 'mod@example.org', [['role', 'moderator']]);
  await subscribe(core, DEV, 'ann@example.org', [['display_name', 'Ann Regular']]);
  await subscribe(core, DEV, 'bob@example.net');
  const digest = await subscribe(core, DEV, 'dora@example.org');
  await core.rest('PATCH', `/members/${digest}/preferences`, [['delivery_mode', 'mime_digests'], ['hide_address', 'false']]);
  const away = await subscribe(core, DEV, 'away@example.org');
  await core.rest('PATCH', `/members/${away}/preferences`, [['delivery_status', 'by_user'], ['receive_own_postings', 'false'], ['acknowledge_posts', 'true']]);
  const held = await subscribe(core, DEV, 'troll@example.com');
  await core.rest('PATCH', `/members/${held}`, [['moderation_action', 'hold']]);
  // Non-members with an action, a ban, a pending subscription, a held post.
  await core.rest('POST', '/members', [['list_id', 'dev.lists.example.org'], ['subscriber', 'spammer@example.net'], ['role', 'nonmember']]);
  await core.rest('PATCH', `/members/${await memberId(core, DEV, 'spammer@example.net', 'nonmember')}`, [['moderation_action', 'discard']]);
  await core.rest('POST', '/lists/dev.lists.example.org/bans', [['email', 'banned@example.net']]);
  await core.rest('POST', '/members', [['list_id', 'dev.lists.example.org'], ['subscriber', 'pending@example.org'], ['display_name', 'Pen Ding']]);
  await subscribe(core, ANNOUNCE, 'reader@example.org');

}

/**
 * The second Mailman core, on a private PostgreSQL cluster (the last describe's): started and populated
 * while the first one starts and is populated, not after every test of the first is done. Both are
 * mostly waits on Python processes starting; the last describe awaits it.
 */
interface PgCore {
  cluster: PostgresCluster;
  core?: MailmanCore;
  url?: string;
}
let pgSetup: Promise<PgCore> | undefined;
let pgStarted: PgCore | undefined;

async function startPgCore(): Promise<PgCore> {
  const started: PgCore = { cluster: await startPostgres() };
  pgStarted = started;
  started.url = await started.cluster.database('mailman');
  started.core = await MailmanCore.start({ databaseUrl: started.url });
  await populate(started.core);
  return started;
}

beforeAll(async () => {
  pgSetup = startPgCore();
  // Its failure is the last describe's to report (its beforeAll awaits it), not an unhandled rejection here.
  pgSetup.catch(() => undefined);
  const [sinkStarted] = await Promise.all([
    SmtpSink.start({ keepBodies: true }),
    (async () => {
      core = await MailmanCore.start();
      await populate(core);
    })(),
  ]);
  sink = sinkStarted;
  lmtpPort = await freePort();
  // The post after the import needs the LMTP listener, incoming and outgoing; the other runners and the
  // scheduler would be a node process each to start and stop for nothing.
  home = await makeHome(testConfig(`[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n${builtInRunnersOff(['incoming', 'outgoing'])}\n${schedulerOff()}`));
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home) await removeHome(home);
  // Both cores stop at once; the PostgreSQL one once its start is over, whichever way it went.
  await pgSetup?.catch(() => undefined);
  await Promise.all([
    core?.stop(),
    (async () => {
      await pgStarted?.core?.stop();
      await pgStarted?.cluster.destroy();
    })(),
  ]);
}, TIMEOUT);

describe('switchyard import mailman3', () => {
  it('--dry-run reports what would be imported and writes nothing', async () => {
    const result = await runCli(importArgs(['--dry-run']));
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { dryRun: boolean; lists: { list: string; created: boolean; members: { added: number } }[] };
    expect(report.dryRun).toBe(true);
    expect(report.lists.map((l) => [l.list, l.created, l.members.added])).toEqual([
      [ANNOUNCE, true, 2],
      [DEV, true, 8],
    ]);
    const store = openStore(home);
    try {
      expect(await store.lists()).toEqual([]);
    } finally {
      await store.close();
    }
  }, TIMEOUT);

  it('imports every list with its settings, roles, preferences, bounce state, non-members, bans, held post and pending request', async () => {
    const result = await runCli(importArgs());
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { lists: { list: string; unmapped: { setting: string; value: string }[] }[]; cutOver: string[]; mtaFiles: string[] };
    const dev = report.lists.find((l) => l.list === DEV)!;
    expect(dev.unmapped).toContainEqual(expect.objectContaining({ setting: 'anonymous_list', value: 'true' }));
    expect(report.cutOver.join('\n')).toMatch(/mailman stop[\s\S]*qfile[\s\S]*MTA maps[\s\S]*switchyard start/);
    expect(report.mtaFiles.some((file) => file.endsWith('postfix_lmtp'))).toBe(true);

    const store = openStore(home);
    try {
      const list = await store.getList(DEV);
      expect(list.displayName).toBe('Developers');
      expect(list.description).toBe('Where the code is discussed');
      expect(list.settings).toMatchObject({
        subjectPrefix: '[dev] ',
        replyGoesToList: 'point_to_list',
        dmarcMitigateAction: 'wrap_message',
        maxMessageSize: 100,
        defaultMemberAction: 'accept',
        defaultNonmemberAction: 'reject',
        acceptTheseNonmembers: ['^.*@partner\\.example$'],
        discardTheseNonmembers: ['spammer@example.net'],
        bannedAddresses: ['banned@example.net'],
        bounceScoreThreshold: 4,
        bounceInfoStaleAfter: 10,
        subscriptionPolicy: 'moderate',
        archive: false,
        maxDaysToHold: 30,
        digestSizeThreshold: 50,
        sendWelcomeMessage: false,
        footerText: '_______________________________________________\n{displayName} mailing list -- {list}\nTo unsubscribe send an email to {listName}-leave@{domain}\n',
      });
      const members = await store.members(DEV);
      const by = (address: string, role = 'member') => members.find((m) => m.address === address && m.role === role)!;
      expect(members.map((m) => `${m.role} ${m.address}`).sort()).toEqual([
        'member ann@example.org', 'member away@example.org', 'member bob@example.net', 'member bouncy@example.org', 'member dora@example.org', 'member troll@example.com',
        'moderator mod@example.org', 'owner boss@example.org',
      ]);
      expect(by('ann@example.org')).toMatchObject({ displayName: 'Ann Regular', deliveryMode: 'regular', deliveryStatus: 'enabled', hideAddress: true, moderationAction: null });
      expect(by('dora@example.org')).toMatchObject({ deliveryMode: 'mime_digests', hideAddress: false });
      expect(by('away@example.org')).toMatchObject({ deliveryStatus: 'by_user', receiveOwnPostings: false, acknowledgePosts: true });
      expect(by('troll@example.com')).toMatchObject({ moderationAction: 'hold' });
      expect(by('bouncy@example.org')).toMatchObject({ deliveryStatus: 'by_bounces', bounceScore: 3 });
      const held = await store.heldMessages(DEV);
      expect(held).toHaveLength(2);
      expect(held.find((h) => h.messageId === '<held-1@example.net>')).toMatchObject({ sender: 'stranger@example.net', subject: 'may I post?', reason: 'The message is not from a list member' });
      // Mailman adds its X-Mailman-Rule-* and Message-ID-Hash fields when it holds a post; the original ones and the body are there byte for byte.
      const raw = held.find((h) => h.messageId === '<held-1@example.net>')!.raw!.toString('utf8');
      expect(raw).toContain('Subject: may I post?\nMessage-ID: <held-1@example.net>\nDate: Sat, 05 Dec 2026 10:00:00 +0000\n');
      expect(raw.endsWith('\n\nA question from outside.\n')).toBe(true);
      // Without --messages-dir the REST API's text is all there is: the report says these may not be byte-exact.
      expect(dev.unmapped).toContainEqual(expect.objectContaining({ setting: 'held posts from the REST text' }));
      const requests = await store.pendingRequests(DEV);
      expect(requests).toEqual([expect.objectContaining({ kind: 'subscribe', address: 'pending@example.org', displayName: 'Pen Ding', token: expect.stringMatching(/^[0-9a-f]{40}$/) })]);
      expect((await store.members(ANNOUNCE)).map((m) => `${m.role} ${m.address}`).sort()).toEqual(['member reader@example.org', 'owner boss@example.org']);
    } finally {
      await store.close();
    }
  }, TIMEOUT);

  it('a second run changes nothing', async () => {
    const store = openStore(home);
    const before = JSON.stringify([await store.lists(), await store.members(DEV), (await store.heldMessages(DEV)).map((h) => h.id), await store.pendingRequests(DEV)]);
    await store.close();
    const result = await importInProcess(importArgs());
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { unchanged: boolean; lists: { settingsChanged: string[]; members: { added: number; updated: number }; held: { added: number; existing: number }; requests: { added: number; existing: number } }[] };
    expect(report.unchanged).toBe(true);
    for (const list of report.lists) {
      expect(list.settingsChanged).toEqual([]);
      expect(list.members).toMatchObject({ added: 0, updated: 0 });
      expect(list.held.added).toBe(0);
      expect(list.requests.added).toBe(0);
    }
    const again = openStore(home);
    try {
      expect(JSON.stringify([await again.lists(), await again.members(DEV), (await again.heldMessages(DEV)).map((h) => h.id), await again.pendingRequests(DEV)])).toBe(before);
    } finally {
      await again.close();
    }
  }, TIMEOUT);

  it('a post to the imported list reaches exactly its regular, enabled members', async () => {
    master = await startMaster(home);
    const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
    const raw = Buffer.from(`From: Ann <ann@example.org>\r\nTo: ${DEV}\r\nSubject: first post\r\nMessage-ID: <after-import@example.org>\r\nDate: Sun, 06 Dec 2026 08:00:00 +0000\r\n\r\nHello from switchyard.\r\n`);
    try {
      await transport.sendMail({ envelope: { from: 'ann@example.org', to: [DEV] }, raw });
    } finally {
      transport.close();
    }
    const mine = (t: { body?: Buffer }) => t.body !== undefined && RawMessage.parse(t.body).get('message-id') === '<after-import@example.org>';
    // Bulk delivery: one transaction carries every recipient, so the first copy at the sink is the whole delivery.
    await sink.until(() => sink.accepted.some(mine), 'the post at the sink');
    const recipients = sink.accepted.filter(mine).flatMap((t) => t.recipients).sort();
    // Not dora (digest), away (by_user), bouncy (by_bounces), the owner or the moderator.
    expect(recipients).toEqual(['ann@example.org', 'bob@example.net', 'troll@example.com']);
  }, TIMEOUT);
});

/**
 * `import mailman3 --database URL` into a fresh home: the same lists, roles, preferences, bounce state,
 * non-members, bans and request as populate() made, and the held posts byte for byte from Mailman's
 * message store; a second run changes nothing.
 */
async function expectDatabaseImport(database: string, extra: string[] = []): Promise<void> {
  const other = await makeHome(testConfig(''));
  try {
    const result = await runCli(['--home', other, 'import', 'mailman3', '--database', database, ...extra, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { lists: { list: string; problems: string[]; unmapped: { setting: string; value: string }[] }[] };
    expect(report.lists.find((l) => l.list === DEV)!.problems).toEqual([]);
    expect(report.lists.find((l) => l.list === DEV)!.unmapped.filter((u) => u.setting.startsWith('held post'))).toEqual([]);
    const store = openStore(other);
    try {
      const list = await store.getList(DEV);
      expect(list.settings).toMatchObject({ subjectPrefix: '[dev] ', replyGoesToList: 'point_to_list', dmarcMitigateAction: 'wrap_message', defaultNonmemberAction: 'reject', acceptTheseNonmembers: ['^.*@partner\\.example$'], discardTheseNonmembers: ['spammer@example.net'], bannedAddresses: ['banned@example.net'], bounceInfoStaleAfter: 10, subscriptionPolicy: 'moderate', archive: false });
      const members = await store.members(DEV);
      expect(members).toHaveLength(8);
      const by = (address: string) => members.find((m) => m.address === address && m.role === 'member')!;
      expect(by('dora@example.org')).toMatchObject({ deliveryMode: 'mime_digests', hideAddress: false });
      expect(by('away@example.org')).toMatchObject({ deliveryStatus: 'by_user', receiveOwnPostings: false, acknowledgePosts: true });
      expect(by('troll@example.com')).toMatchObject({ moderationAction: 'hold' });
      expect(by('bouncy@example.org')).toMatchObject({ deliveryStatus: 'by_bounces', bounceScore: 3 });
      const held = await store.heldMessages(DEV);
      expect(held.map((h) => [h.messageId, h.sender, h.subject, h.reason])).toEqual([
        ['<held-1@example.net>', 'stranger@example.net', 'may I post?', 'The message is not from a list member'],
        ['<held-8bit@example.net>', 'rene@example.net', 'caf\ufffd au lait', 'The message is not from a list member'],
      ]);
      expectHeldByteExact(held);
      expect((await store.pendingRequests(DEV)).map((r) => [r.kind, r.address])).toEqual([['subscribe', 'pending@example.org']]);
    } finally {
      await store.close();
    }
    const again = JSON.parse((await importInProcess(['--home', other, 'import', 'mailman3', '--database', database, ...extra, '--json'])).stdout) as { unchanged: boolean };
    expect(again.unchanged).toBe(true);
  } finally {
    await removeHome(other);
  }
}

/** The REST reader (with the message store for exact bytes) and the database reader give the same records: lists, settings, members, non-members, bans, held posts, requests. */
async function expectSameRecords(mailman: MailmanCore, database: string): Promise<void> {
  const { readMailman3Rest } = await import('../../src/migrate/mailman3-rest.js');
  const { readMailman3Database } = await import('../../src/migrate/mailman3-database.js');
  const records = (site: ImportedSite) =>
    site.lists.map((list) => ({
      ...list,
      unmapped: undefined,
      refused: list.refused ?? [],
      members: [...list.members].sort((a, b) => `${a.role} ${a.address}`.localeCompare(`${b.role} ${b.address}`)),
      nonmembers: [...list.nonmembers].sort((a, b) => a.address.localeCompare(b.address)),
      bans: [...list.bans].sort(),
      held: [...list.held].sort((a, b) => a.sourceId.localeCompare(b.sourceId)).map((h) => ({ ...h, raw: h.raw.toString('latin1') })),
      // Compared below: Mailman stamps a pending request's `when` and its expiry
      // with two clock readings, and its REST API gives no expiry (the REST reader
      // derives it from `when`), so the two may fall either side of a second.
      requests: list.requests.map((r) => ({ ...r, expiresAt: undefined })),
      expiries: list.requests.map((r) => r.expiresAt.getTime()),
    }));
  const rest = records(await readMailman3Rest({ url: mailman.restUrl, user: mailman.user, password: mailman.password, messagesDir: mailman.messagesDir }));
  const db = records(await readMailman3Database({ url: database, messagesDir: mailman.messagesDir }));
  expect(rest.map((l) => l.address)).toEqual([ANNOUNCE, DEV]);
  expect(db.map((l) => ({ ...l, expiries: undefined }))).toEqual(rest.map((l) => ({ ...l, expiries: undefined })));
  for (const [index, list] of db.entries()) {
    list.expiries.forEach((expiry, request) => {
      const fromRest = rest[index]!.expiries[request]!;
      expect(Math.abs(expiry - fromRest), `${list.address} request ${request}: the database's expiry against the one derived from REST's \`when\``).toBeLessThanOrEqual(1_000);
    });
  }
  expectHeldByteExact(rest[1]!.held.map((h) => ({ messageId: h.messageId, raw: Buffer.from(h.raw, 'latin1') })));
}

describe('switchyard import mailman3 --database', () => {
  it("reads Mailman's SQLite database read-only: the same lists, roles, preferences, bounce state, non-members, bans and request; held posts byte-exact from the message store next to it", async () => {
    await expectDatabaseImport(`sqlite:${join(core.dir, 'var', 'data', 'mailman.db')}`);
  }, TIMEOUT);

  it('the REST API (with --messages-dir) and the SQLite database give the same records', async () => {
    await expectSameRecords(core, `sqlite:${join(core.dir, 'var', 'data', 'mailman.db')}`);
  }, TIMEOUT);

  it('a held post whose stored pickle would run code is refused (SY_IMPORT_UNSAFE, exit 1) and nothing runs; the other is imported', async () => {
    // A copy of Mailman's var/data and var/messages with the 8-bit post's pickle replaced by one that calls os.system.
    const copy = await mkdtemp(join(tmpdir(), 'mm3-hostile-'));
    const other = await makeHome(testConfig(''));
    try {
      await cp(join(core.dir, 'var', 'data'), join(copy, 'var', 'data'), { recursive: true });
      await cp(core.messagesDir, join(copy, 'var', 'messages'), { recursive: true });
      const marker = join(copy, 'PWNED');
      const target = join(copy, 'var', 'messages', ...messageStorePath(messageIdHash('<held-8bit@example.net>')).split('/'));
      execFileSync('/usr/bin/python3', ['-c', 'import os, pickle, sys\nclass Evil:\n    def __reduce__(self):\n        return (os.system, ("touch " + sys.argv[2],))\nopen(sys.argv[1], "wb").write(pickle.dumps(Evil(), -1))', target, marker]);
      const result = await runCli(['--home', other, 'import', 'mailman3', '--database', `sqlite:${join(copy, 'var', 'data', 'mailman.db')}`, '--json']);
      expect(result.code, result.stderr).toBe(1);
      const report = JSON.parse(result.stdout) as { lists: { list: string; problems: string[] }[] };
      expect(report.lists.find((l) => l.list === DEV)!.problems).toEqual([expect.stringMatching(/^held post \d+ <held-8bit@example\.net> not imported \(SY_IMPORT_UNSAFE\): pickle refers to posix\.system/)]);
      const store = openStore(other);
      try {
        expect((await store.heldMessages(DEV)).map((h) => h.messageId)).toEqual(['<held-1@example.net>']);
      } finally {
        await store.close();
      }
      expect(existsSync(marker)).toBe(false);
    } finally {
      await removeHome(other);
      await rm(copy, { recursive: true, force: true });
    }
  }, TIMEOUT);

  it('refuses a database URL it cannot read with SY_IMPORT_USAGE', async () => {
    const result = await runCli(['--home', home, 'import', 'mailman3', '--database', 'mysql://u:secret@db/mailman', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error.code).toBe('SY_IMPORT_USAGE');
    expect(result.stdout).not.toContain('secret');
  }, TIMEOUT);
});

describe('switchyard import mailman3 --database postgres://', () => {
  // A second private Mailman core whose own database is a private PostgreSQL cluster (Mailman's
  // PostgreSQLDatabase through python3-psycopg2), populated the same way, read with pg in one read-only transaction.
  // Started by the file's beforeAll, alongside the first core; stopped by its afterAll.
  let pgCore: MailmanCore | undefined;
  let url: string;

  beforeAll(async () => {
    const started = await pgSetup!;
    pgCore = started.core!;
    url = started.url!;
  }, TIMEOUT);

  it("reads Mailman's PostgreSQL database: the same lists, roles, preferences, bounce state, non-members, bans, request and byte-exact held posts (--messages-dir) as from SQLite", async () => {
    await expectDatabaseImport(url, ['--messages-dir', pgCore!.messagesDir]);
  }, TIMEOUT);

  it('without --messages-dir the held posts are counted in the report, not imported', async () => {
    const other = await makeHome(testConfig(''));
    try {
      const result = await importInProcess(['--home', other, 'import', 'mailman3', '--database', url, '--json']);
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as { lists: { list: string; unmapped: { setting: string; value: string; note: string }[] }[] };
      expect(report.lists.find((l) => l.list === DEV)!.unmapped).toContainEqual(expect.objectContaining({ setting: 'held posts', value: '2', note: expect.stringContaining('--messages-dir') }));
    } finally {
      await removeHome(other);
    }
  }, TIMEOUT);

  it('the REST API (with --messages-dir) and the PostgreSQL database give the same records', async () => {
    await expectSameRecords(pgCore!, url);
  }, TIMEOUT);

  it('a PostgreSQL server that does not answer is SY_IMPORT_SOURCE (exit 1), and the password is not shown', async () => {
    const result = await importInProcess(['--home', home, 'import', 'mailman3', '--database', `postgres://mailman:secret@127.0.0.1:${await freePort()}/mailman`, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe('SY_IMPORT_SOURCE');
    expect(result.stdout + result.stderr).not.toContain('secret');
  }, TIMEOUT);
});
