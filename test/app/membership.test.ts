/**
 * The membership use cases (src/app/membership.ts) on a real store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addMember, enableMember, exportMembers, importMembers, listMembers, removeMember, setMemberRole } from '../../src/app/membership.js';
import { AddressInvalidError, ListUnknownError, MemberExistsError, MemberUnknownError } from '../../src/store/index.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function withList(): Promise<TestApp> {
  app = await testApp();
  await app.store.createList({ address: LIST });
  return app;
}

describe('membership', () => {
  it('add, list and remove, one role at a time; duplicates, strangers and bad addresses are typed errors', async () => {
    const app = await withList();
    await addMember(app, LIST, { address: 'Anne@Example.ORG', displayName: 'Anne' });
    await addMember(app, LIST, { address: 'anne@example.org', role: 'moderator' });
    await expect(addMember(app, LIST, { address: 'anne@example.org' })).rejects.toBeInstanceOf(MemberExistsError);
    await expect(addMember(app, LIST, { address: 'not an address' })).rejects.toBeInstanceOf(AddressInvalidError);
    await expect(addMember(app, 'nope@lists.example.org', { address: 'x@example.org' })).rejects.toBeInstanceOf(ListUnknownError);
    expect((await listMembers(app, LIST)).map((m) => [m.address, m.role, m.displayName])).toEqual([
      ['Anne@example.org', 'member', 'Anne'],
      ['anne@example.org', 'moderator', ''],
    ]);
    expect(await listMembers(app, LIST, { role: 'moderator' })).toHaveLength(1);
    expect((await removeMember(app, LIST, 'anne@example.org', 'moderator')).role).toBe('moderator');
    await expect(removeMember(app, LIST, 'anne@example.org', 'moderator')).rejects.toBeInstanceOf(MemberUnknownError);
    expect((await listMembers(app, LIST)).map((m) => m.role)).toEqual(['member']);
  });

  it('enableMember re-enables delivery and clears the bounce score and reminders', async () => {
    const app = await withList();
    await addMember(app, LIST, { address: 'anne@example.org' });
    await app.store.updateMember(LIST, 'anne@example.org', 'member', { deliveryStatus: 'by_bounces', bounceScore: 5, bounceWarningsSent: 2, lastBounceWarningAt: app.now() });
    expect(await enableMember(app, LIST, 'anne@example.org')).toMatchObject({ deliveryStatus: 'enabled', bounceScore: 0, bounceWarningsSent: 0, lastBounceWarningAt: null });
    await expect(enableMember(app, LIST, 'bob@example.org')).rejects.toBeInstanceOf(MemberUnknownError);
  });

  it('importMembers opens the source only once the list is known, reports invalid lines, and export reads back', async () => {
    const app = await withList();
    let opened = 0;
    const source = async () => {
      opened++;
      return ['address,name', 'anne@example.org,Anne Example', 'not an address', 'Bob <bob@example.org>', 'anne@example.org'];
    };
    await expect(importMembers(app, 'nope@lists.example.org', source)).rejects.toBeInstanceOf(ListUnknownError);
    expect(opened).toBe(0);

    const progress: number[] = [];
    const result = await importMembers(app, LIST, source, { role: 'member', onProgress: (lines) => progress.push(lines) });
    expect(opened).toBe(1);
    expect(result).toMatchObject({ list: LIST, lines: 5, added: 2, existing: 1, invalid: [{ line: 3, text: 'not an address' }] });
    expect(progress.at(-1)).toBe(5);

    const csv = await exportMembers(app, LIST);
    expect(csv).toEqual(['anne@example.org,Anne Example', 'bob@example.org,Bob']);
    expect(await exportMembers(app, LIST, { format: 'lines' })).toEqual(['anne@example.org', 'bob@example.org']);
    await app.store.createList({ address: 'copy@lists.example.org' });
    expect(await importMembers(app, 'copy@lists.example.org', async () => csv)).toMatchObject({ added: 2, invalid: [] });
    expect(await exportMembers(app, 'copy@lists.example.org')).toEqual(csv);
  });

  it('setMemberRole moves an address to another role keeping its name, and finishes a move cut short', async () => {
    const app = await withList();
    await addMember(app, LIST, { address: 'anne@example.org', displayName: 'Anne' });
    const moved = await setMemberRole(app, LIST, 'anne@example.org', { from: 'member', to: 'moderator' });
    expect(moved).toMatchObject({ address: 'anne@example.org', role: 'moderator', displayName: 'Anne' });
    expect((await listMembers(app, LIST)).map((m) => m.role)).toEqual(['moderator']);
    // Asked again, it is done already.
    expect((await setMemberRole(app, LIST, 'anne@example.org', { from: 'member', to: 'moderator' })).role).toBe('moderator');

    // What a kill between the two steps leaves: both roles held. Running it again finishes the move.
    await addMember(app, LIST, { address: 'bob@example.org', displayName: 'Bob' });
    await addMember(app, LIST, { address: 'bob@example.org', role: 'owner' });
    expect((await setMemberRole(app, LIST, 'bob@example.org', { from: 'member', to: 'owner' })).role).toBe('owner');
    expect((await listMembers(app, LIST)).filter((m) => m.address === 'bob@example.org').map((m) => m.role)).toEqual(['owner']);

    await expect(setMemberRole(app, LIST, 'carol@example.org', { from: 'member', to: 'owner' })).rejects.toBeInstanceOf(MemberUnknownError);
  });
});
