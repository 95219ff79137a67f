/**
 * One-click unsubscription (src/app/one-click.ts) on a real store: the
 * token names the list and member and verifies only for them; the POST's
 * function removes exactly that member, is harmless twice, and changes
 * nothing for a bad token; the per-copy fields; web requests to open lists
 * still confirm (src/app/subscriptions.ts `unproven`), and the confirmation
 * mail carries the web link when the HTTP service runs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkUnsubscribeToken, oneClickEnabled, oneClickHeaders, oneClickUnsubscribe, unsubscribeToken } from '../../src/app/one-click.js';
import { requestSubscription, requestUnsubscription } from '../../src/app/subscriptions.js';
import { SiteSecrets } from '../../src/http/site-secret.js';
import { LIST, testApp, type TestApp } from './harness.js';

const OTHER = 'ops@lists.example.org';
const DAY = 86_400_000;
const secrets = SiteSecrets.fromBytes([{ id: '0badcafe', secret: Buffer.alloc(32, 1) }]);
let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function withMembers(): Promise<TestApp> {
  app = await testApp('2026-12-06T08:00:00Z');
  await app.store.createList({ address: LIST });
  await app.store.createList({ address: OTHER });
  for (const address of ['ann@example.org', 'bob@example.org']) await app.store.addMember(LIST, { address });
  await app.store.addMember(OTHER, { address: 'ann@example.org' });
  return app;
}

async function memberAddresses(a: TestApp, list: string): Promise<string[]> {
  return (await a.store.members(list, { role: 'member' })).map((m) => m.address).sort();
}

describe('one-click tokens', () => {
  it('verify for their own list and address only', () => {
    const token = unsubscribeToken(secrets, LIST, 'ann@example.org');
    expect(checkUnsubscribeToken(secrets, token, new Date(), DAY)).toEqual({ valid: true, list: LIST, address: 'ann@example.org' });
    const mac = token.slice(token.indexOf('.'));
    for (const message of [`${LIST} bob@example.org`, `${OTHER} ann@example.org`]) {
      expect(checkUnsubscribeToken(secrets, `${Buffer.from(message).toString('base64url')}${mac}`, new Date(), DAY).valid).toBe(false);
    }
    const otherSite = SiteSecrets.fromBytes([{ id: '0badcafe', secret: Buffer.alloc(32, 2) }]);
    expect(checkUnsubscribeToken(otherSite, token, new Date(), DAY).valid).toBe(false);
  });

  it('the per-copy fields hold the token placeholder and the mailto; only with an https base URL and the setting on', async () => {
    const a = await withMembers();
    const list = await a.store.getList(LIST);
    expect(oneClickHeaders(list, 'https://lists.example.org')).toEqual({
      'List-Unsubscribe': '<https://lists.example.org/u/{unsubscribeToken}>, <mailto:dev-leave@lists.example.org>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(oneClickEnabled(list, 'https://lists.example.org')).toBe(true);
    expect(oneClickEnabled(list, undefined)).toBe(false);
    // RFC 8058: an https URI only; the service's own loopback http address is no link for recipients.
    expect(oneClickEnabled(list, 'http://127.0.0.1:8025')).toBe(false);
    expect(oneClickEnabled({ ...list, settings: { ...list.settings, oneClickUnsubscribe: false } }, 'https://lists.example.org')).toBe(false);
  });
});

describe('oneClickUnsubscribe', () => {
  it('removes exactly the member of the token, and is harmless twice', async () => {
    const a = await withMembers();
    const token = unsubscribeToken(secrets, LIST, 'ann@example.org');
    expect(await oneClickUnsubscribe(a, secrets, token, a.now(), DAY)).toEqual({ status: 'unsubscribed', list: LIST, address: 'ann@example.org' });
    expect(await memberAddresses(a, LIST)).toEqual(['bob@example.org']);
    expect(await memberAddresses(a, OTHER)).toEqual(['ann@example.org']);
    expect((await oneClickUnsubscribe(a, secrets, token, a.now(), DAY)).status).toBe('not-member');
    // No goodbye or any other mail.
    expect(a.enqueued).toEqual([]);
  });

  it('a bad token changes nothing', async () => {
    const a = await withMembers();
    const token = unsubscribeToken(secrets, LIST, 'ann@example.org');
    expect((await oneClickUnsubscribe(a, secrets, `${token.slice(0, -1)}x`, a.now(), DAY)).status).toBe('invalid');
    expect((await oneClickUnsubscribe(a, secrets, 'garbage', a.now(), DAY)).status).toBe('invalid');
    expect(await memberAddresses(a, LIST)).toEqual(['ann@example.org', 'bob@example.org']);
  });
});

describe('requests from the web (unproven)', () => {
  it('an open list still sends a confirmation, with the web link when the service runs; without unproven it subscribes at once', async () => {
    app = await testApp('2026-12-06T08:00:00Z');
    await app.store.createList({ address: LIST, settings: { subscriptionPolicy: 'open', unsubscriptionPolicy: 'open' } });
    const web = { ...app, webBaseUrl: 'https://lists.example.org' };
    const asked = await requestSubscription(web, LIST, { address: 'cat@example.org' }, { unproven: true });
    expect(asked.status).toBe('confirmation-sent');
    expect(await memberAddresses(app, LIST)).toEqual([]);
    const token = asked.status === 'confirmation-sent' ? asked.request.token : '';
    expect(app.enqueued.at(-1)!.message.toString()).toContain(`https://lists.example.org/lists/${LIST}/confirm/${token}`);
    expect((await requestSubscription(app, LIST, { address: 'dan@example.org' })).status).toBe('subscribed');
    expect((await requestUnsubscription(web, LIST, 'dan@example.org', { unproven: true })).status).toBe('confirmation-sent');
    expect(await memberAddresses(app, LIST)).toEqual(['dan@example.org']);
  });
});
