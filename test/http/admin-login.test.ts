/**
 * The web admin's login links and sessions (src/app/web-login.ts) on a real
 * SQLite store and a fake clock: a link works once and for its lifetime
 * (15 minutes by default), only its hash is stored, a session ends at its
 * lifetime or at logout, and a session of a revoked admin token ends with it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createApiToken, revokeApiToken } from '../../src/app/api-tokens.js';
import { endSession, redeemLoginLink, requestLoginLink, sessionRoles, startSession, startTokenSession } from '../../src/app/web-login.js';
import { DEFAULT_LOGIN_LINK_LIFETIME_MS } from '../../src/http/admin/index.js';
import { LIST, testApp, type TestApp } from '../app/harness.js';

let app: TestApp;
const OWNER = 'owner@example.org';

beforeEach(async () => {
  app = await testApp('2026-12-05T10:00:00Z');
  await app.store.createList({ address: LIST, displayName: 'Dev' });
  await app.store.addMember(LIST, { address: OWNER, role: 'owner' });
  await app.store.addMember(LIST, { address: 'ann@example.org' });
});

afterEach(async () => {
  await app.close();
});

async function link(address: string): Promise<string> {
  const outcome = await requestLoginLink(app, address, { baseUrl: 'https://lists.example.org', lifetimeMs: DEFAULT_LOGIN_LINK_LIFETIME_MS });
  expect(outcome.sent).toBe(true);
  const mail = app.enqueued.at(-1)!;
  expect(mail.queue).toBe('virgin');
  expect(mail.metadata.recipients).toEqual([address]);
  return /https:\/\/lists\.example\.org\/login\/([A-Za-z0-9_-]{43})/.exec(mail.message.toString('utf8'))![1]!;
}

describe('login links', () => {
  it('the default lifetime is 15 minutes', () => {
    expect(DEFAULT_LOGIN_LINK_LIFETIME_MS).toBe(15 * 60_000);
  });

  it('works once', async () => {
    const token = await link(OWNER);
    expect(await redeemLoginLink(app, token)).toBe(OWNER);
    expect(await redeemLoginLink(app, token)).toBeNull();
  });

  it('works until 15 minutes after it was mailed, not after', async () => {
    const early = await link(OWNER);
    const late = await link(OWNER);
    app.setNow('2026-12-05T10:14:59Z');
    expect(await redeemLoginLink(app, early)).toBe(OWNER);
    app.setNow('2026-12-05T10:15:00Z');
    expect(await redeemLoginLink(app, late)).toBeNull();
  });

  it('is stored only as a hash', async () => {
    const token = await link(OWNER);
    for (const file of ['switchyard.db', 'switchyard.db-wal']) {
      const bytes = await readFile(join(app.dir, file)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(Buffer.from(token)), file).toBe(false);
    }
    const hash = createHash('sha256').update(token).digest('hex');
    const stored = [await readFile(join(app.dir, 'switchyard.db')), await readFile(join(app.dir, 'switchyard.db-wal')).catch(() => Buffer.alloc(0))];
    expect(stored.some((bytes) => bytes.includes(Buffer.from(hash)))).toBe(true);
  });

  it('is mailed to owners and members, and to nobody else (a stranger, a non-address)', async () => {
    await link('ann@example.org');
    const before = app.enqueued.length;
    expect((await requestLoginLink(app, 'stranger@example.org', { baseUrl: 'https://x.example', lifetimeMs: 1000 })).sent).toBe(false);
    expect((await requestLoginLink(app, '<script>', { baseUrl: 'https://x.example', lifetimeMs: 1000 })).sent).toBe(false);
    expect(app.enqueued.length).toBe(before);
  });
});

describe('sessions', () => {
  it('end at their lifetime and at logout', async () => {
    const first = await startSession(app, { address: OWNER }, 3600_000);
    const second = await startSession(app, { address: OWNER }, 3600_000);
    expect((await sessionRoles(app, first))?.lists.get(LIST)).toBe('owner');
    await endSession(app, second);
    expect(await sessionRoles(app, second)).toBeNull();
    app.setNow('2026-12-05T11:00:00Z');
    expect(await sessionRoles(app, first)).toBeNull();
  });

  it('see role changes at once: a removed owner has no list any more', async () => {
    const id = await startSession(app, { address: OWNER }, 3600_000);
    await app.store.removeMember(LIST, OWNER, 'owner');
    expect((await sessionRoles(app, id))?.lists.size).toBe(0);
  });

  it('of an admin token end when the token is revoked; other tokens make none', async () => {
    const admin = await createApiToken(app, { name: 'ops', role: 'admin' });
    const owner = await createApiToken(app, { name: 'o', role: 'owner', list: LIST });
    expect(await startTokenSession(app, owner.token, 3600_000)).toBeNull();
    const id = (await startTokenSession(app, admin.token, 3600_000))!;
    expect((await sessionRoles(app, id))?.admin).toBe(true);
    await revokeApiToken(app, admin.record.id);
    expect(await sessionRoles(app, id)).toBeNull();
  });
});
