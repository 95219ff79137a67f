/**
 * Membership requests (src/app/subscriptions.ts) on a real store with a fake
 * clock: each policy, confirmation by token (twice, lapsed, other list),
 * owners' decisions, the per-day confirmation limit, bans, the owners'
 * hourly notice, and the scheduler's pass.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  confirmRequest,
  decideRequest,
  listRequests,
  requestSubscription,
  requestUnsubscription,
  RequestNotForOwnersError,
  runPendingRequestsPass,
  type RequestOutcome,
} from '../../src/app/subscriptions.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { PendingRequestUnknownError, type ListSettings } from '../../src/store/index.js';
import { LIST, testApp, type TestApp } from './harness.js';

const OTHER = 'ops@lists.example.org';
let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function withList(settings: Partial<ListSettings> = {}): Promise<TestApp> {
  app = await testApp('2026-12-05T08:00:00Z');
  await app.store.createList({ address: LIST, settings });
  await app.store.createList({ address: OTHER });
  await app.store.addMember(LIST, { address: 'owner@example.com', role: 'owner' });
  return app;
}

function mails(a: TestApp, notice: string): RawMessage[] {
  return a.enqueued.filter((e) => e.queue === 'virgin' && e.metadata.notice === notice).map((e) => RawMessage.parse(e.message));
}

function tokenOf(outcome: RequestOutcome): string {
  if (!('request' in outcome)) throw new Error(`no request in ${outcome.status}`);
  return outcome.request.token;
}

describe('subscriptions', () => {
  it('confirm policy: a confirmation only to the address, From and Reply-To name-confirm+TOKEN, Subject "confirm TOKEN"; no member until confirmed', async () => {
    const a = await withList();
    const outcome = await requestSubscription(a, LIST, { address: 'Ann@Example.ORG', displayName: 'Ann' });
    expect(outcome.status).toBe('confirmation-sent');
    const token = tokenOf(outcome);
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const [confirmation] = mails(a, 'confirm-subscribe');
    expect(confirmation!.get('To')).toBe('Ann@example.org');
    expect(confirmation!.get('From')).toBe(`dev-confirm+${token}@lists.example.org`);
    expect(confirmation!.get('Reply-To')).toBe(`dev-confirm+${token}@lists.example.org`);
    expect(confirmation!.get('Subject')).toBe(`confirm ${token}`);
    expect(a.enqueued.find((e) => e.metadata.notice === 'confirm-subscribe')!.metadata.recipients).toEqual(['Ann@example.org']);
    expect(await a.store.findMember(LIST, 'ann@example.org')).toBeNull();

    const confirmed = await confirmRequest(a, LIST, token.toUpperCase());
    expect(confirmed.status).toBe('subscribed');
    expect((await a.store.getMember(LIST, 'ann@example.org')).displayName).toBe('Ann');
    const [welcome] = mails(a, 'welcome');
    expect(welcome!.body.toString()).toContain('To leave the list, write to:        dev-leave@lists.example.org');
    expect(await listRequests(a, LIST)).toEqual([]);
  });

  it('confirming twice, with a lapsed token, or on another list does nothing and says so', async () => {
    const a = await withList();
    const token = tokenOf(await requestSubscription(a, LIST, { address: 'ann@example.org' }));
    expect((await confirmRequest(a, OTHER, token)).status).toBe('other-list');
    expect(await a.store.findMember(OTHER, 'ann@example.org')).toBeNull();
    expect((await confirmRequest(a, LIST, token)).status).toBe('subscribed');
    expect((await confirmRequest(a, LIST, token)).status).toBe('unknown-token');
    expect((await confirmRequest(a, LIST, 'not a token')).status).toBe('unknown-token');

    const late = tokenOf(await requestSubscription(a, LIST, { address: 'bob@example.net' }));
    a.setNow('2026-12-08T08:00:01Z');
    expect((await confirmRequest(a, LIST, late)).status).toBe('expired');
    expect(await a.store.findMember(LIST, 'bob@example.net')).toBeNull();
  });

  it('at most confirmationsPerDay confirmations per address a day; the same request is reused; the next day one more', async () => {
    const a = await withList({ confirmationsPerDay: 2 });
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await requestSubscription(a, LIST, { address: 'victim@example.com' }));
    expect(outcomes.map((o) => o.status)).toEqual(['confirmation-sent', 'confirmation-sent', 'confirmation-limit', 'confirmation-limit', 'confirmation-limit']);
    expect(mails(a, 'confirm-subscribe')).toHaveLength(2);
    expect((await listRequests(a, LIST)).filter((r) => r.address === 'victim@example.com')).toHaveLength(1);
    expect(await a.store.findMember(LIST, 'victim@example.com')).toBeNull();
    a.setNow('2026-12-06T00:00:01Z');
    expect((await requestSubscription(a, LIST, { address: 'victim@example.com' })).status).toBe('confirmation-sent');
  });

  it('open policy subscribes at once with a welcome; already a member, banned (list and site ^regex) and invalid addresses get a clear outcome', async () => {
    const a = await withList({ subscriptionPolicy: 'open', bannedAddresses: ['spam@example.com'] });
    expect((await requestSubscription(a, LIST, { address: 'ann@example.org' })).status).toBe('subscribed');
    expect(mails(a, 'welcome')).toHaveLength(1);
    expect((await requestSubscription(a, LIST, { address: 'ANN@example.org' })).status).toBe('already-member');
    expect(await requestSubscription(a, LIST, { address: 'Spam@Example.com' })).toMatchObject({ status: 'banned', ban: 'spam@example.com' });
    expect(await requestSubscription(a, LIST, { address: 'x@evil.test' }, { siteBans: ['^.*@evil\\.test$'] })).toMatchObject({ status: 'banned' });
    expect((await requestSubscription(a, LIST, { address: 'not an address' })).status).toBe('invalid');
    expect(await a.store.countMembers(LIST, { role: 'member' })).toBe(1);
  });

  it('a ban that is neither an address nor a valid ^regex is refused when set', async () => {
    const a = await withList();
    await expect(a.store.updateList(LIST, { settings: { bannedAddresses: ['^(unclosed'] } })).rejects.toThrow(/ban/);
    await expect(a.store.updateList(LIST, { settings: { bannedAddresses: ['no-at-sign'] } })).rejects.toThrow(/ban/);
  });

  it('moderate policy: an approval request and one owners notice per hour for a flood; approve subscribes, reject tells the address, discard drops', async () => {
    const a = await withList({ subscriptionPolicy: 'moderate' });
    for (let i = 0; i < 20; i++) expect((await requestSubscription(a, LIST, { address: `u${i}@example.com` })).status).toBe('pending-approval');
    const notices = mails(a, 'requests-waiting');
    expect(notices).toHaveLength(1);
    expect(a.enqueued.find((e) => e.metadata.notice === 'requests-waiting')!.metadata.toOwners).toBe(true);
    const requests = await listRequests(a, LIST);
    expect(requests.map((r) => r.kind)).toEqual(Array(20).fill('subscription_approval'));
    expect(await a.store.findMember(LIST, 'u0@example.com')).toBeNull();

    const approved = await decideRequest(a, LIST, requests[0]!.id, { decision: 'approve' });
    expect(approved.outcome?.status).toBe('subscribed');
    expect(await a.store.findMember(LIST, 'u0@example.com')).not.toBeNull();
    await decideRequest(a, LIST, requests[1]!.id, { decision: 'reject', reason: 'lab members only' });
    const [refused] = mails(a, 'request-refused');
    expect(refused!.get('To')).toBe('u1@example.com');
    expect(refused!.body.toString()).toContain('lab members only');
    await decideRequest(a, LIST, requests[2]!.id, { decision: 'discard' });
    await expect(decideRequest(a, LIST, requests[2]!.id, { decision: 'approve' })).rejects.toBeInstanceOf(PendingRequestUnknownError);
    await expect(decideRequest(a, OTHER, requests[3]!.id, { decision: 'approve' })).rejects.toBeInstanceOf(PendingRequestUnknownError);

    // Within the hour no second notice; the scheduler's pass in the next hour tells of all untold ones in one.
    await requestSubscription(a, LIST, { address: 'late@example.com' });
    expect(mails(a, 'requests-waiting')).toHaveLength(1);
    a.setNow('2026-12-05T09:17:00Z');
    expect((await runPendingRequestsPass(a)).ownersNotified).toBe(18);
    expect(mails(a, 'requests-waiting')[1]!.body.toString()).toContain('late@example.com');
    expect(mails(a, 'requests-waiting')).toHaveLength(2);
    expect((await runPendingRequestsPass(a)).ownersNotified).toBe(0);
  });

  it('confirm_then_moderate: confirmed by the address, then waits for the owners', async () => {
    const a = await withList({ subscriptionPolicy: 'confirm_then_moderate' });
    const token = tokenOf(await requestSubscription(a, LIST, { address: 'ann@example.org' }));
    expect((await confirmRequest(a, LIST, token)).status).toBe('pending-approval');
    expect(await a.store.findMember(LIST, 'ann@example.org')).toBeNull();
    const [request] = await listRequests(a, LIST);
    expect(request!.kind).toBe('subscription_approval');
    expect((await decideRequest(a, LIST, request!.id, { decision: 'approve' })).outcome?.status).toBe('subscribed');
  });

  it('approve or reject of a request waiting for a confirmation is refused: it is not the owners\' to decide', async () => {
    const a = await withList();
    await requestSubscription(a, LIST, { address: 'ann@example.org' });
    const [request] = await listRequests(a, LIST);
    await expect(decideRequest(a, LIST, request!.id, { decision: 'approve' })).rejects.toBeInstanceOf(RequestNotForOwnersError);
    expect(await a.store.findMember(LIST, 'ann@example.org')).toBeNull();
  });

  it('leave: confirm policy mails the member and removes on confirmation with a goodbye; open removes at once; moderate waits; a non-member is told', async () => {
    const a = await withList();
    await a.store.addMember(LIST, { address: 'ann@example.org' });
    const outcome = await requestUnsubscription(a, LIST, 'ann@example.org');
    expect(outcome.status).toBe('confirmation-sent');
    expect(mails(a, 'confirm-unsubscribe')[0]!.get('To')).toBe('ann@example.org');
    expect(await a.store.findMember(LIST, 'ann@example.org')).not.toBeNull();
    expect((await confirmRequest(a, LIST, tokenOf(outcome))).status).toBe('unsubscribed');
    expect(await a.store.findMember(LIST, 'ann@example.org')).toBeNull();
    expect(mails(a, 'goodbye')).toHaveLength(1);
    expect((await requestUnsubscription(a, LIST, 'ann@example.org')).status).toBe('not-member');

    await a.store.updateList(LIST, { settings: { unsubscriptionPolicy: 'open' } });
    await a.store.addMember(LIST, { address: 'bob@example.net' });
    expect((await requestUnsubscription(a, LIST, 'bob@example.net')).status).toBe('unsubscribed');

    await a.store.updateList(LIST, { settings: { unsubscriptionPolicy: 'moderate' } });
    await a.store.addMember(LIST, { address: 'cy@example.net' });
    expect((await requestUnsubscription(a, LIST, 'cy@example.net')).status).toBe('pending-approval');
    expect(await a.store.findMember(LIST, 'cy@example.net')).not.toBeNull();
  });

  it('the scheduler pass removes lapsed requests (pendingRequestLifetime days) and keeps live ones', async () => {
    const a = await withList({ pendingRequestLifetime: 1 });
    await requestSubscription(a, LIST, { address: 'ann@example.org' });
    a.setNow('2026-12-05T20:00:00Z');
    await requestSubscription(a, LIST, { address: 'bob@example.net' });
    a.setNow('2026-12-06T09:00:00Z');
    expect((await runPendingRequestsPass(a)).expired).toBe(1);
    expect((await listRequests(a, LIST)).map((r) => r.address)).toEqual(['bob@example.net']);
  });
});
