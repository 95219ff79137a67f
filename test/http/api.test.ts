/**
 * The REST API of the HTTP service on a real built master: real HTTP
 * requests to 127.0.0.1, the list store changed through the same
 * application functions as the CLI (which then sees every change), and the
 * auth rules of every route: 401 without a valid token, 403 for a token of
 * another list or of a lower role, 404 for what does not exist, 409 on a
 * stale ETag, 422 on a bad value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../support/net.js';
import { makeHome, removeHome, runCli, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { runCliOk } from '../support/cli.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { createApiToken, type NewTokenRequest } from '../../src/app/api-tokens.js';
import { createList } from '../../src/app/lists.js';
import { importMembers } from '../../src/app/membership.js';
import { openStore } from '../../src/store/index.js';
import { entryPath, makeEntryId, nowMicros, Spool } from '../../queues/index.js';
import { SPOOL_OPTIONS } from '../../runners/queue-ids.js';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const A = 'alpha@lists.example.org';
const B = 'beta@lists.example.org';

let home: string;
let master: MasterHandle;
let base: string;
const tokens: Record<'admin' | 'ownerA' | 'modA' | 'ownerB' | 'revoked', string> = { admin: '', ownerA: '', modA: '', ownerB: '', revoked: '' };

const cli = (...args: string[]) => runCliOk(['--home', home, ...args]);

/** A token made in this process, as `switchyard tokens create` makes it (tested in test/cli): no CLI start-up (~0.35 s of CPU) each. */
async function token(request: NewTokenRequest): Promise<string> {
  return (await withHomeApp(home, (app) => createApiToken(app, request))).token;
}

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function call(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /metrics is text
  }
  return { status: response.status, body, headers: response.headers };
}

const enc = encodeURIComponent;

beforeAll(async () => {
  const port = await freePort();
  const smtpPort = await freePort(); // nothing listens: approved posts wait in retry, which is not what these tests look at
  home = await makeHome(testConfig(`[http]\nport = ${port}\nrateLimit = 10000\n\n[smtp]\nport = ${smtpPort}\nprobeTimeout = 0\n`));
  base = `http://127.0.0.1:${port}`;
  // Set up in this process, as `lists create`, `members import` and `tokens create` would (the CLI is tested in test/cli): eight CLI start-ups fewer.
  const lines = Array.from({ length: 250 }, (_, i) => `member${String(i).padStart(3, '0')}@example.com`);
  await withHomeApp(home, async (app) => {
    strict(await createList(app, { address: A, owners: ['owner@example.org'] }));
    strict(await createList(app, { address: B, owners: ['owner@example.org'] }));
    const imported = await importMembers(app, A, async () => [...lines, 'Zed Person <zed@example.net>']);
    if (imported.invalid.length > 0) throw new Error(`invalid member lines: ${JSON.stringify(imported.invalid)}`);
  });
  tokens.admin = await token({ name: 'ops', role: 'admin' });
  tokens.ownerA = await token({ name: 'ann', list: A, role: 'owner' });
  tokens.modA = await token({ name: 'mo', list: A, role: 'moderator' });
  tokens.ownerB = await token({ name: 'bo', list: B, role: 'owner' });
  tokens.revoked = await token({ name: 'gone', role: 'admin' });
  master = await startMaster(home);
}, 240_000);

afterAll(async () => {
  await master?.stop();
  if (home !== undefined) await removeHome(home);
});

describe('the HTTP service', () => {
  it('starts with the master, listens where [http] says, and shows in status as a service with its URL', async () => {
    const status = await master.status();
    const http = status.runners.find((r) => r.name === 'http')!;
    expect(http).toMatchObject({ kind: 'service', queue: null, state: 'running', info: { url: base } });
    const ready = master.lines.find((line) => typeof line.msg === 'string' && line.msg.startsWith('switchyard ready: '))!;
    expect(ready.msg).toContain(`http on 127.0.0.1:${base.split(':').at(-1)}`);
  });

  it('serves version and health without a token, and writes a request log line into the service log', async () => {
    const version = await call('GET', '/api/v1/system/version');
    expect(version.status).toBe(200);
    expect(version.body).toMatchObject({ api: 'v1' });
    expect(version.body.version).toMatch(/^\d+\.\d+\.\d+/);
    const health = await call('GET', '/api/v1/system/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ healthy: true, problems: [] });
    const logged = await master.waitForLine((line) => line.runner === 'http' && line.msg === 'request completed' && (line as { res?: { statusCode?: number } }).res?.statusCode === 200);
    expect(logged.level).toBe(30);
  });

  it('answers an unknown route 404 with SY_API_NOT_FOUND in a JSON error', async () => {
    const answer = await call('GET', '/api/v1/nothing-here', { token: tokens.admin });
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ code: 'SY_API_NOT_FOUND', temporary: false });
  });
});

describe('auth', () => {
  it('401 without a token, with a wrong one, and with a revoked one', async () => {
    const none = await call('GET', '/api/v1/lists');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('SY_API_UNAUTHORIZED');
    expect((await call('GET', '/api/v1/lists', { token: 'sy_not-a-token' })).status).toBe(401);
    expect((await call('GET', '/api/v1/lists', { token: tokens.revoked })).status).toBe(200);
    const listed = JSON.parse((await cli('tokens', 'list', '--json')).stdout) as { tokens: { id: number; name: string; lastUsedAt: string | null }[] };
    const gone = listed.tokens.find((t) => t.name === 'gone')!;
    expect(gone.lastUsedAt).not.toBeNull();
    await cli('tokens', 'revoke', String(gone.id));
    const revoked = await call('GET', '/api/v1/lists', { token: tokens.revoked });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('SY_API_UNAUTHORIZED');
  });

  it('keeps only hashes: no token appears in the store file', async () => {
    const store = openStore(home);
    try {
      const rows = await store.apiTokens();
      expect(rows.map((r) => r.name)).toEqual(['ops', 'ann', 'mo', 'bo']);
    } finally {
      await store.close();
    }
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(join(home, 'switchyard.db'));
    expect(bytes.includes(Buffer.from(tokens.admin))).toBe(false);
  });

  // Every list route, with the least role it needs.
  const listRoutes: [string, string, 'moderator' | 'owner' | 'admin', unknown?][] = [
    ['GET', '/api/v1/lists/LIST', 'moderator'],
    ['PATCH', '/api/v1/lists/LIST', 'owner', { description: 'x' }],
    ['DELETE', '/api/v1/lists/LIST', 'admin'],
    ['GET', '/api/v1/lists/LIST/members', 'moderator'],
    ['POST', '/api/v1/lists/LIST/members', 'owner', { address: 'new@example.org' }],
    ['DELETE', '/api/v1/lists/LIST/members/member001%40example.com', 'owner'],
    ['PATCH', '/api/v1/lists/LIST/members/member001%40example.com/preferences', 'owner', { hideAddress: true }],
    ['GET', '/api/v1/lists/LIST/held', 'moderator'],
    ['GET', '/api/v1/lists/LIST/held/1', 'moderator'],
    ['POST', '/api/v1/lists/LIST/held/1/approve', 'moderator'],
    ['POST', '/api/v1/lists/LIST/held/1/reject', 'moderator', { reason: 'no' }],
    ['POST', '/api/v1/lists/LIST/held/1/discard', 'moderator'],
    ['GET', '/api/v1/lists/LIST/requests', 'moderator'],
    ['POST', '/api/v1/lists/LIST/requests/1/approve', 'moderator'],
    ['POST', '/api/v1/lists/LIST/requests/1/reject', 'moderator', { reason: 'no' }],
    ['GET', '/api/v1/lists/LIST/bounces', 'moderator'],
    ['POST', '/api/v1/lists/LIST/held/bulk', 'moderator', { ids: [1], decision: 'discard' }],
    ['POST', '/api/v1/lists/LIST/bounces/member001%40example.com/enable', 'owner'],
    ['GET', '/api/v1/lists/LIST/owners', 'moderator'],
    ['POST', '/api/v1/lists/LIST/owners', 'owner', { address: 'new-owner@example.org' }],
    ['DELETE', '/api/v1/lists/LIST/owners/owner%40example.org', 'owner'],
    ['GET', '/api/v1/lists/LIST/moderators', 'moderator'],
    ['POST', '/api/v1/lists/LIST/moderators', 'owner', { address: 'new-mod@example.org' }],
    ['DELETE', '/api/v1/lists/LIST/moderators/mod%40example.org', 'owner'],
  ];

  it.each(listRoutes)('%s %s: 401 without a token, 403 for the moderator and owner of another list', async (method, path, _least, body) => {
    const url = path.replace('LIST', enc(B));
    expect((await call(method, url, { body })).status).toBe(401);
    for (const other of [tokens.modA, tokens.ownerA]) {
      const answer = await call(method, url, { token: other, body });
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('SY_API_FORBIDDEN');
    }
  });

  it.each(listRoutes.filter(([, , least]) => least !== 'moderator'))('%s %s: 403 for a moderator of the list itself (owners only)', async (method, path, least, body) => {
    const url = path.replace('LIST', enc(A));
    const answer = await call(method, url, { token: tokens.modA, body });
    expect(answer.status).toBe(403);
    if (least === 'admin') expect((await call(method, url, { token: tokens.ownerA, body })).status).toBe(403);
  });

  it.each([
    ['POST', '/api/v1/lists', { address: 'gamma@lists.example.org' }],
    ['GET', '/api/v1/queues', undefined],
    ['GET', '/api/v1/runners', undefined],
    ['POST', '/api/v1/queues/shunt/requeue', undefined],
    ['POST', '/api/v1/queues/bad/requeue', { ids: ['1700000000.000000+0000000000000000000000000000000000000000'] }],
  ])('%s %s is for site administrators: 401 without a token, 403 for an owner and a moderator', async (method, path, body) => {
    expect((await call(method, path, { body })).status).toBe(401);
    for (const other of [tokens.ownerA, tokens.modA]) {
      const answer = await call(method, path, { token: other, body });
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('SY_API_FORBIDDEN');
    }
  });

  it('404 for a list, member, held post or request that does not exist (with the code saying which)', async () => {
    const missing = enc('nope@lists.example.org');
    expect((await call('GET', `/api/v1/lists/${missing}`, { token: tokens.admin })).body.error.code).toBe('SY_LIST_UNKNOWN');
    expect((await call('GET', `/api/v1/lists/${missing}`, { token: tokens.admin })).status).toBe(404);
    const member = await call('DELETE', `/api/v1/lists/${enc(A)}/members/${enc('nobody@example.org')}`, { token: tokens.ownerA });
    expect([member.status, member.body.error.code]).toEqual([404, 'SY_MEMBER_UNKNOWN']);
    const held = await call('GET', `/api/v1/lists/${enc(A)}/held/9999`, { token: tokens.modA });
    expect([held.status, held.body.error.code]).toEqual([404, 'SY_HELD_UNKNOWN']);
    const request = await call('POST', `/api/v1/lists/${enc(A)}/requests/9999/approve`, { token: tokens.modA });
    expect([request.status, request.body.error.code]).toEqual([404, 'SY_REQUEST_UNKNOWN']);
  });

  it('a scoped token sees only its own list in the listing; a site administrator sees every list', async () => {
    const mine = await call('GET', '/api/v1/lists', { token: tokens.modA });
    expect(mine.body.lists.map((l: { address: string }) => l.address)).toEqual([A]);
    const all = await call('GET', '/api/v1/lists', { token: tokens.admin });
    expect(all.body.lists.map((l: { address: string }) => l.address)).toEqual(expect.arrayContaining([A, B]));
  });
});

describe('lists', () => {
  it('create (admin): 201 with its owners; the CLI then shows the list; a second create is 409 SY_LIST_EXISTS', async () => {
    const created = await call('POST', '/api/v1/lists', { token: tokens.admin, body: { address: 'gamma@lists.example.org', owners: ['gina@example.org'], description: 'third' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ address: 'gamma@lists.example.org', description: 'third', counts: { owner: 1, member: 0, moderator: 0 } });
    expect(created.headers.get('etag')).toMatch(/^"[\w-]+"$/);
    const shown = JSON.parse((await cli('lists', 'show', 'gamma@lists.example.org', '--json')).stdout) as { description: string };
    expect(shown.description).toBe('third');
    const again = await call('POST', '/api/v1/lists', { token: tokens.admin, body: { address: 'gamma@lists.example.org' } });
    expect([again.status, again.body.error.code]).toEqual([409, 'SY_LIST_EXISTS']);
    const invalid = await call('POST', '/api/v1/lists', { token: tokens.admin, body: { address: 'no at sign' } });
    expect([invalid.status, invalid.body.error.code]).toEqual([422, 'SY_LIST_NAME_INVALID']);
    const unknownField = await call('POST', '/api/v1/lists', { token: tokens.admin, body: { address: 'delta@lists.example.org', colour: 'red' } });
    expect([unknownField.status, unknownField.body.error.code]).toEqual([422, 'SY_API_INVALID']);
  });

  it('read (moderator) with an ETag; update (owner) with If-Match; a stale If-Match is 409 and changes nothing', async () => {
    const read = await call('GET', `/api/v1/lists/${enc(A)}`, { token: tokens.modA });
    expect(read.status).toBe(200);
    expect(read.body.settings.moderatorPassword).toBeNull();
    const tag = read.headers.get('etag')!;
    const first = await call('PATCH', `/api/v1/lists/${enc(A)}`, { token: tokens.ownerA, headers: { 'if-match': tag }, body: { maxMessageSize: 100, subjectPrefix: '[a] ' } });
    expect(first.status).toBe(200);
    expect(first.body.settings).toMatchObject({ maxMessageSize: 100, subjectPrefix: '[a] ' });
    expect(first.headers.get('etag')).not.toBe(tag);
    // A second admin still holding the old tag: refused, nothing written.
    const stale = await call('PATCH', `/api/v1/lists/${enc(A)}`, { token: tokens.admin, headers: { 'if-match': tag }, body: { maxMessageSize: 5 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('SY_API_STALE');
    expect((await cli('lists', 'show', A, '--json')).stdout).toContain('"maxMessageSize": 100');
    // The CLI changing the list makes the tag stale too: one store, one tag.
    await cli('lists', 'set', A, 'maxMessageSize', '200');
    const afterCli = await call('PATCH', `/api/v1/lists/${enc(A)}`, { token: tokens.ownerA, headers: { 'if-match': first.headers.get('etag')! }, body: { maxMessageSize: 300 } });
    expect(afterCli.status).toBe(409);
  });

  it('422 on a bad setting, with the same message `lists set` gives; a bad value among good ones changes none', async () => {
    const bad = await call('PATCH', `/api/v1/lists/${enc(A)}`, { token: tokens.ownerA, body: { subjectPrefix: '[x] ', defaultMemberAction: 'explode' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('SY_LIST_SETTING');
    const viaCli = await runCli(['--home', home, 'lists', 'set', A, 'defaultMemberAction', 'explode']);
    expect(viaCli.stderr).toContain(bad.body.error.message);
    expect((await call('GET', `/api/v1/lists/${enc(A)}`, { token: tokens.ownerA })).body.settings.subjectPrefix).toBe('[a] ');
    const unknown = await call('PATCH', `/api/v1/lists/${enc(A)}`, { token: tokens.ownerA, body: { noSuchSetting: 1 } });
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'SY_LIST_SETTING']);
    const chain = await call('PATCH', `/api/v1/lists/${enc(A)}`, { token: tokens.ownerA, body: { postingChain: 'no-such-chain' } });
    expect([chain.status, chain.body.error.code]).toEqual([422, 'SY_REGISTRY_UNKNOWN']);
    const notJson = await fetch(`${base}/api/v1/lists/${enc(A)}`, { method: 'PATCH', headers: { authorization: `Bearer ${tokens.ownerA}`, 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('SY_API_BAD_REQUEST');
  });

  it('delete (admin): the list and its members are gone, and a token scoped to it with them', async () => {
    const scoped = await token({ name: 'gina', list: 'gamma@lists.example.org', role: 'owner' });
    expect((await call('GET', `/api/v1/lists/${enc('gamma@lists.example.org')}`, { token: scoped })).status).toBe(200);
    const removed = await call('DELETE', `/api/v1/lists/${enc('gamma@lists.example.org')}`, { token: tokens.admin });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ list: 'gamma@lists.example.org', members: 1, held: 0 });
    expect((await call('GET', `/api/v1/lists/${enc('gamma@lists.example.org')}`, { token: tokens.admin })).status).toBe(404);
    expect((await call('GET', '/api/v1/lists', { token: scoped })).status).toBe(401);
  });
});

describe('members', () => {
  it('pages through every record once, in address order, by cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=100${cursor === null ? '' : `&cursor=${enc(cursor)}`}`;
      const page = await call('GET', `/api/v1/lists/${enc(A)}/members${query}`, { token: tokens.modA });
      expect(page.status).toBe(200);
      seen.push(...page.body.members.map((m: { address: string; role: string }) => `${m.address} ${m.role}`));
      cursor = page.body.next;
      pages++;
    } while (cursor !== null);
    // 250 imported, Zed, and the owner.
    expect(seen).toHaveLength(252);
    expect(new Set(seen).size).toBe(252);
    expect(pages).toBe(3);
    expect([...seen].sort()).toEqual(seen);
  });

  it('searches addresses and display names, and filters by role', async () => {
    const byName = await call('GET', `/api/v1/lists/${enc(A)}/members?search=zed%20pers`, { token: tokens.modA });
    expect(byName.body.members.map((m: { address: string }) => m.address)).toEqual(['zed@example.net']);
    const byAddress = await call('GET', `/api/v1/lists/${enc(A)}/members?search=member01&limit=1000`, { token: tokens.modA });
    expect(byAddress.body.members).toHaveLength(10);
    const owners = await call('GET', `/api/v1/lists/${enc(A)}/members?role=owner`, { token: tokens.modA });
    expect(owners.body.members.map((m: { address: string }) => m.address)).toEqual(['owner@example.org']);
    const wildcard = await call('GET', `/api/v1/lists/${enc(A)}/members?search=%25`, { token: tokens.modA });
    expect(wildcard.body.members).toEqual([]);
    const badLimit = await call('GET', `/api/v1/lists/${enc(A)}/members?limit=0`, { token: tokens.modA });
    expect([badLimit.status, badLimit.body.error.code]).toEqual([422, 'SY_API_INVALID']);
    const badCursor = await call('GET', `/api/v1/lists/${enc(A)}/members?cursor=garbage`, { token: tokens.modA });
    expect(badCursor.status).toBe(422);
  });

  it('add, set preferences and remove (owner), as the CLI sees them; a bad preference is 422', async () => {
    const added = await call('POST', `/api/v1/lists/${enc(A)}/members`, { token: tokens.ownerA, body: { address: 'Newbie@Example.org', displayName: 'New Bie' } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ address: 'Newbie@example.org', role: 'member', deliveryMode: 'regular' });
    const twice = await call('POST', `/api/v1/lists/${enc(A)}/members`, { token: tokens.ownerA, body: { address: 'newbie@example.org' } });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'SY_MEMBER_EXISTS']);
    const badName = await call('POST', `/api/v1/lists/${enc(A)}/members`, { token: tokens.ownerA, body: { address: 'eve@example.org', displayName: 'Eve\nBcc: all@example.org' } });
    expect([badName.status, badName.body.error.code]).toEqual([422, 'SY_MEMBER_NAME_INVALID']);
    const badOwner = await call('POST', `/api/v1/lists/${enc(A)}/owners`, { token: tokens.ownerA, body: { address: 'eve@example.org', displayName: 'Eve\r' } });
    expect([badOwner.status, badOwner.body.error.code]).toEqual([422, 'SY_MEMBER_NAME_INVALID']);
    const badAddress = await call('POST', `/api/v1/lists/${enc(A)}/members`, { token: tokens.ownerA, body: { address: 'not an address' } });
    expect([badAddress.status, badAddress.body.error.code]).toEqual([422, 'SY_ADDRESS_INVALID']);
    const prefs = await call('PATCH', `/api/v1/lists/${enc(A)}/members/${enc('newbie@example.org')}/preferences`, { token: tokens.ownerA, body: { deliveryMode: 'plain', hideAddress: true } });
    expect(prefs.status).toBe(200);
    expect(prefs.body).toMatchObject({ deliveryMode: 'plain_digests', hideAddress: true });
    const badPref = await call('PATCH', `/api/v1/lists/${enc(A)}/members/${enc('newbie@example.org')}/preferences`, { token: tokens.ownerA, body: { deliveryMode: 'carrier-pigeon' } });
    expect([badPref.status, badPref.body.error.code]).toEqual([422, 'SY_MEMBER_PREFERENCE']);
    const listed = JSON.parse((await cli('members', 'list', A, '--json')).stdout) as { members: { address: string; deliveryMode?: string }[] };
    expect(listed.members.find((m) => m.address === 'Newbie@example.org')).toBeDefined();
    const removed = await call('DELETE', `/api/v1/lists/${enc(A)}/members/${enc('newbie@example.org')}`, { token: tokens.ownerA });
    expect(removed.status).toBe(200);
    const after = JSON.parse((await cli('members', 'list', A, '--json')).stdout) as { members: { address: string }[] };
    expect(after.members.find((m) => m.address === 'Newbie@example.org')).toBeUndefined();
  });
});

async function hold(subject: string, list = A): Promise<number> {
  const store = openStore(home);
  try {
    const raw = Buffer.from(`From: Stranger <stranger@example.net>\r\nTo: ${list}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.net>\r\n\r\nHello <b>there</b>\r\n`);
    const held = await store.holdMessage({ list, sender: 'stranger@example.net', subject, reason: 'post from a non-member', raw, messageId: `<${subject}@example.net>`, metadata: { listId: list } });
    return held.id;
  } finally {
    await store.close();
  }
}

describe('held posts', () => {
  it('lists and shows a held post (headers and text, not rendered) to a moderator', async () => {
    const id = await hold('first post');
    const listed = await call('GET', `/api/v1/lists/${enc(A)}/held`, { token: tokens.modA });
    expect(listed.status).toBe(200);
    expect(listed.body.held).toEqual([expect.objectContaining({ id, sender: 'stranger@example.net', subject: 'first post', reason: 'post from a non-member' })]);
    const shown = await call('GET', `/api/v1/lists/${enc(A)}/held/${id}`, { token: tokens.modA });
    expect(shown.status).toBe(200);
    expect(shown.body.headers).toContainEqual({ name: 'Subject', value: 'first post' });
    expect(shown.body.text).toBe('Hello <b>there</b>\r\n');
    // Another list's post is not found through this list.
    expect((await call('GET', `/api/v1/lists/${enc(B)}/held/${id}`, { token: tokens.admin })).status).toBe(404);
  });

  it('approve puts the post back on `in`; reject records the reason; discard drops it; each is then gone from the list', async () => {
    const [approve, reject, discard] = [await hold('approve me'), await hold('reject me'), await hold('discard me')];
    const approved = await call('POST', `/api/v1/lists/${enc(A)}/held/${approve}/approve`, { token: tokens.modA });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ id: approve, decision: 'approve', decidedBy: expect.stringContaining('(mo)') });
    expect(approved.body.entry).toMatch(/^\d{10}\.\d{6}\+[0-9a-f]{40}$/);
    const rejected = await call('POST', `/api/v1/lists/${enc(A)}/held/${reject}/reject`, { token: tokens.ownerA, body: { reason: 'off topic' } });
    expect(rejected.status).toBe(200);
    expect(rejected.body.decision).toBe('reject');
    const discarded = await call('POST', `/api/v1/lists/${enc(A)}/held/${discard}/discard`, { token: tokens.admin });
    expect(discarded.status).toBe(200);
    const remaining = (await call('GET', `/api/v1/lists/${enc(A)}/held`, { token: tokens.modA })).body.held.map((h: { id: number }) => h.id);
    for (const id of [approve, reject, discard]) expect(remaining).not.toContain(id);
    const store = openStore(home);
    try {
      expect((await store.heldDecision(reject))?.reason).toBe('off topic');
    } finally {
      await store.close();
    }
    const again = await call('POST', `/api/v1/lists/${enc(A)}/held/${approve}/approve`, { token: tokens.modA });
    expect([again.status, again.body.error.code]).toEqual([404, 'SY_HELD_UNKNOWN']);
    const badId = await call('GET', `/api/v1/lists/${enc(A)}/held/abc`, { token: tokens.modA });
    expect([badId.status, badId.body.error.code]).toEqual([422, 'SY_API_INVALID']);
  });

  it('bulk: each post decided as its own route decides it; one decided before, held on another list or never held is said so and does not stop the rest', async () => {
    const [first, second, before] = [await hold('bulk one'), await hold('bulk two'), await hold('bulk decided before')];
    const onB = await hold('bulk on beta', B);
    expect((await call('POST', `/api/v1/lists/${enc(A)}/held/${before}/discard`, { token: tokens.ownerA })).status).toBe(200);
    const bulk = await call('POST', `/api/v1/lists/${enc(A)}/held/bulk`, { token: tokens.modA, body: { ids: [first, String(second), before, onB, 999_999], decision: 'approve' } });
    expect(bulk.status).toBe(200);
    expect(bulk.body).toMatchObject({ decision: 'approve', decidedBy: expect.stringContaining('(mo)'), counts: { decided: 2, not_found: 2, already_decided: 1, failed: 0 } });
    expect(bulk.body.results).toEqual([
      { id: first, outcome: 'decided', entry: expect.stringMatching(/^\d{10}\.\d{6}\+[0-9a-f]{40}$/) },
      { id: second, outcome: 'decided', entry: expect.stringMatching(/^\d{10}\.\d{6}\+[0-9a-f]{40}$/) },
      { id: before, outcome: 'already_decided', decision: 'discard', decidedBy: expect.stringContaining('(ann)'), decidedAt: expect.any(String) },
      { id: onB, outcome: 'not_found', error: expect.objectContaining({ code: 'SY_HELD_UNKNOWN' }) },
      { id: 999_999, outcome: 'not_found', error: expect.objectContaining({ code: 'SY_HELD_UNKNOWN' }) },
    ]);
    const remaining = (await call('GET', `/api/v1/lists/${enc(A)}/held`, { token: tokens.modA })).body.held.map((h: { id: number }) => h.id);
    for (const id of [first, second, before]) expect(remaining).not.toContain(id);
    // Beta's post still waits on beta.
    expect((await call('GET', `/api/v1/lists/${enc(B)}/held/${onB}`, { token: tokens.admin })).status).toBe(200);

    const [r1, r2] = [await hold('bulk reject one'), await hold('bulk reject two')];
    const rejected = await call('POST', `/api/v1/lists/${enc(A)}/held/bulk`, { token: tokens.ownerA, body: { ids: [r1, r2], decision: 'reject', reason: 'off topic, both' } });
    expect(rejected.status).toBe(200);
    expect(rejected.body.results.map((r: { outcome: string; notice?: string }) => [r.outcome, r.notice])).toEqual([
      ['decided', 'sent to stranger@example.net'],
      ['decided', 'sent to stranger@example.net'],
    ]);
    const store = openStore(home);
    try {
      for (const id of [r1, r2]) expect(await store.heldDecision(id)).toMatchObject({ decision: 'reject', reason: 'off topic, both' });
    } finally {
      await store.close();
    }
  });

  it('bulk: 422 for a body it does not take (no ids, a word for an id, an unknown decision, a reason with an approval, an unknown field); 404 for an unknown list', async () => {
    const url = `/api/v1/lists/${enc(A)}/held/bulk`;
    for (const body of [{ ids: [], decision: 'discard' }, { ids: ['abc'], decision: 'discard' }, { ids: [1], decision: 'maybe' }, { ids: [1], decision: 'approve', reason: 'why not' }, { ids: [1], decision: 'discard', colour: 'red' }, undefined]) {
      const answer = await call('POST', url, { token: tokens.modA, body });
      expect([answer.status, answer.body.error.code], JSON.stringify(body)).toEqual([422, 'SY_API_INVALID']);
    }
    const unknown = await call('POST', `/api/v1/lists/${enc('nope@lists.example.org')}/held/bulk`, { token: tokens.admin, body: { ids: [1], decision: 'discard' } });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'SY_LIST_UNKNOWN']);
  });
});

describe('membership requests', () => {
  async function request(address: string): Promise<number> {
    const store = openStore(home);
    try {
      const now = new Date();
      const created = await store.addPendingRequest({ token: `${address}-token`, list: A, kind: 'subscription_approval', address, createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000) });
      return created.id;
    } finally {
      await store.close();
    }
  }

  it('lists, approves (the address becomes a member) and rejects requests waiting for the owners', async () => {
    const yes = await request('wants-in@example.org');
    const no = await request('spammer@example.org');
    const listed = await call('GET', `/api/v1/lists/${enc(A)}/requests`, { token: tokens.modA });
    expect(listed.body.requests.map((r: { address: string; waitsFor: string }) => [r.address, r.waitsFor])).toEqual([
      ['wants-in@example.org', 'owners'],
      ['spammer@example.org', 'owners'],
    ]);
    const approved = await call('POST', `/api/v1/lists/${enc(A)}/requests/${yes}/approve`, { token: tokens.modA });
    expect(approved.status).toBe(200);
    expect(approved.body.outcome).toContain('wants-in@example.org is now a member');
    const rejected = await call('POST', `/api/v1/lists/${enc(A)}/requests/${no}/reject`, { token: tokens.ownerA, body: { reason: 'members of the lab only' } });
    expect(rejected.status).toBe(200);
    expect((await call('GET', `/api/v1/lists/${enc(A)}/requests`, { token: tokens.modA })).body.requests).toEqual([]);
    const members = await call('GET', `/api/v1/lists/${enc(A)}/members?search=wants-in`, { token: tokens.modA });
    expect(members.body.members.map((m: { address: string }) => m.address)).toEqual(['wants-in@example.org']);
  });
});

describe('bounces, queues and runners', () => {
  it("a list's bounce scores, to its moderators", async () => {
    const answer = await call('GET', `/api/v1/lists/${enc(A)}/bounces?all=true`, { token: tokens.modA });
    expect(answer.status).toBe(200);
    expect(answer.body.list).toBe(A);
    expect(answer.body.members.find((m: { address: string }) => m.address === 'member000@example.com')).toMatchObject({ score: 0, deliveryStatus: 'enabled' });
  });

  it('re-enable (owner): a member disabled by bounces gets mail again, its score and reminders reset, as the CLI then shows', async () => {
    const address = 'member003@example.com';
    const store = openStore(home);
    try {
      await store.updateMember(A, address, 'member', { deliveryStatus: 'by_bounces', bounceScore: 5, lastBounceAt: new Date(), bounceWarningsSent: 2, lastBounceWarningAt: new Date() });
    } finally {
      await store.close();
    }
    const before = await call('GET', `/api/v1/lists/${enc(A)}/bounces`, { token: tokens.modA });
    expect(before.body.members.find((m: { address: string }) => m.address === address)).toMatchObject({ score: 5, deliveryStatus: 'by_bounces', warningsSent: 2 });
    // Moderators look; owners re-enable (as in the web admin).
    expect((await call('POST', `/api/v1/lists/${enc(A)}/bounces/${enc(address)}/enable`, { token: tokens.modA })).status).toBe(403);
    const enabled = await call('POST', `/api/v1/lists/${enc(A)}/bounces/${enc(address)}/enable`, { token: tokens.ownerA });
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ address, deliveryStatus: 'enabled', bounceScore: 0 });
    const shown = JSON.parse((await cli('bounces', A, '--all', '--json')).stdout) as { members: { address: string; score: number; state: string; warningsSent: number }[] };
    expect(shown.members.find((m) => m.address === address)).toMatchObject({ score: 0, state: 'enabled', warningsSent: 0 });
    const nobody = await call('POST', `/api/v1/lists/${enc(A)}/bounces/${enc('nobody@example.org')}/enable`, { token: tokens.ownerA });
    expect([nobody.status, nobody.body.error.code]).toEqual([404, 'SY_MEMBER_UNKNOWN']);
    const noList = await call('POST', `/api/v1/lists/${enc('nope@lists.example.org')}/bounces/${enc(address)}/enable`, { token: tokens.admin });
    expect(noList.status).toBe(404);
    const notAnAddress = await call('POST', `/api/v1/lists/${enc(A)}/bounces/${enc('not an address')}/enable`, { token: tokens.ownerA });
    expect(notAnAddress.status).toBe(422);
  });

  it('queues and runners: the `status` data, to site administrators', async () => {
    const queues = await call('GET', '/api/v1/queues', { token: tokens.admin });
    expect(queues.status).toBe(200);
    expect(Object.keys(queues.body.queues)).toEqual(expect.arrayContaining(['in', 'out', 'retry', 'bad']));
    const runners = await call('GET', '/api/v1/runners', { token: tokens.admin });
    expect(runners.status).toBe(200);
    expect(runners.body.runners.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['http', 'incoming', 'outgoing', 'scheduler']));
    const status = JSON.parse((await cli('status', '--json')).stdout) as { runners: { name: string; pid: number }[] };
    expect(runners.body.runners.find((r: { name: string }) => r.name === 'incoming').pid).toBe(status.runners.find((r) => r.name === 'incoming')!.pid);
    // The work counters, as `status --json` has them: every counter, labelled ones per label value.
    expect(runners.body.counters).toMatchObject({ deliveryRecipients: { '2xx': expect.any(Number), '4xx': expect.any(Number), '5xx': expect.any(Number) }, lmtpSessions: expect.any(Number) });
    expect(Object.keys(runners.body.counters).sort()).toEqual(Object.keys((JSON.parse((await cli('status', '--json')).stdout) as { counters: object }).counters).sort());
  });
});

describe('owners and moderators', () => {
  it('lists them to moderators; owners add and remove them, as `members list --role` then shows', async () => {
    const owners = await call('GET', `/api/v1/lists/${enc(A)}/owners`, { token: tokens.modA });
    expect(owners.status).toBe(200);
    expect(owners.body.owners).toEqual([{ address: 'owner@example.org', displayName: '', role: 'owner', since: expect.any(String) }]);
    const added = await call('POST', `/api/v1/lists/${enc(A)}/owners`, { token: tokens.ownerA, body: { address: 'Co-Owner@Example.org', displayName: 'Co Owner' } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ address: 'Co-Owner@example.org', displayName: 'Co Owner', role: 'owner' });
    const mod = await call('POST', `/api/v1/lists/${enc(A)}/moderators`, { token: tokens.admin, body: { address: 'mod@example.org' } });
    expect(mod.status).toBe(201);
    expect((await call('GET', `/api/v1/lists/${enc(A)}/moderators`, { token: tokens.modA })).body.moderators.map((m: { address: string }) => m.address)).toEqual(['mod@example.org']);
    const viaCli = JSON.parse((await cli('members', 'list', A, '--role', 'owner', '--json')).stdout) as { members: { address: string }[] };
    expect(viaCli.members.map((m) => m.address).sort()).toEqual(['Co-Owner@example.org', 'owner@example.org']);

    const removed = await call('DELETE', `/api/v1/lists/${enc(A)}/moderators/${enc('mod@example.org')}`, { token: tokens.ownerA });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ address: 'mod@example.org', role: 'moderator', warnings: [] });
    expect((await call('GET', `/api/v1/lists/${enc(A)}/moderators`, { token: tokens.modA })).body.moderators).toEqual([]);
    const coOwner = await call('DELETE', `/api/v1/lists/${enc(A)}/owners/${enc('co-owner@example.org')}`, { token: tokens.ownerA });
    expect(coOwner.status).toBe(200);
    expect(coOwner.body.warnings).toEqual([]);
  });

  it('409 for one already there; 404 for one not there or an unknown list; 422 for a bad address or body', async () => {
    const twice = await call('POST', `/api/v1/lists/${enc(A)}/owners`, { token: tokens.ownerA, body: { address: 'owner@example.org' } });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'SY_MEMBER_EXISTS']);
    const gone = await call('DELETE', `/api/v1/lists/${enc(A)}/moderators/${enc('never@example.org')}`, { token: tokens.ownerA });
    expect([gone.status, gone.body.error.code]).toEqual([404, 'SY_MEMBER_UNKNOWN']);
    // A member is not an owner: the role is what is removed.
    const member = await call('DELETE', `/api/v1/lists/${enc(A)}/owners/${enc('member002@example.com')}`, { token: tokens.ownerA });
    expect([member.status, member.body.error.code]).toEqual([404, 'SY_MEMBER_UNKNOWN']);
    const noList = await call('GET', `/api/v1/lists/${enc('nope@lists.example.org')}/moderators`, { token: tokens.admin });
    expect([noList.status, noList.body.error.code]).toEqual([404, 'SY_LIST_UNKNOWN']);
    const badAddress = await call('POST', `/api/v1/lists/${enc(A)}/moderators`, { token: tokens.ownerA, body: { address: 'not an address' } });
    expect([badAddress.status, badAddress.body.error.code]).toEqual([422, 'SY_ADDRESS_INVALID']);
    for (const body of [{}, { address: 'x@example.org', role: 'owner' }, { address: 7 }]) {
      const answer = await call('POST', `/api/v1/lists/${enc(A)}/owners`, { token: tokens.ownerA, body });
      expect([answer.status, answer.body.error.code], JSON.stringify(body)).toEqual([422, 'SY_API_INVALID']);
    }
  });

  it('removing the last owner is allowed (a list may have none) and answered with where its notices go now', async () => {
    const last = await call('DELETE', `/api/v1/lists/${enc(B)}/owners/${enc('owner@example.org')}`, { token: tokens.ownerB });
    expect(last.status).toBe(200);
    expect(last.body.warnings).toEqual([expect.stringContaining(`${B} has no owner`)]);
    expect((await call('GET', `/api/v1/lists/${enc(B)}/owners`, { token: tokens.ownerB })).body.owners).toEqual([]);
    expect((await call('POST', `/api/v1/lists/${enc(B)}/owners`, { token: tokens.ownerB, body: { address: 'owner@example.org' } })).status).toBe(201);
  });
});

describe('requeue from shunt, bad and retry', () => {
  const spool = () => new Spool({ root: join(home, 'queues'), durability: 'none', ...SPOOL_OPTIONS });

  /** A member's post to alpha that a runner moved to `to` (retry: due in an hour, so its runner leaves it). */
  async function failedPost(to: 'shunt' | 'retry', subject: string): Promise<string> {
    const board = spool().switchboard(to);
    const message = `From: member000@example.com\r\nTo: ${A}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.com>\r\n\r\nbody\r\n`;
    const control = { originalQueue: to === 'retry' ? 'out' : 'in', reason: to === 'retry' ? 'SMTP 451' : 'handler crashed' };
    return board.enqueue(message, { listId: A }, { control, ...(to === 'retry' ? { micros: nowMicros() + 3_600_000_000n } : {}) });
  }

  async function corruptIn(queue: string): Promise<{ id: string; path: string; bytes: Buffer }> {
    const bytes = Buffer.from('not a queue file\n\0\xff');
    const id = makeEntryId(bytes, '', nowMicros());
    const path = entryPath(join(home, 'queues'), queue, id, 'pck');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    return { id, path, bytes };
  }

  it('every entry of shunt back to its queue; a corrupt one skipped with its code and reason, and kept as it was', async () => {
    const [one, two] = [await failedPost('shunt', 'shunted one'), await failedPost('shunt', 'shunted two')];
    const corrupt = await corruptIn('shunt');
    const answer = await call('POST', '/api/v1/queues/shunt/requeue', { token: tokens.admin });
    expect(answer.status).toBe(200);
    expect(answer.body.queue).toBe('shunt');
    // Whatever else a runner shunted meanwhile goes back too.
    expect(answer.body.requeued).toEqual(expect.arrayContaining([one, two]));
    expect(answer.body.skipped).toContainEqual({ id: corrupt.id, code: 'SY_QUEUE_NOT_REQUEUEABLE', reason: expect.stringContaining('corrupt') });
    expect(await readFile(corrupt.path)).toEqual(corrupt.bytes);
    const left = (await spool().entries('shunt')).map((e) => e.id);
    expect(left).toContain(corrupt.id);
    expect(left).not.toContain(one);
    expect(left).not.toContain(two);
  });

  it('ids: only those, from retry at once; an id not in that queue or unknown is skipped, not an error', async () => {
    const waiting = await failedPost('retry', 'waiting in retry');
    const untouched = await failedPost('retry', 'left in retry');
    const elsewhere = await failedPost('shunt', 'in shunt, asked of retry');
    const unknown = makeEntryId(Buffer.from('x'), '', nowMicros());
    const answer = await call('POST', '/api/v1/queues/retry/requeue', { token: tokens.admin, body: { ids: [waiting, elsewhere, unknown] } });
    expect(answer.status).toBe(200);
    expect(answer.body.requeued).toEqual([waiting]);
    expect(answer.body.moved).toEqual([{ id: waiting, from: 'retry', to: 'out' }]);
    expect(answer.body.skipped).toEqual([
      { id: elsewhere, code: 'SY_QUEUE_ENTRY_UNKNOWN', reason: `no entry ${elsewhere} in retry (it is in shunt)` },
      { id: unknown, code: 'SY_QUEUE_ENTRY_UNKNOWN', reason: `no entry ${unknown} in any queue` },
    ]);
    const retry = (await spool().entries('retry')).map((e) => e.id);
    expect(retry).toContain(untouched);
    expect(retry).not.toContain(waiting);
    expect((await spool().find(elsewhere)).queue).toBe('shunt');
  });

  it('404 for a queue that does not exist; 422 for one entries are not requeued from, and for a bad body', async () => {
    const unknown = await call('POST', '/api/v1/queues/nowhere/requeue', { token: tokens.admin });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'SY_QUEUE_UNKNOWN']);
    const notSource = await call('POST', '/api/v1/queues/in/requeue', { token: tokens.admin });
    expect([notSource.status, notSource.body.error.code]).toEqual([422, 'SY_QUEUE_REQUEUE_SOURCE']);
    const badName = await call('POST', '/api/v1/queues/NOT-A-NAME/requeue', { token: tokens.admin });
    expect([badName.status, badName.body.error.code]).toEqual([422, 'SY_QUEUE_NAME']);
    for (const body of [{ ids: ['not-an-id'] }, { ids: [] }, { ids: 'all' }, { everything: true }]) {
      const answer = await call('POST', '/api/v1/queues/bad/requeue', { token: tokens.admin, body });
      expect([answer.status, answer.body.error.code], JSON.stringify(body)).toEqual([422, 'SY_API_INVALID']);
    }
  });
});

describe('/metrics', () => {
  it('answers this host without a token: queue depth and oldest age, runner counters, held posts', async () => {
    await hold('waiting for metrics');
    const answer = await call('GET', '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/plain');
    const text = answer.body as string;
    expect(text).toMatch(/^switchyard_queue_entries\{queue="in"\} \d+$/m);
    expect(text).toMatch(/^switchyard_queue_oldest_entry_age_seconds\{queue="retry"\} \d+$/m);
    expect(text).toMatch(/^switchyard_runner_processed\{runner="http",kind="service",slice="0"\} [1-9]\d*$/m);
    expect(text).toMatch(/^switchyard_runner_restarts\{runner="incoming",kind="runner",slice="0"\} 0$/m);
    expect(text).toMatch(/^switchyard_runner_running\{runner="outgoing",kind="runner",slice="0"\} 1$/m);
    expect(text).toContain(`switchyard_held_posts{list="${A}"} `);
    expect(text).toMatch(/^switchyard_healthy [01]$/m);
  });

  it('a request relayed by a proxy needs a site administrator token', async () => {
    const relayed = { 'x-forwarded-for': '203.0.113.9' };
    expect((await call('GET', '/metrics', { headers: relayed })).status).toBe(401);
    expect((await call('GET', '/metrics', { headers: relayed, token: tokens.ownerA })).status).toBe(403);
    expect((await call('GET', '/metrics', { headers: relayed, token: tokens.admin })).status).toBe(200);
  });
});

describe('/api/openapi.json', () => {
  it('is served without a token, and every operation in it is a route the server has', async () => {
    const answer = await call('GET', '/api/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.body.openapi).toMatch(/^3\.0/);
    const operations = Object.entries(answer.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((method) => [method.toUpperCase(), path] as const));
    expect(operations.length).toBeGreaterThanOrEqual(20);
    for (const [method, path] of operations) {
      const url = path.replace('{list}', enc(A)).replace('{address}', enc('member002@example.com')).replace('{id}', '424242').replace('{queue}', 'shunt');
      // Without a token: 401 (or the public answer), never "no such route".
      const probe = await call(method, url);
      expect(probe.body?.error?.code, `${method} ${path}`).not.toBe('SY_API_NOT_FOUND');
    }
  });
});

describe('requests node refuses before fastify', () => {
  it('a malformed request gets 400 with SY_API_BAD_REQUEST in the same JSON shape, and the connection closed', async () => {
    const { connect } = await import('node:net');
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    socket.write('GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('SY_API_BAD_REQUEST');
  });
});
