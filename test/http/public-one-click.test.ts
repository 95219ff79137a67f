/**
 * RFC 8058 one-click unsubscription through a real master: every member's
 * copy at the sink carries its own List-Unsubscribe URL and
 * List-Unsubscribe-Post, both covered by a DKIM signature that verifies; a
 * POST to the URL removes exactly that member (idempotent), a GET never
 * does; tokens changed to another address or list are refused; after
 * `switchyard secret rotate` old links work for `http.secretGrace` and not
 * after; a list with oneClickUnsubscribe off gets only the mailto form.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { mailauthVerify } from '../fixtures/dkim-verifiers.js';
import { cli, copiesOf, headerValues, members, oneClickUrl, post, startSite, type Site } from './public-harness.js';

const LIST = 'team@lists.example.org';
const OTHER = 'other@lists.example.org';
const QUIET = 'quiet@lists.example.org';
const MEMBERS = ['ann@example.org', 'bob@example.net', 'cat@example.com', 'dan@example.org'];
// Short, so that the test can see an old link stop working without a long wait; long enough for the
// `secret rotate` command to exit and one POST to be answered. The grace runs from the command's own
// clock reading (the oldKeysValidUntil it prints), so its start-up is not part of this window.
const GRACE_S = 5;
const TIMEOUT = 300_000;

let site: Site;
/** The one-click URL of each member's copy of the first post. */
const urls = new Map<string, string>();

function tokenOf(url: string): string {
  return url.slice(url.indexOf('/u/') + 3);
}

/** The token of `url` with its list-and-address part replaced (the HMAC kept). */
function forged(url: string, list: string, address: string): string {
  const token = tokenOf(url);
  return `${url.slice(0, url.indexOf('/u/') + 3)}${Buffer.from(`${list} ${address}`).toString('base64url')}${token.slice(token.indexOf('.'))}`;
}

function oneClick(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click', ...init });
}

beforeAll(async () => {
  // The runners the posts go through (incoming, outgoing; virgin for any notice), not archive, bounces, command, retry, scheduler.
  site = await startSite({ extraToml: `secretGrace = "${GRACE_S}s"\n`, runners: ['incoming', 'outgoing', 'virgin'] });
  // Lists and members straight into the store (what these tests are about is the HTTP side): ten CLI start-ups fewer.
  const store = openStore(site.home);
  try {
    await store.createList({ address: LIST });
    await store.createList({ address: OTHER });
    await store.createList({ address: QUIET, settings: { oneClickUnsubscribe: false } });
    await store.addMembers(LIST, MEMBERS.map((address) => ({ address })));
    await store.addMembers(OTHER, [{ address: 'bob@example.net' }]);
    await store.addMembers(QUIET, [{ address: 'bob@example.net' }]);
  } finally {
    await store.close();
  }
  await post(site, LIST, 'first post', 'one-click-1@example.org');
  for (const copy of await copiesOf(site, 'one-click-1@example.org', MEMBERS.length)) urls.set(copy.recipients[0]!, site.local(oneClickUrl(copy.body!)));
}, TIMEOUT);

afterAll(async () => {
  await site?.close();
});

describe('the List-Unsubscribe fields of each copy', () => {
  it('each member gets their own one-click URL and the mailto, List-Unsubscribe-Post, both under a DKIM signature that verifies', async () => {
    const copies = await copiesOf(site, 'one-click-1@example.org', MEMBERS.length);
    // One copy per recipient: each holds its own token.
    expect(copies.map((c) => c.recipients.length)).toEqual(MEMBERS.map(() => 1));
    expect(new Set(urls.values()).size).toBe(MEMBERS.length);
    for (const copy of copies) {
      const body = copy.body!;
      const [unsubscribe, ...more] = headerValues(body, 'List-Unsubscribe');
      expect(more).toEqual([]);
      expect(unsubscribe).toMatch(new RegExp(`^<${site.publicBase.replace(/\./g, '\\.')}/u/[A-Za-z0-9_-]+\\.[0-9a-f]{8}\\.[A-Za-z0-9_-]{22}>, <mailto:team-leave@lists\\.example\\.org>$`));
      expect(Buffer.from(tokenOf(oneClickUrl(body)).split('.')[0]!, 'base64url').toString()).toBe(`${LIST} ${copy.recipients[0]}`);
      expect(headerValues(body, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
      const signature = headerValues(body, 'DKIM-Signature')[0]!.replace(/\s+/g, '');
      const signed = /(?:^|;)h=([^;]+)/.exec(signature)![1]!.toLowerCase().split(':');
      expect(signed).toEqual(expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post']));
      expect((await mailauthVerify(body, site.records)).map((r) => `${r.algorithm} ${r.result}`)).toEqual(['ed25519-sha256 pass']);
    }
  }, TIMEOUT);

  it('a list with oneClickUnsubscribe off: only <mailto:...-leave>, no List-Unsubscribe-Post, one bulk copy', async () => {
    await post(site, QUIET, 'quiet post', 'quiet-1@example.org', 'bob@example.net');
    const [copy] = await copiesOf(site, 'quiet-1@example.org', 1);
    expect(headerValues(copy!.body!, 'List-Unsubscribe')).toEqual(['<mailto:quiet-leave@lists.example.org>']);
    expect(headerValues(copy!.body!, 'List-Unsubscribe-Post')).toEqual([]);
  }, TIMEOUT);
});

describe('the one-click URL', () => {
  it('GET shows a page with an Unsubscribe button and changes nothing', async () => {
    const answer = await fetch(urls.get('ann@example.org')!);
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(text).toContain('ann@example.org');
    expect(text).toMatch(/<form method="post" action="\/u\/[^"]+">/);
    expect(text).toContain('<button type="submit" class="danger">Unsubscribe</button>');
    expect(await members(site, LIST)).toEqual([...MEMBERS].sort());
  }, TIMEOUT);

  it('POST (List-Unsubscribe=One-Click) removes exactly that member, at once; again: 200 and nothing else changes', async () => {
    const first = await oneClick(urls.get('ann@example.org')!);
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('ann@example.org is no longer subscribed');
    expect(await members(site, LIST)).toEqual(['bob@example.net', 'cat@example.com', 'dan@example.org']);
    const again = await oneClick(urls.get('ann@example.org')!);
    expect(again.status).toBe(200);
    expect(await members(site, LIST)).toEqual(['bob@example.net', 'cat@example.com', 'dan@example.org']);
  }, TIMEOUT);

  it('a POST as multipart/form-data (RFC 8058 allows it) works too', async () => {
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const answer = await fetch(urls.get('dan@example.org')!, { method: 'POST', body: form });
    expect(answer.status).toBe(200);
    expect(await members(site, LIST)).toEqual(['bob@example.net', 'cat@example.com']);
  }, TIMEOUT);

  it("a token changed to another address or another list, or damaged, is refused with a 404 page and changes nothing", async () => {
    const bobs = urls.get('bob@example.net')!;
    for (const url of [forged(bobs, LIST, 'cat@example.com'), forged(bobs, OTHER, 'bob@example.net'), `${bobs.slice(0, -1)}${bobs.endsWith('A') ? 'B' : 'A'}`, `${site.base}/u/garbage`]) {
      for (const answer of [await oneClick(url), await fetch(url)]) {
        expect(answer.status, url).toBe(404);
        expect(answer.headers.get('content-type')).toContain('text/html');
        expect(await answer.text()).toContain('SY_WEB_LINK_INVALID');
      }
    }
    expect(await members(site, LIST)).toEqual(['bob@example.net', 'cat@example.com']);
    expect(await members(site, OTHER)).toEqual(['bob@example.net']);
  }, TIMEOUT);
});

describe('after `switchyard secret rotate`', () => {
  it('old links work within http.secretGrace and not after it; new posts carry links of the new key', async () => {
    const rotated = JSON.parse(await cli(site, ['secret', 'rotate', '--json'])) as { key: string; oldKeysValidUntil: string };
    // The end of the grace, as the command computed it from the moment it retired the old key (the service
    // counts from the same moment, written in the file): old links work before it and not after.
    const graceEnds = Date.parse(rotated.oldKeysValidUntil);
    // Within the grace: bob's old link still works (no restart: the service reads the rotated file).
    const within = await oneClick(urls.get('bob@example.net')!);
    // Answered before the grace ended, so the 200 below is the in-grace answer.
    expect(Date.now()).toBeLessThan(graceEnds);
    expect(within.status).toBe(200);
    expect(await members(site, LIST)).toEqual(['cat@example.com']);
    // A new post: links of the new key.
    await post(site, LIST, 'second post', 'one-click-2@example.org', 'cat@example.com');
    const [copy] = await copiesOf(site, 'one-click-2@example.org', 1);
    expect(tokenOf(oneClickUrl(copy!.body!)).split('.')[1]).toBe(rotated.key);
    // Past the grace: cat's old link is refused (polled with GET, which never changes anything).
    const old = urls.get('cat@example.com')!;
    await expect.poll(async () => (await fetch(old)).status, { timeout: (GRACE_S + 60) * 1000, interval: 100 }).toBe(404);
    // Refused only once the grace was over, not before.
    expect(Date.now()).toBeGreaterThanOrEqual(graceEnds);
    expect((await oneClick(old)).status).toBe(404);
    expect(await members(site, LIST)).toEqual(['cat@example.com']);
    // The new link of the same member works.
    expect((await oneClick(site.local(oneClickUrl(copy!.body!)))).status).toBe(200);
    expect(await members(site, LIST)).toEqual([]);
  }, TIMEOUT);
});
