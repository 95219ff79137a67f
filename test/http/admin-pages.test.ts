/**
 * The web admin's pages and actions through a real master, as an owner
 * uses them without a browser: deciding held posts in bulk (approved ones
 * reach the members at the SMTP sink, a rejected one's poster gets the
 * reason), membership requests, members added, changed and removed, and
 * settings saved with `lists set`'s checks (every refused value shown,
 * nothing saved; a stale form refused). Each change is then read back from
 * the home's store by the test's own process (another process than the
 * master's HTTP service, as the CLI would be; the CLI is tested in test/cli).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { createList, setListValue, shownSettings } from '../../src/app/lists.js';
import { addMember, disableMember, listMembers } from '../../src/app/membership.js';
import { listHeld } from '../../src/app/moderation.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { logIn, WebClient } from './admin-client.js';

const LIST = 'crew@lists.example.org';
const OWNER = 'owner@example.org';
const TIMEOUT = 180_000;
const enc = encodeURIComponent;

let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let base: string;
let lmtpPort: number;
let owner: WebClient;

async function deliver(from: string, to: string, raw: string): Promise<void> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    await transport.sendMail({ envelope: { from, to: [to] }, raw: Buffer.from(raw.replace(/\r?\n/g, '\r\n')) });
  } finally {
    transport.close();
  }
}

const post = (from: string, id: string, subject: string) =>
  `From: ${from}\nTo: ${LIST}\nSubject: ${subject}\nMessage-ID: <${id}@example.net>\nDate: Sat, 05 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nhello\n`;

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The list's held posts, as `held list` shows them (polled: in this process, not a CLI start-up of ~0.35 s of CPU per look). */
async function held(): Promise<{ id: number; subject: string }[]> {
  return withHomeApp(home, (app) => listHeld(app, LIST));
}

/** The list's settings, as `lists show --json` shows them. */
async function settings(): Promise<Record<string, unknown>> {
  return withHomeApp(home, async (app) => shownSettings(await app.store.getList(LIST)));
}

/** The list's members (role member). */
async function memberList(): Promise<{ address: string; deliveryStatus: string }[]> {
  return withHomeApp(home, (app) => listMembers(app, LIST, { role: 'member' }));
}

const withId = (id: string) => (t: SinkTransaction) => t.body !== undefined && RawMessage.parse(t.body).get('message-id') === `<${id}@example.net>`;

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  const port = await freePort();
  lmtpPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Only the runners this test's mail goes through (posts: incoming, outgoing; the -join request: command;
  // login link and notices: virgin), not archive, bounces, retry or the scheduler: fewer node processes.
  home = await makeHome(testConfig(`[http]\nport = ${port}\nrateLimit = 100000\n\n[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n${builtInRunnersOff(['incoming', 'outgoing', 'command', 'virgin'])}\n${schedulerOff()}`));
  // Set up in this process, as `switchyard lists create/set`, `members add` would.
  await withHomeApp(home, async (app) => {
    strict(await createList(app, { address: LIST, owners: [OWNER] }));
    await setListValue(app, LIST, 'subscriptionPolicy', 'moderate');
    await addMember(app, LIST, { address: 'ann@example.org' });
  });
  master = await startMaster(home);
  for (const n of [1, 2, 3]) await deliver(`guest${n}@example.net`, LIST, post(`guest${n}@example.net`, `g${n}`, `guest post ${n}`));
  await until('three held posts', async () => ((await held()).length === 3 ? true : undefined));
  owner = new WebClient(base);
  await logIn(owner, sink, OWNER);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home !== undefined) await removeHome(home);
});

describe('held posts', () => {
  it('approves the ticked posts at once (each delivered to the members) and rejects one with a reason (the poster is told)', async () => {
    const url = `/admin/lists/${enc(LIST)}/held`;
    const queue = await owner.get(url);
    expect(queue.text).toContain('3 posts waiting');
    const ids = await held();
    const byNumber = (n: number) => String(ids.find((h) => h.subject === `guest post ${n}`)!.id);
    const approved = await owner.post(url, { id: [byNumber(1), byNumber(2)], decision: 'approve', reason: '', _csrf: await owner.csrf(url) });
    expect(approved.status).toBe(303);
    expect((await owner.get(url)).text).toContain('2 posts approved.');
    // A second moderator's form sent after the first: nothing is decided twice, and the page says who decided.
    const again = await owner.post(url, { id: [byNumber(1)], decision: 'discard', reason: '', _csrf: await owner.csrf(url) });
    expect(again.status).toBe(303);
    expect((await owner.get(url)).text).toMatch(new RegExp(`0 discarded; not done: #${byNumber(1)}: already approved by web `));
    const rejected = await owner.post(`${url}/${byNumber(3)}`, { decision: 'reject', reason: 'Off topic here, sorry.', _csrf: await owner.csrf(url) });
    expect(rejected.status).toBe(303);
    expect(await held()).toEqual([]);
    await sink.until(() => sink.accepted.some(withId('g1')) && sink.accepted.some(withId('g2')), 'the approved posts at the member');
    expect(sink.accepted.filter(withId('g1')).flatMap((t) => t.recipients)).toEqual(['ann@example.org']);
    await sink.until(() => sink.accepted.some((t) => t.recipients.includes('guest3@example.net') && (t.body?.toString('utf8') ?? '').includes('Off topic here, sorry.')), 'the rejection notice with the reason');
    expect(sink.accepted.some(withId('g3'))).toBe(false);
  });
});

describe('membership requests', () => {
  it('a request waiting for the owners is approved from the page: the address is a member', async () => {
    await deliver('carol@example.net', 'crew-join@lists.example.org', `From: carol@example.net\nTo: crew-join@lists.example.org\nSubject: join\nMessage-ID: <join-1@example.net>\n\n`);
    const page = await until('the request on the page', async () => {
      const answer = await owner.get(`/admin/lists/${enc(LIST)}/requests`);
      return answer.text.includes('carol@example.net') ? answer.text : undefined;
    });
    const id = /action="\/admin\/lists\/[^"]+\/requests\/(\d+)"/.exec(page)![1]!;
    const done = await owner.post(`/admin/lists/${enc(LIST)}/requests/${id}`, { decision: 'approve', reason: '', _csrf: await owner.csrf(`/admin/lists/${enc(LIST)}/requests`) });
    expect(done.status).toBe(303);
    expect((await memberList()).map((m) => m.address)).toContain('carol@example.net');
  });
});

describe('members', () => {
  it('adds, changes a preference of, searches for and removes a member; a bad address is said on the page', async () => {
    const url = `/admin/lists/${enc(LIST)}/members`;
    const csrf = await owner.csrf(url);
    expect((await owner.post(url, { address: 'dave@example.org', displayName: 'Dave', role: 'member', _csrf: csrf })).status).toBe(303);
    expect((await owner.get(url)).text).toContain('dave@example.org added as member.');
    expect((await owner.post(`${url}/preference`, { address: 'dave@example.org', key: 'deliveryMode', value: 'plain_digests', _csrf: csrf })).status).toBe(303);
    const found = await owner.get(`${url}?search=dave`);
    expect(found.text).toContain('plain_digests');
    expect(found.text).not.toContain('ann@example.org');
    await owner.post(url, { address: 'not an address', role: 'member', _csrf: csrf });
    expect((await owner.get(url)).text).toMatch(/class="flash error"[^>]*>[^<]*not an address/);
    expect((await owner.post(`${url}/remove`, { address: 'dave@example.org', role: 'member', _csrf: csrf })).status).toBe(303);
    expect((await memberList()).map((m) => m.address)).not.toContain('dave@example.org');
  });
});

describe('bounces', () => {
  it('lists a member whose delivery is off and re-enables it', async () => {
    await withHomeApp(home, (app) => disableMember(app, LIST, 'ann@example.org'));
    const url = `/admin/lists/${enc(LIST)}/bounces`;
    const page = await owner.get(url);
    expect(page.text).toContain('ann@example.org');
    expect(page.text).toContain('>Re-enable</button>');
    expect((await owner.post(`${url}/enable`, { address: 'ann@example.org', _csrf: await owner.csrf(url) })).status).toBe(303);
    expect((await owner.get(url)).text).toContain('Delivery to ann@example.org enabled again');
    const members = { members: await memberList() };
    expect(members.members.find((m) => m.address === 'ann@example.org')!.deliveryStatus).toBe('enabled');
  });
});

describe('settings', () => {
  it('saves a group with the checks of `lists set`; shows every refused value and saves nothing; refuses a stale form', async () => {
    const url = `/admin/lists/${enc(LIST)}/settings/acceptance`;
    const form = await owner.get(url);
    const tag = /name="_tag" value="([^"]+)"/.exec(form.text)![1]!;
    const csrf = await owner.csrf(url);
    const fields = Object.fromEntries([...form.text.matchAll(/<(?:input|textarea|select)[^>]*name="([A-Za-z]+)"/g)].map((m) => [m[1]!, '']));
    const values = (changes: Record<string, string>) => ({ ...fields, emergency: 'false', defaultMemberAction: 'accept', defaultNonmemberAction: 'hold', maxMessageSize: '40', maxNumRecipients: '10', requireExplicitDestination: 'true', administrivia: 'true', noSubjectAction: 'hold', moderateByReply: 'password', maxDaysToHold: '14', postingChain: 'default', ...changes, _tag: tag, _csrf: csrf });
    const refused = await owner.post(url, values({ maxMessageSize: 'lots', postingChain: 'no-such-chain', emergency: 'true' }));
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('list setting maxMessageSize: expected a number, got &quot;lots&quot;');
    expect(refused.text).toContain('no-such-chain');
    expect(refused.text).toContain('Nothing was saved: 2 values are not accepted.');
    let shown = { settings: await settings() };
    expect(shown.settings.emergency).toBe(false);
    const saved = await owner.post(url, values({ maxMessageSize: '100', holdTheseNonmembers: 'spammer@example.com\n^.*@bad\\.example$' }));
    expect(saved.status).toBe(303);
    shown = { settings: await settings() };
    expect(shown.settings.maxMessageSize).toBe(100);
    expect(shown.settings.holdTheseNonmembers).toEqual(['spammer@example.com', '^.*@bad\\.example$']);
    // The same form again carries the old tag: someone saved since.
    const stale = await owner.post(url, values({ maxMessageSize: '5' }));
    expect(stale.status).toBe(303);
    expect((await owner.get(url)).text).toContain('SY_API_STALE');
    expect((await settings()).maxMessageSize).toBe(100);
  });

  it('shows every setting of the schema, each with its description, in the Postorius groups', async () => {
    const shown = { settings: await settings() };
    const pages = await Promise.all(['identity', 'responses', 'alter', 'dmarc', 'digest', 'acceptance', 'archiving', 'subscription', 'bounces', 'headers'].map((g) => owner.get(`/admin/lists/${enc(LIST)}/settings/${g}`)));
    const all = pages.map((p) => p.text).join('\n');
    for (const key of Object.keys(shown.settings)) expect(all, key).toContain(`for="setting-${key}"`);
    // Every setting has a group of its own: none is left to "Other".
    expect(pages[0]!.text).not.toContain('/settings/other');
    expect(all).toContain('what happens to posts from addresses that are not members');
  });
});
