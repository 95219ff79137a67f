/**
 * The public list pages through a real master: the start page lists the
 * advertised lists; a list's page shows what it is and a subscribe form;
 * subscribing and unsubscribing go through the confirmation mail (even on
 * an `open` list: a form cannot (un)subscribe someone else), whose link
 * opens a page with a button that confirms; forms without the signed form
 * token are refused (CSRF); the answers do not tell who is a member; the
 * per-address rate limit answers 429 with a page. Security: markup in a
 * list's name and description is inert; a confirmation token of another
 * list is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SiteSecrets } from '../../src/http/site-secret.js';
import { createList, setListValue } from '../../src/app/lists.js';
import { addMember } from '../../src/app/membership.js';
import { listRequests } from '../../src/app/subscriptions.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { confirmationLink, FormClient, members, startSite, type Site } from './public-harness.js';

const LIST = 'team@lists.example.org';
const OPEN = 'open@lists.example.org';
const HIDDEN = 'hidden@lists.example.org';
const EVIL = 'evil@lists.example.org';
const TIMEOUT = 300_000;
const XSS_NAME = '<script>alert("name")</script>';
const XSS_DESCRIPTION = '"><img src=x onerror=alert(1)>';

let site: Site;

/** The list's pending requests, read in this process (what `switchyard requests list` shows; that command is tested in test/cli). */
async function pending(list: string): Promise<Array<{ address: string; kind: string }>> {
  return withHomeApp(site.home, (app) => listRequests(app, list));
}

function mailsTo(address: string): number {
  return site.sink.accepted.filter((t) => t.recipients.includes(address)).length;
}

beforeAll(async () => {
  // Only what the pages need: the HTTP service, and virgin and outgoing for the confirmation mails (no posts: no LMTP, incoming, archive...).
  site = await startSite({ dkim: false, extraToml: 'rateLimit = 80\n', runners: ['virgin', 'outgoing'], lmtp: false });
  // The lists set up in this process, as `switchyard lists create/set` would (the CLI is tested in test/cli): nine CLI start-ups fewer.
  await withHomeApp(site.home, async (app) => {
    strict(await createList(app, { address: LIST, displayName: 'Team Talk', description: 'Where the team talks about the week.' }));
    strict(await createList(app, { address: OPEN, displayName: 'Open House' }));
    await setListValue(app, OPEN, 'subscriptionPolicy', 'open');
    await setListValue(app, OPEN, 'unsubscriptionPolicy', 'open');
    strict(await createList(app, { address: HIDDEN }));
    await setListValue(app, HIDDEN, 'advertised', 'false');
    strict(await createList(app, { address: EVIL }));
    await setListValue(app, EVIL, 'displayName', XSS_NAME);
    await setListValue(app, EVIL, 'description', XSS_DESCRIPTION);
  });
}, TIMEOUT);

afterAll(async () => {
  await site?.close();
});

describe('the start page and a list page', () => {
  it('/ lists the advertised lists with their names, addresses and descriptions, not the others', async () => {
    const page = await new FormClient(site.base).get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<a class="list-title" href="/lists/team@lists.example.org">Team Talk</a>');
    expect(page.text).toContain('Where the team talks about the week.');
    expect(page.text).toContain('/lists/open@lists.example.org');
    expect(page.text).not.toContain('hidden@lists.example.org');
    // Not advertised is not secret: its page is there.
    expect((await new FormClient(site.base).get(`/lists/${HIDDEN}`)).status).toBe(200);
  }, TIMEOUT);

  it("a list's page shows its name, description, posting address and a subscribe form with a form token and a SameSite=Strict cookie", async () => {
    const client = new FormClient(site.base);
    const page = await client.get(`/lists/${LIST}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>Team Talk</h1>');
    expect(page.text).toContain('Where the team talks about the week.');
    expect(page.text).toContain('<a href="mailto:team@lists.example.org">team@lists.example.org</a>');
    expect(page.text).toContain('<label for="address">Your email address</label>');
    expect(client.tokens.get(`/lists/${LIST}/subscribe`)).toMatch(/^[0-9a-f]{8}\.[A-Za-z0-9_-]{22}$/);
    // Secure too: the site's baseUrl is https (TLS at the proxy in front).
    expect(page.headers.getSetCookie().join('\n')).toMatch(/sy_form=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; Secure; SameSite=Strict/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  }, TIMEOUT);

  it('no such list, or not a list name: a 404 page', async () => {
    for (const path of ['/lists/nobody@lists.example.org', '/lists/..%2F..%2Fetc', `/lists/${LIST}/confirm/../../x`]) {
      const page = await new FormClient(site.base).get(path);
      expect(page.status, path).toBe(404);
      expect(page.headers.get('content-type')).toContain('text/html');
    }
  }, TIMEOUT);
});

describe('subscribing from the page', () => {
  it('sends a confirmation mail whose link opens a page with a button; pressing it makes the member', async () => {
    const client = new FormClient(site.base);
    await client.get(`/lists/${LIST}`);
    const answer = await client.post(`/lists/${LIST}/subscribe`, { address: 'fay@example.org', displayName: 'Fay' });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('<h1>Check your mail</h1>');
    expect(await members(site, LIST)).toEqual([]);
    const link = await confirmationLink(site, 'fay@example.org', LIST);
    expect(link.startsWith(`${site.base}/lists/${LIST}/confirm/`)).toBe(true);
    const path = new URL(link).pathname;
    const confirm = await client.get(path);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Confirm subscription');
    expect(confirm.text).toContain('fay@example.org');
    // The GET changed nothing.
    expect(await members(site, LIST)).toEqual([]);
    const done = await client.post(path, {});
    expect(done.status).toBe(200);
    expect(done.text).toContain('Welcome to Team Talk');
    expect(await members(site, LIST)).toEqual(['fay@example.org']);
    // The link works once.
    expect((await client.get(path)).status).toBe(404);
  }, TIMEOUT);

  it('on an open list too: nobody is subscribed by a form until the address confirms', async () => {
    const client = new FormClient(site.base);
    await client.get(`/lists/${OPEN}`);
    const answer = await client.post(`/lists/${OPEN}/subscribe`, { address: 'gus@example.org' });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('Check your mail');
    expect(await members(site, OPEN)).toEqual([]);
    expect((await pending(OPEN)).map((r) => [r.address, r.kind])).toEqual([['gus@example.org', 'subscribe']]);
    await confirmationLink(site, 'gus@example.org', OPEN);
  }, TIMEOUT);

  it('the answer is the same for a member and a stranger (no membership probing)', async () => {
    const client = new FormClient(site.base);
    await client.get(`/lists/${LIST}`);
    const member = await client.post(`/lists/${LIST}/subscribe`, { address: 'fay@example.org' });
    await client.get(`/lists/${LIST}`);
    const stranger = await client.post(`/lists/${LIST}/subscribe`, { address: 'hal@example.org' });
    expect(member.status).toBe(200);
    expect(member.text.replace('fay@example.org', 'X')).toBe(stranger.text.replace('hal@example.org', 'X'));
  }, TIMEOUT);

  it('a malformed address: 422 with the form again, nothing sent', async () => {
    const client = new FormClient(site.base);
    await client.get(`/lists/${LIST}`);
    const answer = await client.post(`/lists/${LIST}/subscribe`, { address: 'not an address' });
    expect(answer.status).toBe(422);
    expect(answer.text).toContain('That address cannot be used');
    expect(answer.text).toContain('value="not an address"');
    await client.get(`/lists/${LIST}/unsubscribe`);
    const leaving = await client.post(`/lists/${LIST}/unsubscribe`, { address: 'not an address' });
    expect(leaving.status).toBe(422);
    expect(leaving.text).toContain('That address cannot be used');
  }, TIMEOUT);
});

describe('CSRF: forms need the signed form token of the same browser', () => {
  it('a forged POST (no token, no cookie; a token without its cookie; another form\'s token) is refused with 403 and sends nothing', async () => {
    const before = mailsTo('ivy@example.org');
    const victim = new FormClient(site.base);
    await victim.get(`/lists/${LIST}`);
    const stolen = victim.tokens.get(`/lists/${LIST}/subscribe`)!;
    const attacker = new FormClient(site.base);
    const refused = [
      await attacker.post(`/lists/${LIST}/subscribe`, { address: 'ivy@example.org' }, null),
      await attacker.post(`/lists/${LIST}/subscribe`, { address: 'ivy@example.org' }, stolen),
      await victim.post(`/lists/${OPEN}/subscribe`, { address: 'ivy@example.org' }, stolen),
      await victim.post(`/lists/${LIST}/unsubscribe`, { address: 'fay@example.org' }, stolen),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(403);
      expect(answer.text).toContain('SY_WEB_FORM_TOKEN');
    }
    expect((await pending(LIST)).map((r) => r.address)).not.toContain('ivy@example.org');
    expect((await pending(OPEN)).map((r) => r.address)).not.toContain('ivy@example.org');
    expect(mailsTo('ivy@example.org')).toBe(before);
    expect(await members(site, LIST)).toEqual(['fay@example.org']);
  }, TIMEOUT);
});

describe('unsubscribing from the page', () => {
  it('sends a confirmation mail (even on an open list); its link and button remove the member', async () => {
    await withHomeApp(site.home, (app) => addMember(app, OPEN, { address: 'jan@example.org' }));
    const client = new FormClient(site.base);
    const form = await client.get(`/lists/${OPEN}/unsubscribe`);
    expect(form.status).toBe(200);
    const answer = await client.post(`/lists/${OPEN}/unsubscribe`, { address: 'jan@example.org' });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('Check your mail');
    expect(await members(site, OPEN)).toEqual(['jan@example.org']);
    const path = new URL(await confirmationLink(site, 'jan@example.org', OPEN)).pathname;
    expect((await client.get(path)).text).toContain('Confirm unsubscription');
    const done = await client.post(path, {});
    expect(done.status).toBe(200);
    expect(done.text).toContain('You have left Open House');
    expect(await members(site, OPEN)).toEqual([]);
  }, TIMEOUT);
});

describe('security', () => {
  it("markup in a list's display name and description is rendered as text on every page", async () => {
    const client = new FormClient(site.base);
    for (const path of ['/', `/lists/${EVIL}`, `/lists/${EVIL}/unsubscribe`]) {
      const page = await client.get(path);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('<script>alert');
      expect(page.text).not.toContain('<img src=x');
      expect(page.text).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;');
    }
    expect((await client.get(`/lists/${EVIL}`)).text).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  }, TIMEOUT);

  it("a confirmation token of another list is refused on GET and POST, and the request stays", async () => {
    const client = new FormClient(site.base);
    await client.get(`/lists/${LIST}`);
    await client.post(`/lists/${LIST}/subscribe`, { address: 'kim@example.org' });
    const link = await confirmationLink(site, 'kim@example.org', LIST);
    const token = link.slice(link.lastIndexOf('/') + 1);
    const elsewhere = `/lists/${OPEN}/confirm/${token}`;
    const shown = await client.get(elsewhere);
    expect(shown.status).toBe(404);
    expect(shown.text).toContain('SY_WEB_LINK_INVALID');
    // Even with a valid form token for that path (made here with the site's own secret): refused by the list check.
    const nonce = /sy_form=([^;]+)/.exec(client.cookieHeader)![1]!;
    const formToken = SiteSecrets.load(site.home).sign('form', `${nonce} ${elsewhere}`);
    const posted = await client.post(elsewhere, {}, formToken);
    expect(posted.status).toBe(404);
    expect(posted.text).toContain('another list');
    expect(await members(site, OPEN)).toEqual([]);
    expect((await pending(LIST)).map((r) => r.address)).toContain('kim@example.org');
  }, TIMEOUT);

  it('the per-address rate limit of the public routes answers 429 with a page and Retry-After', async () => {
    const client = new FormClient(site.base);
    let answer = await client.get(`/lists/${LIST}`);
    for (let i = 0; i < 100 && answer.status !== 429; i++) answer = await client.post(`/lists/${LIST}/subscribe`, { address: `flood${i}@example.org` });
    expect(answer.status).toBe(429);
    expect(answer.headers.get('content-type')).toContain('text/html');
    expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(answer.text).toContain('SY_API_RATE_LIMITED');
  }, TIMEOUT);
});
