/**
 * Setting moderation up from the application layer on a real store: owners
 * and moderators given at list creation (one transaction, a warning when
 * there is no owner), per-member moderation actions, delivery disabled by
 * the owner, and the non-member lists with their pattern checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createList, listLists, showList } from '../../src/app/lists.js';
import { disableMember, enableMember, setModerationAction } from '../../src/app/membership.js';
import { addNonmemberPattern, listNonmemberPatterns, nonmemberDecision, removeNonmemberPattern } from '../../src/app/nonmembers.js';
import { AddressInvalidError, ListSettingError, ListUnknownError, MemberUnknownError } from '../../src/store/index.js';
import { parseSettingValue } from '../../src/store/list-settings.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('owners at creation', () => {
  it('createList adds the owners and moderators with the list, and warns of nothing', async () => {
    app = await testApp();
    const { overview } = await createList(app, { address: LIST, owners: ['boss@example.org', 'Second@Example.ORG'], moderators: ['mod@example.org'] });
    expect(overview.counts).toEqual({ member: 0, owner: 2, moderator: 1 });
    expect(overview.warnings).toEqual([]);
    expect((await app.store.members(LIST, { role: 'owner' })).map((m) => m.address)).toEqual(['boss@example.org', 'Second@example.org']);
  });

  it('a list without an owner is created with a warning naming the site owner that gets its notices; it stays in show and list until it has one', async () => {
    app = await testApp();
    const { overview } = await createList(app, { address: LIST });
    expect(overview.warnings).toEqual([expect.stringContaining('has no owner')]);
    expect(overview.warnings[0]).toContain('postmaster@lists.example.org');
    expect(overview.warnings[0]).toContain(`switchyard members add ${LIST} ADDRESS --role owner`);
    expect((await showList(app, LIST)).warnings).toHaveLength(1);
    expect((await listLists({ ...app, siteOwner: 'listmaster@example.net' }))[0]!.warnings[0]).toContain('listmaster@example.net');
    await app.store.addMember(LIST, { address: 'mod@example.org', role: 'moderator' });
    expect((await showList(app, LIST)).warnings).toEqual([expect.stringContaining('go to its moderators')]);
    await app.store.addMember(LIST, { address: 'boss@example.org', role: 'owner' });
    expect((await showList(app, LIST)).warnings).toEqual([]);
  });

  it('an invalid owner address creates nothing', async () => {
    app = await testApp();
    await expect(createList(app, { address: LIST, owners: ['boss@example.org', 'not an address'] })).rejects.toBeInstanceOf(AddressInvalidError);
    expect(await app.store.findList(LIST)).toBeNull();
  });
});

describe('members', () => {
  it('disableMember stops delivery by the owner (by_owner), the member stays; enableMember delivers again', async () => {
    app = await testApp();
    await app.store.createList({ address: LIST });
    await app.store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }]);
    expect((await disableMember(app, LIST, 'anne@example.org')).deliveryStatus).toBe('by_owner');
    expect(await app.store.deliveryAddresses(LIST)).toEqual(['bob@example.org']);
    expect(await app.store.members(LIST, { deliveryStatus: 'by_owner' })).toHaveLength(1);
    expect((await enableMember(app, LIST, 'anne@example.org')).deliveryStatus).toBe('enabled');
    expect(await app.store.deliveryAddresses(LIST)).toEqual(['anne@example.org', 'bob@example.org']);
    await expect(disableMember(app, LIST, 'stranger@example.org')).rejects.toBeInstanceOf(MemberUnknownError);
  });

  it("setModerationAction sets a member's own action and null goes back to the list default", async () => {
    app = await testApp();
    await app.store.createList({ address: LIST });
    await app.store.addMember(LIST, { address: 'anne@example.org' });
    expect((await setModerationAction(app, LIST, 'anne@example.org', 'hold')).moderationAction).toBe('hold');
    expect((await app.store.getMember(LIST, 'anne@example.org')).moderationAction).toBe('hold');
    expect((await setModerationAction(app, LIST, 'anne@example.org', null)).moderationAction).toBeNull();
    await expect(setModerationAction(app, LIST, 'anne@example.org', 'reject', 'owner')).rejects.toBeInstanceOf(MemberUnknownError);
  });
});

describe('non-member patterns', () => {
  it('add, list and remove addresses and ^regex patterns per action; adding twice or removing what is not there changes nothing', async () => {
    app = await testApp();
    await app.store.createList({ address: LIST });
    const added = await addNonmemberPattern(app, LIST, 'accept', 'Partner@Example.COM');
    expect(added).toMatchObject({ changed: true, pattern: 'Partner@example.com' });
    expect((await addNonmemberPattern(app, LIST, 'accept', 'partner@example.com')).changed).toBe(true); // another local-part case is kept as given
    expect((await addNonmemberPattern(app, LIST, 'accept', 'Partner@example.com')).changed).toBe(false);
    await addNonmemberPattern(app, LIST, 'discard', '^.*@spam\\.example$');
    expect(await listNonmemberPatterns(app, LIST)).toEqual({ accept: ['Partner@example.com', 'partner@example.com'], hold: [], reject: [], discard: ['^.*@spam\\.example$'] });
    expect((await removeNonmemberPattern(app, LIST, 'accept', 'PARTNER@example.com')).patterns.accept).toEqual([]);
    expect((await removeNonmemberPattern(app, LIST, 'hold', 'nobody@example.com')).changed).toBe(false);
    await expect(addNonmemberPattern(app, 'nope@lists.example.org', 'hold', 'a@example.com')).rejects.toBeInstanceOf(ListUnknownError);
  });

  it.each([
    ['an invalid regular expression', '^(unclosed', 'not a valid regular expression'],
    ['nested repetition', '^(a+)+$', 'exponential time'],
    ['a repeated alternation', '^(a|aa)*@example\\.com$', 'exponential time'],
    ['a nested group repeated', '^((ab)*c)+$', 'exponential time'],
    ['a pattern over 200 characters', `^${'a'.repeat(200)}`, 'at most 200'],
    ['something neither address nor ^regex', 'not an address', 'neither an address'],
  ])('refuses %s with SY_LIST_SETTING, changing nothing', async (_name, pattern, message) => {
    app = await testApp();
    await app.store.createList({ address: LIST });
    const refused = addNonmemberPattern(app, LIST, 'hold', pattern);
    await expect(refused).rejects.toBeInstanceOf(ListSettingError);
    await expect(refused).rejects.toThrow(message);
    expect(() => parseSettingValue('holdTheseNonmembers', JSON.stringify([pattern]))).toThrow(message);
    expect((await listNonmemberPatterns(app, LIST)).hold).toEqual([]);
  });

  it('accepts ordinary regular expressions: classes with + inside, bounded and optional groups', async () => {
    app = await testApp();
    await app.store.createList({ address: LIST });
    for (const pattern of ['^[^@]+@partner\\.example$', '^(alice|bob)@example\\.org$', '^[a-z0-9.+-]+@(lists\\.)?example\\.net$', '^(x[0-9]+)?y@example\\.com$']) {
      expect((await addNonmemberPattern(app, LIST, 'accept', pattern)).changed).toBe(true);
    }
  });

  it('nonmemberDecision takes the first matching action in the order accept, hold, reject, discard, case-insensitively', async () => {
    app = await testApp();
    await app.store.createList({ address: LIST });
    await addNonmemberPattern(app, LIST, 'discard', '^.*@example\\.com$');
    await addNonmemberPattern(app, LIST, 'accept', 'friend@example.com');
    await addNonmemberPattern(app, LIST, 'reject', '^spammer@');
    const { settings } = await app.store.getList(LIST);
    expect(nonmemberDecision(settings, 'FRIEND@example.com')).toEqual({ action: 'accept', pattern: 'friend@example.com' });
    expect(nonmemberDecision(settings, 'someone@EXAMPLE.com')).toEqual({ action: 'discard', pattern: '^.*@example\\.com$' });
    expect(nonmemberDecision(settings, 'spammer@example.com')).toEqual({ action: 'reject', pattern: '^spammer@' });
    expect(nonmemberDecision(settings, 'someone@example.org')).toBeNull();
  });
});
