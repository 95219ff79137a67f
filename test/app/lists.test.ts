/**
 * The lists use cases (src/app/lists.ts) on a real store: creation and
 * removal emit ListCreated / ListRemoved after the change, a failing
 * subscriber is reported without undoing it, and settings are set from
 * their text form with the password never shown. The MTA files follow the
 * events (src/mta/regenerate.ts regenerateOnListChange).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/app/events.js';
import { createList, getListSetting, listLists, listRemovalImpact, removeList, setListValue, showList } from '../../src/app/lists.js';
import { configSchema } from '../../src/config/schema.js';
import { regenerateOnListChange } from '../../src/mta/regenerate.js';
import { RegistryUnknownError } from '../../src/registry.js';
import { ListExistsError, ListSettingError, ListUnknownError } from '../../src/store/index.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function record(app: TestApp): AppEvent[] {
  const seen: AppEvent[] = [];
  app.events.on('ListCreated', (event) => void seen.push(event));
  app.events.on('ListRemoved', (event) => void seen.push(event));
  return seen;
}

describe('lists', () => {
  it('createList stores the list and then emits ListCreated with it; a second create is ListExistsError and emits nothing', async () => {
    app = await testApp();
    const seen = record(app);
    const { overview, subscriberErrors } = await createList(app, { address: LIST, displayName: 'Developers' });
    expect(subscriberErrors).toEqual([]);
    expect(overview).toMatchObject({ list: { address: LIST, displayName: 'Developers' }, counts: { member: 0, owner: 0, moderator: 0 }, held: 0 });
    expect(seen).toEqual([{ type: 'ListCreated', list: overview.list }]);
    await expect(createList(app, { address: LIST })).rejects.toBeInstanceOf(ListExistsError);
    expect(seen).toHaveLength(1);
  });

  it('a failing subscriber does not undo the change: the list exists, the other subscribers run, the error is returned', async () => {
    app = await testApp();
    const order: string[] = [];
    app.events.on('ListCreated', () => {
      order.push('first');
      throw new Error('postmap exploded');
    });
    app.events.on('ListCreated', async () => void order.push('second'));
    const { subscriberErrors } = await createList(app, { address: LIST });
    expect(subscriberErrors.map((error) => error.message)).toEqual(['postmap exploded']);
    expect(order).toEqual(['first', 'second']);
    expect((await app.store.getList(LIST)).address).toBe(LIST);
  });

  it('an unsubscribed subscriber is not called again', async () => {
    app = await testApp();
    const calls: string[] = [];
    const off = app.events.on('ListCreated', (event) => void calls.push(event.list.address));
    await createList(app, { address: LIST });
    off();
    await createList(app, { address: 'other@lists.example.org' });
    expect(calls).toEqual([LIST]);
  });

  it('listRemovalImpact says what would go; removeList removes it and emits ListRemoved with the counts', async () => {
    app = await testApp();
    await createList(app, { address: LIST });
    await app.store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'boss@example.org', role: 'owner' }]);
    await app.store.holdMessage({ list: LIST, sender: 'x@example.org', subject: 's', reason: 'r', raw: Buffer.from('m') });
    const seen = record(app);

    expect(await listRemovalImpact(app, LIST)).toEqual({ list: LIST, members: 2, held: 1 });
    expect(seen).toEqual([]);
    const { removed, subscriberErrors } = await removeList(app, LIST);
    expect(removed).toEqual({ list: LIST, members: 2, held: 1 });
    expect(subscriberErrors).toEqual([]);
    expect(seen).toEqual([{ type: 'ListRemoved', list: LIST, members: 2, held: 1 }]);
    expect(await app.store.findList(LIST)).toBeNull();
    await expect(listRemovalImpact(app, LIST)).rejects.toBeInstanceOf(ListUnknownError);
    await expect(removeList(app, LIST)).rejects.toBeInstanceOf(ListUnknownError);
    expect(seen).toHaveLength(1);
  });

  it('showList and listLists count members by role and held posts', async () => {
    app = await testApp();
    await createList(app, { address: LIST });
    await createList(app, { address: 'a@lists.example.org' });
    await app.store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }, { address: 'mod@example.org', role: 'moderator' }]);
    await app.store.holdMessage({ list: LIST, sender: 'x@example.org', subject: 's', reason: 'r', raw: Buffer.from('m') });
    expect(await showList(app, LIST)).toMatchObject({ counts: { member: 2, owner: 0, moderator: 1 }, held: 1 });
    expect((await listLists(app)).map((o) => [o.list.address, o.counts.member, o.held])).toEqual([
      ['a@lists.example.org', 0, 0],
      [LIST, 2, 1],
    ]);
    await expect(showList(app, 'nope@lists.example.org')).rejects.toBeInstanceOf(ListUnknownError);
  });

  it('setListValue parses the text form, sets list fields too, and never shows the password', async () => {
    app = await testApp();
    await createList(app, { address: LIST });
    expect((await setListValue(app, LIST, 'maxMessageSize', '80')).value).toBe(80);
    expect((await setListValue(app, LIST, 'emergency', 'yes')).value).toBe(true);
    expect((await setListValue(app, LIST, 'suspiciousHeaders', '["^X-Spam: yes"]')).value).toEqual(['^X-Spam: yes']);
    expect((await setListValue(app, LIST, 'displayName', 'Developers')).overview.list.displayName).toBe('Developers');
    const secret = await setListValue(app, LIST, 'moderatorPassword', 'hunter2');
    expect(secret.value).toBe('(set)');
    expect(JSON.stringify(await showList(app, LIST))).not.toContain('hunter2');
    expect(await getListSetting(app, LIST, 'moderatorPassword')).toBe('(set)');
    expect(await getListSetting(app, LIST, 'maxMessageSize')).toBe(80);
    expect(await getListSetting(app, LIST, 'displayName')).toBe('Developers');
    await expect(getListSetting(app, LIST, 'nosuchkey')).rejects.toBeInstanceOf(ListSettingError);
  });

  it('setListValue refuses a bad value before looking at the list, and an unknown list with a good one', async () => {
    app = await testApp();
    await expect(setListValue(app, 'nope@lists.example.org', 'maxMessageSize', 'lots')).rejects.toThrow(/list setting maxMessageSize: expected a number/);
    await expect(setListValue(app, 'nope@lists.example.org', 'nosuchkey', '1')).rejects.toBeInstanceOf(ListSettingError);
    await expect(setListValue(app, 'nope@lists.example.org', 'maxMessageSize', '10')).rejects.toBeInstanceOf(ListUnknownError);
  });

  it('settings naming registry entries are checked against the registries the context passes in, at set and at create', async () => {
    app = await testApp();
    await createList(app, { address: LIST });
    await expect(setListValue(app, LIST, 'postingPipeline', '["cleanse","bogus"]')).rejects.toBeInstanceOf(RegistryUnknownError);
    await expect(setListValue(app, LIST, 'postingChain', 'bogus')).rejects.toThrow(/unknown chain "bogus" \(known: default, approved\)/);
    expect((await showList(app, LIST)).list.settings.postingChain).toBe('default');
    await expect(createList(app, { address: 'other@lists.example.org', settings: { postingChain: 'bogus' } })).rejects.toBeInstanceOf(RegistryUnknownError);
    await expect(showList(app, 'other@lists.example.org')).rejects.toBeInstanceOf(ListUnknownError);
    // A context with other registries: the check is theirs, not a list built into src/app.
    const only = { check: (names: Iterable<string>) => { for (const name of names) if (name !== 'mine') throw new Error(`not mine: ${name}`); } };
    const custom = { ...app, settingRegistries: { postingChain: only } };
    expect((await setListValue(custom, LIST, 'postingChain', 'mine')).value).toBe('mine');
    await expect(setListValue(custom, LIST, 'postingChain', 'default')).rejects.toThrow('not mine: default');
  });
});

describe('MTA files on list events', () => {
  const config = configSchema.parse({ mta: { postmapCommand: '' } });

  it('are rewritten after createList and removeList', async () => {
    app = await testApp();
    regenerateOnListChange(app.events, app.dir, config, app.store);
    await createList(app, { address: LIST });
    expect(await readFile(join(app.dir, 'postfix_lmtp'), 'utf8')).toMatch(/^dev-request@lists\.example\.org /m);
    await removeList(app, LIST);
    expect(await readFile(join(app.dir, 'postfix_lmtp'), 'utf8')).not.toMatch(/^dev/m);
  });

  it('a failed rewrite is returned as SY_MTA_FILES_STALE naming `switchyard aliases`, and the list stays created', async () => {
    app = await testApp();
    // A home that is a file: no map can be written into it.
    await writeFile(join(app.dir, 'not-a-dir'), '');
    regenerateOnListChange(app.events, join(app.dir, 'not-a-dir'), config, app.store);
    const { subscriberErrors } = await createList(app, { address: LIST });
    expect(subscriberErrors).toHaveLength(1);
    expect(subscriberErrors[0]).toMatchObject({ code: 'SY_MTA_FILES_STALE' });
    expect(subscriberErrors[0]!.message).toMatch(/^the MTA files were not rewritten \(.*\); run `switchyard aliases` once fixed$/);
    expect((await app.store.getList(LIST)).address).toBe(LIST);
  });
});
