/** Every routing rule of src/ingress/routing.ts, against a real SQLite store. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecipientUnknownError, routeList, routeRecipient, serviceLocalParts } from '../../src/ingress/routing.js';
import { openStore, type Store } from '../../src/store/index.js';

let home: string;
let store: Store;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sy-routing-'));
  store = openStore(home);
  await store.createList({ address: 'dev@lists.example.org' });
  await store.createList({ address: 'dev.team@bücher.example' });
});

afterAll(async () => {
  await store.close();
  await rm(home, { recursive: true, force: true });
});

describe('routeRecipient', () => {
  it.each([
    ['dev@lists.example.org', 'in', {}],
    ['DEV@Lists.Example.ORG', 'in', {}],
    ['<dev@lists.example.org>', 'in', {}],
    ['dev-request@lists.example.org', 'command', { command: 'request' }],
    ['dev-join@lists.example.org', 'command', { command: 'join' }],
    ['dev-subscribe@lists.example.org', 'command', { command: 'join' }],
    ['dev-leave@lists.example.org', 'command', { command: 'leave' }],
    ['dev-unsubscribe@lists.example.org', 'command', { command: 'leave' }],
    ['dev-confirm@lists.example.org', 'command', { command: 'confirm' }],
    ['dev-confirm+AbC123@lists.example.org', 'command', { command: 'confirm', token: 'AbC123' }],
    ['dev-bounces@lists.example.org', 'bounces', {}],
    ['dev-bounces+anne=example.net@lists.example.org', 'bounces', {}],
    ['"dev-bounces+odd=x.example"@lists.example.org', 'bounces', {}],
    ['dev-owner@lists.example.org', 'virgin', { toOwners: true }],
    ['dev.team@xn--bcher-kva.example', 'in', {}],
    ['dev.team-bounces@bücher.example', 'bounces', {}],
  ])('%s -> %s', async (recipient, queue, metadata) => {
    const route = await routeRecipient(store, recipient);
    expect(route.queue).toBe(queue);
    expect(route.metadata).toEqual(metadata);
    expect(route.listId).toBe(recipient.includes('team') ? 'dev.team@xn--bcher-kva.example' : 'dev@lists.example.org');
  });

  it.each([
    ['nope@lists.example.org', 'no list'],
    ['dev@other.example.org', 'no list'],
    ['dev-admin@lists.example.org', 'no list'],
    ['dev+x@lists.example.org', '+detail'],
    ['dev-request+x@lists.example.org', '+detail'],
    ['dev-owner+x@lists.example.org', '+detail'],
    ['dev-bounces+@lists.example.org', 'empty'],
    ['-bounces@lists.example.org', 'no such list'],
    ['dev', 'not an address'],
    ['', 'not an address'],
    ['dev@localhost', 'invalid list address'],
    ['dev\r\n@lists.example.org', 'not an address'],
    ['dev@lists.example.org/../../tmp', 'not an address'],
    ['dev@lists.example.org?x', 'not an address'],
  ])('refuses %j as unknown (%s)', async (recipient, why) => {
    const error = await routeRecipient(store, recipient).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecipientUnknownError);
    expect((error as Error).message).toContain(why);
  });

  it('lists every service address the MTA files carry', () => {
    expect(serviceLocalParts('dev')).toEqual(['dev', 'dev-bounces', 'dev-confirm', 'dev-join', 'dev-leave', 'dev-owner', 'dev-request', 'dev-subscribe', 'dev-unsubscribe']);
  });
});

describe('routeList', () => {
  it('routes an existing list to in and refuses others', async () => {
    expect(await routeList(store, 'Dev@lists.example.org')).toEqual({ listId: 'dev@lists.example.org', queue: 'in', metadata: {} });
    await expect(routeList(store, 'dev-request@lists.example.org')).rejects.toBeInstanceOf(RecipientUnknownError);
    await expect(routeList(store, 'nope@lists.example.org')).rejects.toBeInstanceOf(RecipientUnknownError);
  });
});
