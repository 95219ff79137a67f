/**
 * The one list lookup (src/app/list-lookup.ts) the runners and ingress
 * routing share.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { lookupList } from '../../src/app/list-lookup.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('lookupList', () => {
  it('finds a list by its posting address, any case', async () => {
    app = await testApp();
    await app.store.createList({ address: LIST });
    expect((await lookupList(app.store, 'Dev@Lists.Example.ORG')).list?.address).toBe(LIST);
  });

  it('says unknown, with the reason, for no name, a missing list and a name that cannot be a list', async () => {
    app = await testApp();
    expect(await lookupList(app.store, undefined)).toEqual({ list: null, listId: undefined, reason: 'no list named' });
    expect(await lookupList(app.store, 42)).toMatchObject({ list: null, listId: undefined });
    expect(await lookupList(app.store, 'nope@lists.example.org')).toEqual({ list: null, listId: 'nope@lists.example.org', reason: 'no list nope@lists.example.org' });
    expect(await lookupList(app.store, 'dev@localhost')).toMatchObject({ list: null, listId: 'dev@localhost', reason: expect.stringContaining('invalid list address') });
    expect(await lookupList(app.store, 'dev-bounces@lists.example.org')).toMatchObject({ list: null, reason: expect.stringContaining('invalid list address') });
  });
});
