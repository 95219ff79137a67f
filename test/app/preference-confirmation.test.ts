/**
 * src/app/preference-confirmation.ts: a `set` by mail changes nothing until
 * the member answers the confirmation mailed to their address (a forged From
 * gets nowhere), a token works once and only on its list, lapses with the
 * list's pendingRequestLifetime, counts against confirmationsPerDay, and the
 * owner's or bounces' stop on delivery stays.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { confirmPreferenceChange, requestPreferenceChange } from '../../src/app/preference-confirmation.js';
import { runPendingRequestsPass } from '../../src/app/subscriptions.js';
import type { ListSettings } from '../../src/store/index.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup(settings: Partial<ListSettings> = {}): Promise<TestApp> {
  app = await testApp();
  await app.store.createList({ address: LIST, settings });
  await app.store.addMember(LIST, { address: 'anne@example.org' });
  return app;
}

async function anne(a: TestApp) {
  return a.store.getMember(LIST, 'anne@example.org', 'member');
}

describe('preference changes by mail', () => {
  it('change nothing until the member confirms from the mail sent to their address; the token then works once', async () => {
    const a = await setup();
    const outcome = await requestPreferenceChange(a, LIST, await anne(a), { deliveryStatus: 'by_user', deliveryMode: 'mime_digests' });
    expect(outcome.status).toBe('confirmation-sent');
    expect(await anne(a)).toMatchObject({ deliveryStatus: 'enabled', deliveryMode: 'regular' });
    // The confirmation goes to the member's address (not to whoever sent the command), token in Subject and Reply-To.
    expect(a.enqueued).toHaveLength(1);
    const notice = a.enqueued[0]!;
    expect(notice.queue).toBe('virgin');
    expect(notice.metadata).toMatchObject({ recipients: ['anne@example.org'], notice: 'confirm-preferences' });
    const token = outcome.status === 'confirmation-sent' ? outcome.token : '';
    const text = notice.message.toString('utf8');
    expect(text).toContain(`Subject: confirm ${token}`);
    expect(text).toContain(`Reply-To: dev-confirm+${token}@lists.example.org`);
    expect(text).toContain('deliveryMode: mime_digests');

    const applied = await confirmPreferenceChange(a, LIST, token.toUpperCase());
    expect(applied).toMatchObject({ status: 'applied', member: { deliveryStatus: 'by_user', deliveryMode: 'mime_digests' } });
    expect(await anne(a)).toMatchObject({ deliveryStatus: 'by_user', deliveryMode: 'mime_digests' });
    expect(await confirmPreferenceChange(a, LIST, token)).toBeNull();
  });

  it('a token of another list, or one that is not a preference change, is not one (the caller tries subscriptions next)', async () => {
    const a = await setup();
    await a.store.createList({ address: 'other@lists.example.org' });
    const outcome = await requestPreferenceChange(a, LIST, await anne(a), { hideAddress: true });
    const token = outcome.status === 'confirmation-sent' ? outcome.token : '';
    expect(await confirmPreferenceChange(a, 'other@lists.example.org', token)).toBeNull();
    expect(await confirmPreferenceChange(a, LIST, '0123456789abcdef0123456789abcdef')).toBeNull();
    expect(await confirmPreferenceChange(a, LIST, 'not a token')).toBeNull();
    // Still waiting on its own list.
    expect(await confirmPreferenceChange(a, LIST, token)).toMatchObject({ status: 'applied', member: { hideAddress: true } });
  });

  it('lapses after pendingRequestLifetime: a late confirmation changes nothing, and the pending-requests job removes the rest', async () => {
    const a = await setup({ pendingRequestLifetime: 2 });
    const late = await requestPreferenceChange(a, LIST, await anne(a), { hideAddress: true });
    const lapsing = await requestPreferenceChange(a, LIST, await anne(a), { acknowledgePosts: true });
    a.setNow('2024-06-03T12:00:01Z');
    const token = late.status === 'confirmation-sent' ? late.token : '';
    expect(await confirmPreferenceChange(a, LIST, token)).toEqual({ status: 'expired', address: 'anne@example.org' });
    expect(await anne(a)).toMatchObject({ hideAddress: false, acknowledgePosts: false });
    expect((await runPendingRequestsPass(a)).preferenceChangesLapsed).toBe(1);
    const lapsedToken = lapsing.status === 'confirmation-sent' ? lapsing.token : '';
    expect(await confirmPreferenceChange(a, LIST, lapsedToken)).toBeNull();
  });

  it('refuses at once to turn delivery back on after the owner stopped it, and refuses at confirmation when the owner stopped it meanwhile', async () => {
    const a = await setup();
    const pending = await requestPreferenceChange(a, LIST, await anne(a), { deliveryStatus: 'enabled', deliveryMode: 'plain_digests' });
    await a.store.updateMember(LIST, 'anne@example.org', 'member', { deliveryStatus: 'by_owner' });
    expect(await requestPreferenceChange(a, LIST, await anne(a), { deliveryStatus: 'enabled' })).toMatchObject({ status: 'refused', reason: expect.stringContaining('disabled by the list owner') });
    const token = pending.status === 'confirmation-sent' ? pending.token : '';
    expect(await confirmPreferenceChange(a, LIST, token)).toMatchObject({ status: 'refused', reason: expect.stringContaining('disabled by the list owner') });
    expect(await anne(a)).toMatchObject({ deliveryStatus: 'by_owner', deliveryMode: 'regular' });
  });

  it('a member who left before confirming is told so, and nothing is stored for them', async () => {
    const a = await setup();
    const pending = await requestPreferenceChange(a, LIST, await anne(a), { hideAddress: true });
    await a.store.removeMember(LIST, 'anne@example.org', 'member');
    const token = pending.status === 'confirmation-sent' ? pending.token : '';
    expect(await confirmPreferenceChange(a, LIST, token)).toMatchObject({ status: 'refused', reason: expect.stringContaining('no longer a member') });
  });

  it('mails no more confirmations a day than confirmationsPerDay allows', async () => {
    const a = await setup({ confirmationsPerDay: 2 });
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await requestPreferenceChange(a, LIST, await anne(a), { hideAddress: i % 2 === 0 })).status);
    expect(outcomes).toEqual(['confirmation-sent', 'confirmation-sent', 'confirmation-limit']);
    expect(a.enqueued).toHaveLength(2);
  });
});
