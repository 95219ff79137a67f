/**
 * The web admin's security through a real master: the login by mailed
 * one-time link (read from the saving SMTP sink) that works once and tells
 * nobody who is a member, session fixation, CSRF, roles on every page and
 * action, and a held post full of markup rendered inert. Real HTTP on
 * 127.0.0.1, real LMTP in, a real SMTP sink out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { createApiToken } from '../../src/app/api-tokens.js';
import { createList } from '../../src/app/lists.js';
import { addMember, listMembers } from '../../src/app/membership.js';
import { listHeld } from '../../src/app/moderation.js';
import { logIn, mailedLoginLink, WebClient } from './admin-client.js';

const A = 'alpha@lists.example.org';
const B = 'beta@lists.example.org';
const OWNER_A = 'owner-a@example.org';
const MOD_A = 'mod-a@example.org';
const OWNER_B = 'owner-b@example.org';
const MEMBER = 'ann@example.org';
const TIMEOUT = 180_000;

let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let base: string;
let lmtpPort: number;
const seen = new Set<string>();
const enc = encodeURIComponent;

async function deliver(list: string, raw: string): Promise<void> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    await transport.sendMail({ envelope: { from: 'stranger@example.net', to: [list] }, raw: Buffer.from(raw.replace(/\r?\n/g, '\r\n')) });
  } finally {
    transport.close();
  }
}

/**
 * The list's held posts, read in this process (what `switchyard held list` shows; that command is
 * tested in test/cli): polled below, where a CLI start-up per look cost ~0.35 s of CPU each.
 */
async function held(list: string): Promise<{ id: number; subject: string }[]> {
  return withHomeApp(home, (app) => listHeld(app, list));
}

async function waitHeld(list: string, count: number): Promise<{ id: number; subject: string }[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = await held(list);
    if (now.length >= count || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function plainPost(subject: string, id: string): string {
  return `From: stranger@example.net\nTo: ${A}\nSubject: ${subject}\nMessage-ID: <${id}@example.net>\nDate: Sat, 05 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nplain body\n`;
}

const XSS_POST = `From: "<img src=x onerror=alert(1)>" <evil@example.net>
To: ${A}
Subject: <script>alert('subject')</script>
Message-ID: <xss-1@example.net>
Date: Sat, 05 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

body text <script>alert('body')</script> <b onmouseover=alert(3)>bold</b>
--alt
Content-Type: text/html; charset=utf-8

<html><body><script>alert('html')</script><img src=x onerror="alert('img')"><iframe src="https://evil.example/"></iframe><p>html text</p></body></html>
--alt--
--outer
Content-Type: application/octet-stream; name="<svg onload=alert(4)>.exe"
Content-Disposition: attachment; filename="<svg onload=alert(4)>.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==
--outer--
`;

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  const port = await freePort();
  lmtpPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Only the runners this test's mail goes through (posts held: incoming; login links and held notices: virgin, outgoing).
  home = await makeHome(testConfig(`[http]\nport = ${port}\nrateLimit = 100000\n\n[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n[site]\nowner = "site@example.org"\n\n${builtInRunnersOff(['incoming', 'virgin', 'outgoing'])}\n${schedulerOff()}`));
  // Set up in this process, as `switchyard lists create`, `members add` would (the CLI is tested in test/cli).
  await withHomeApp(home, async (app) => {
    strict(await createList(app, { address: A, owners: [OWNER_A] }));
    strict(await createList(app, { address: B, owners: [OWNER_B] }));
    await addMember(app, A, { address: MOD_A, role: 'moderator' });
    await addMember(app, A, { address: MEMBER });
  });
  master = await startMaster(home);
  await deliver(A, plainPost('first held', 'held-1'));
  await deliver(A, plainPost('second held', 'held-2'));
  await deliver(A, XSS_POST);
  await deliver(B, plainPost('held on beta', 'held-b').replace(`To: ${A}`, `To: ${B}`));
  expect(await waitHeld(A, 3)).toHaveLength(3);
  expect(await waitHeld(B, 1)).toHaveLength(1);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home !== undefined) await removeHome(home);
});

describe('login by mailed link', () => {
  it('answers the same page whatever the address; mails a link only to an address with a role', async () => {
    const texts: string[] = [];
    for (const address of [MEMBER, 'nobody-here@example.org', 'not an address']) {
      const client = new WebClient(base);
      const answer = await client.post('/login', { address, _csrf: await client.csrf('/login') });
      expect(answer.status).toBe(200);
      texts.push(answer.text.replaceAll(address.replace(/ /g, ' '), 'ADDRESS').replace(/&#39;|&quot;/g, ''));
    }
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).toBe(texts[0]);
    await mailedLoginLink(sink, MEMBER, seen);
    expect(sink.accepted.some((t) => t.recipients.includes('nobody-here@example.org'))).toBe(false);
  });

  it('a GET of the link only shows a button; the POST logs in once; a second use is refused (410)', async () => {
    const client = new WebClient(base);
    await client.post('/login', { address: OWNER_A, _csrf: await client.csrf('/login') });
    const link = new URL(await mailedLoginLink(sink, OWNER_A, seen));
    // A scanner fetching the link twice uses nothing up.
    expect((await new WebClient(base).get(link.pathname)).status).toBe(200);
    const shown = await client.get(link.pathname);
    expect(shown.text).toContain('>Log in</button>');
    const first = await client.post(link.pathname, { _csrf: await client.csrf(link.pathname) });
    expect(first.status).toBe(303);
    expect(first.location).toBe('/admin');
    const cookie = first.headers.getSetCookie().find((c) => c.startsWith('sy_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // baseUrl is http here
    expect((await client.get('/admin')).text).toContain(A);
    const other = new WebClient(base);
    const again = await other.post(link.pathname, { _csrf: await other.csrf(link.pathname) });
    expect(again.status).toBe(410);
    expect(other.cookies.has('sy_session')).toBe(false);
  });

  it('a link that is not one, or a forged session cookie, gives no session', async () => {
    const client = new WebClient(base);
    const forged = await client.post(`/login/${'A'.repeat(43)}`, { _csrf: await client.csrf('/login') });
    expect(forged.status).toBe(410);
    client.cookies.set('sy_session', 'made-up.value');
    expect((await client.get('/admin')).location).toBe('/login');
  });

  it('logout ends the session on the server: the old cookie no longer works', async () => {
    const client = new WebClient(base);
    await logIn(client, sink, OWNER_B, seen);
    const cookie = client.cookies.get('sy_session')!;
    expect((await client.post('/logout', { _csrf: await client.csrf('/logout') })).status).toBe(200);
    const replay = new WebClient(base);
    replay.cookies.set('sy_session', cookie);
    expect((await replay.get('/admin')).location).toBe('/login');
  });
});

describe('session fixation', () => {
  it('a session cookie planted before login is never kept: login makes a new id and ends the planted session', async () => {
    const attacker = new WebClient(base);
    await logIn(attacker, sink, MOD_A, seen);
    const planted = attacker.cookies.get('sy_session')!;
    const victim = new WebClient(base);
    victim.cookies.set('sy_session', planted);
    await logIn(victim, sink, OWNER_A, seen);
    const after = victim.cookies.get('sy_session')!;
    expect(after).not.toBe(planted);
    // The planted session is gone: the attacker's copy no longer logs anyone in.
    expect((await attacker.get('/admin')).location).toBe('/login');
    expect((await victim.get(`/admin/lists/${enc(A)}/settings`)).status).toBe(200);
  });
});

describe('CSRF', () => {
  it('a POST without the token, or with another session\'s token, is refused 403 SY_WEB_CSRF and changes nothing', async () => {
    const owner = new WebClient(base);
    await logIn(owner, sink, OWNER_A, seen);
    const other = new WebClient(base);
    await logIn(other, sink, MOD_A, seen);
    const [post] = (await held(A)).filter((h) => h.subject === 'first held');
    const url = `/admin/lists/${enc(A)}/held/${post!.id}`;
    const none = await owner.post(url, { decision: 'discard' });
    expect(none.status).toBe(403);
    expect(none.text).toContain('SY_WEB_CSRF');
    const foreign = await owner.post(url, { decision: 'discard', _csrf: await other.csrf(`/admin/lists/${enc(A)}/held`) });
    expect(foreign.status).toBe(403);
    const settings = await owner.post(`/admin/lists/${enc(A)}/settings/identity`, { displayName: 'Hijacked', description: '', subjectPrefix: '' });
    expect(settings.status).toBe(403);
    expect((await held(A)).some((h) => h.id === post!.id)).toBe(true);
    expect((await withHomeApp(home, (app) => app.store.getList(A))).displayName).not.toBe('Hijacked');
    // The same form with its token works.
    const done = await owner.post(url, { decision: 'discard', _csrf: await owner.csrf(url) });
    expect(done.status).toBe(303);
    expect((await held(A)).some((h) => h.id === post!.id)).toBe(false);
  });

  it('the login form refuses a POST without its token too', async () => {
    expect((await new WebClient(base).post('/login', { address: OWNER_A })).status).toBe(403);
  });
});

describe('roles', () => {
  it('a moderator of A gets 403 on every page and action of B, and on the owners\' pages and actions of A', async () => {
    const mod = new WebClient(base);
    await logIn(mod, sink, MOD_A, seen);
    const csrf = await mod.csrf(`/admin/lists/${enc(A)}/held`);
    expect((await mod.get(`/admin/lists/${enc(A)}`)).status).toBe(200);
    expect((await mod.get(`/admin/lists/${enc(A)}/held`)).status).toBe(200);
    expect((await mod.get(`/admin/lists/${enc(A)}/members`)).status).toBe(200);
    for (const page of ['', '/held', '/requests', '/members', '/settings', '/bounces']) {
      const answer = await mod.get(`/admin/lists/${enc(B)}${page}`);
      expect(answer.status, `B${page}`).toBe(403);
      expect(answer.text).toContain('SY_API_FORBIDDEN');
    }
    const [heldB] = await held(B);
    expect((await mod.post(`/admin/lists/${enc(B)}/held/${heldB!.id}`, { decision: 'approve', _csrf: csrf })).status).toBe(403);
    expect((await mod.post(`/admin/lists/${enc(B)}/held`, { decision: 'discard', id: String(heldB!.id), _csrf: csrf })).status).toBe(403);
    expect((await held(B)).some((h) => h.id === heldB!.id)).toBe(true);
    for (const page of ['/settings', '/settings/acceptance']) expect((await mod.get(`/admin/lists/${enc(A)}${page}`)).status, `A${page}`).toBe(403);
    expect((await mod.post(`/admin/lists/${enc(A)}/settings/identity`, { displayName: 'Mine', _csrf: csrf })).status).toBe(403);
    expect((await mod.post(`/admin/lists/${enc(A)}/members`, { address: 'intruder@example.org', role: 'owner', _csrf: csrf })).status).toBe(403);
    expect((await mod.post(`/admin/lists/${enc(A)}/members/remove`, { address: OWNER_A, role: 'owner', _csrf: csrf })).status).toBe(403);
    expect((await mod.post(`/admin/lists/${enc(A)}/bounces/enable`, { address: MEMBER, _csrf: csrf })).status).toBe(403);
    expect((await mod.get('/admin/status')).status).toBe(403);
    // A list that does not exist is no different from one without a role: 403, not 404.
    expect((await mod.get(`/admin/lists/${enc('ghost@lists.example.org')}`)).status).toBe(403);
    const members = (await withHomeApp(home, (app) => listMembers(app, A, { role: 'owner' }))).map((member) => member.address);
    expect(members).not.toContain('intruder@example.org');
    expect(members).toContain(OWNER_A);
  });

  it('the site owner ([site] owner) sees every list and the runners page; a list owner does not see the runners page', async () => {
    const admin = new WebClient(base);
    await logIn(admin, sink, 'site@example.org', seen);
    const lists = await admin.get('/admin');
    expect(lists.text).toContain(A);
    expect(lists.text).toContain(B);
    const status = await admin.get('/admin/status');
    expect(status.status).toBe(200);
    expect(status.text).toContain('<meta http-equiv="refresh" content="10">');
    expect(status.text).toContain('incoming');
    // The work counters, as the `status` line has them (the login mails went out: recipients counted).
    expect(status.text).toMatch(/Counted since the master started: recipients [1-9]\d* \(2xx [1-9]/);
    const owner = new WebClient(base);
    await logIn(owner, sink, OWNER_B, seen);
    expect((await owner.get('/admin/status')).status).toBe(403);
    expect((await owner.get('/admin')).text).not.toContain(A);
  });

  it('a site administrator API token logs in at /login/token; another token does not', async () => {
    // Made in this process, as `switchyard tokens create` would (tested in test/cli).
    const { token } = await withHomeApp(home, (app) => createApiToken(app, { name: 'ops', role: 'admin' }));
    const { token: listToken } = await withHomeApp(home, (app) => createApiToken(app, { name: 'ann', role: 'owner', list: A }));
    const refused = new WebClient(base);
    expect((await refused.post('/login/token', { token: listToken, _csrf: await refused.csrf('/login') })).status).toBe(401);
    const client = new WebClient(base);
    const answer = await client.post('/login/token', { token, _csrf: await client.csrf('/login') });
    expect(answer.status).toBe(303);
    expect((await client.get('/admin/status')).status).toBe(200);
  });
});

describe('a held post full of markup', () => {
  it('is shown with its Subject, From, text, HTML part and attachment name escaped: no element from the mail reaches the page', async () => {
    const mod = new WebClient(base);
    await logIn(mod, sink, MOD_A, seen);
    const list = await mod.get(`/admin/lists/${enc(A)}/held`);
    const [post] = (await held(A)).filter((h) => h.subject.includes('alert'));
    const page = await mod.get(`/admin/lists/${enc(A)}/held/${post!.id}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    for (const text of [list.text, page.text]) {
      expect(text).not.toMatch(/<script/i);
      expect(text).not.toMatch(/<img/i);
      expect(text).not.toMatch(/<iframe/i);
      expect(text).not.toMatch(/<svg/i);
      expect(text).not.toMatch(/<b /i);
      expect(text).toContain('&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;');
    }
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).toContain('body text &lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;');
    expect(page.text).toContain('HTML part (shown as source, never rendered)');
    expect(page.text).toContain('&lt;iframe src=&quot;https://evil.example/&quot;&gt;');
    expect(page.text).toContain('&lt;svg onload=alert(4)&gt;.exe');
    expect(page.text).toContain('application/octet-stream');
  });
});
