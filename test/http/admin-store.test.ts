/**
 * The web admin's Store methods on every backend (SQLite, PostgreSQL on a
 * private cluster): a login link taken once and only before it expires,
 * sessions found until they expire or are removed (and with their admin
 * token), expired state pruned, and a page of held-post summaries.
 */
import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from '../support/store-backends.js';

const LIST = 'dev@lists.example.org';
const T0 = new Date('2026-12-05T10:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe.each(BACKENDS)('the $name store', ({ name }) => {
  const backend = useBackend(name);

  it('takes a login link once, and only before it expires', async () => {
    const store = backend.open();
    await store.addLoginLink({ hash: 'a'.repeat(64), address: 'ann@example.org', createdAt: T0, expiresAt: at(15) });
    await store.addLoginLink({ hash: 'b'.repeat(64), address: 'bob@example.org', createdAt: T0, expiresAt: at(15) });
    expect(await store.takeLoginLink('a'.repeat(64), at(14))).toEqual({ address: 'ann@example.org' });
    expect(await store.takeLoginLink('a'.repeat(64), at(14))).toBeNull();
    expect(await store.takeLoginLink('b'.repeat(64), at(15))).toBeNull();
    expect(await store.takeLoginLink('c'.repeat(64), at(1))).toBeNull();
    expect(await store.removeExpiredWebState(at(16))).toBe(2);
    expect(await backend.count('web_login_links')).toBe(0);
  });

  it('finds a session until it expires or is removed; a session of a token goes with the token', async () => {
    const store = backend.open();
    await store.addWebSession({ hash: 'x'.repeat(64), address: 'ann@example.org', tokenId: null, createdAt: T0, expiresAt: at(60) });
    const token = await store.addApiToken({ name: 'ops', hash: 'h'.repeat(64), role: 'admin', createdAt: T0 });
    await store.addWebSession({ hash: 'y'.repeat(64), address: null, tokenId: token.id, createdAt: T0, expiresAt: at(60) });
    expect(await store.webSession('x'.repeat(64), at(59))).toEqual({ address: 'ann@example.org', tokenId: null, createdAt: T0, expiresAt: at(60) });
    expect(await store.webSession('x'.repeat(64), at(60))).toBeNull();
    expect((await store.webSession('y'.repeat(64), at(1)))?.tokenId).toBe(token.id);
    await store.removeApiToken(token.id);
    expect(await store.webSession('y'.repeat(64), at(1))).toBeNull();
    expect(await store.removeWebSession('x'.repeat(64))).toBe(true);
    expect(await store.removeWebSession('x'.repeat(64))).toBe(false);
  });

  it('gives a page of held-post summaries in id order, without their bytes', async () => {
    const store = backend.open();
    await store.createList({ address: LIST });
    for (let i = 0; i < 5; i++) await store.holdMessage({ list: LIST, sender: `p${i}@example.net`, subject: `s${i}`, reason: 'r', raw: Buffer.from(`Subject: s${i}\r\n\r\nx\r\n`) });
    const page = await store.heldSummaries(LIST, { offset: 1, limit: 3 });
    expect(page.map((h) => h.subject)).toEqual(['s1', 's2', 's3']);
    expect(page[0]).toEqual({ id: page[0]!.id, list: LIST, sender: 'p1@example.net', subject: 's1', reason: 'r', receivedAt: expect.any(Date), messageId: null });
  });
});
