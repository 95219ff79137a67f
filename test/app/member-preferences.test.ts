/**
 * src/app/member-preferences.ts on a real store: key=value parsing and
 * validation (SY_MEMBER_PREFERENCE), an owner's changes, a member's own
 * changes by mail (no re-enabling what the owner or bounces disabled), and
 * the defaults of a new membership.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parsePreference, parsePreferenceAssignments, setMemberPreferences, setOwnPreferences } from '../../src/app/member-preferences.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup(): Promise<TestApp> {
  app = await testApp();
  await app.store.createList({ address: LIST });
  await app.store.addMember(LIST, { address: 'anne@example.org' });
  return app;
}

describe('member preferences', () => {
  it('a new member has the defaults', async () => {
    const a = await setup();
    expect(await a.store.getMember(LIST, 'anne@example.org')).toMatchObject({
      deliveryStatus: 'enabled',
      deliveryMode: 'regular',
      receiveOwnPostings: true,
      receiveListCopy: true,
      acknowledgePosts: false,
      hideAddress: false,
      preferredLanguage: null,
    });
  });

  it('parses names, Mailman short words and yes/no spellings', () => {
    expect(parsePreferenceAssignments(['deliveryMode=plain_digests', 'receiveOwnPostings=false', 'preferredLanguage=pt-BR'])).toEqual({
      deliveryMode: 'plain_digests',
      receiveOwnPostings: false,
      preferredLanguage: 'pt-BR',
    });
    expect(parsePreference('digest', 'mime')).toEqual({ deliveryMode: 'mime_digests' });
    expect(parsePreference('DELIVERY', 'off')).toEqual({ deliveryStatus: 'by_user' });
    expect(parsePreference('deliveryStatus', 'disabled_by_owner')).toEqual({ deliveryStatus: 'by_owner' });
    expect(parsePreference('nodupes', 'on')).toEqual({ receiveListCopy: false });
    expect(parsePreference('hide', 'yes')).toEqual({ hideAddress: true });
    expect(parsePreference('language', 'default')).toEqual({ preferredLanguage: null });
  });

  it.each([
    [['colour=blue'], /no such preference; the preferences are deliveryMode, deliveryStatus/],
    [['deliveryMode=weekly'], /deliveryMode: "weekly" is not one of regular, mime_digests/],
    [['receiveOwnPostings=maybe'], /not a yes\/no value/],
    [['preferredLanguage=english!'], /not a language tag like en, pt-BR/],
    [['deliveryMode'], /expected key=value/],
    [[], /at least one key=value/],
  ])('%j is refused with SY_MEMBER_PREFERENCE', (pairs, message) => {
    expect(() => parsePreferenceAssignments(pairs)).toThrow(message);
    try {
      parsePreferenceAssignments(pairs);
    } catch (error) {
      expect(error).toMatchObject({ code: 'SY_MEMBER_PREFERENCE', exitCode: 2 });
    }
  });

  it('an owner sets any of them; enabling clears the bounce score', async () => {
    const a = await setup();
    await a.store.updateMember(LIST, 'anne@example.org', 'member', { deliveryStatus: 'by_bounces', bounceScore: 5, bounceWarningsSent: 2 });
    const member = await setMemberPreferences(a, LIST, 'anne@example.org', { deliveryStatus: 'enabled', deliveryMode: 'summary_digests', hideAddress: true, acknowledgePosts: true, receiveListCopy: false });
    expect(member).toMatchObject({ deliveryStatus: 'enabled', bounceScore: 0, bounceWarningsSent: 0, deliveryMode: 'summary_digests', hideAddress: true, acknowledgePosts: true, receiveListCopy: false });
    await expect(setMemberPreferences(a, LIST, 'nobody@example.org', { hideAddress: true })).rejects.toMatchObject({ code: 'SY_MEMBER_UNKNOWN' });
  });

  it('a member by mail turns delivery off and on, but cannot undo the owner or bounces', async () => {
    const a = await setup();
    expect((await setOwnPreferences(a, LIST, 'anne@example.org', { deliveryStatus: 'by_user' })).deliveryStatus).toBe('by_user');
    expect((await setOwnPreferences(a, LIST, 'anne@example.org', { deliveryStatus: 'enabled' })).deliveryStatus).toBe('enabled');
    await expect(setOwnPreferences(a, LIST, 'anne@example.org', { deliveryStatus: 'by_owner' })).rejects.toMatchObject({ code: 'SY_MEMBER_PREFERENCE_REFUSED' });
    for (const status of ['by_owner', 'by_bounces'] as const) {
      await a.store.updateMember(LIST, 'anne@example.org', 'member', { deliveryStatus: status });
      await expect(setOwnPreferences(a, LIST, 'anne@example.org', { deliveryStatus: 'enabled' })).rejects.toMatchObject({ code: 'SY_MEMBER_PREFERENCE_REFUSED' });
      expect((await a.store.getMember(LIST, 'anne@example.org')).deliveryStatus).toBe(status);
      // The other preferences stay the member's own.
      expect((await setOwnPreferences(a, LIST, 'anne@example.org', { deliveryMode: 'mime_digests' })).deliveryMode).toBe('mime_digests');
    }
  });
});
