/**
 * Held posts past their list's maxDaysToHold are discarded with a log line
 * (src/app/moderation.ts, run by the master on cron.heldExpiry), on a
 * real store with an injected clock; and a hold re-run after a crash is not
 * stored twice (runners/incoming/actions.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { hold } from '../../runners/incoming/actions.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { expireHeldPosts } from '../../src/app/moderation.js';
import { openStore, type Store } from '../../src/store/index.js';
import { LIST, plainPost } from './fixtures/messages.js';

const DAY = 86_400_000;
let dir: string | undefined;
let store: Store | undefined;

afterEach(async () => {
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  store = undefined;
  dir = undefined;
});

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

async function freshStore(): Promise<Store> {
  dir = await mkdtemp(join(tmpdir(), 'sy-held-'));
  store = openStore(dir);
  return store;
}

describe('held post expiry', () => {
  it("discards only posts older than their list's maxDaysToHold, records it, and logs each", async () => {
    const store = await freshStore();
    await store.createList({ address: LIST, settings: { maxDaysToHold: 7 } });
    await store.createList({ address: 'keep@lists.example.org', settings: { maxDaysToHold: 0 } });
    const now = Date.parse('2024-06-30T12:00:00Z');
    const base = { sender: 'guest@example.com', reason: 'post from a non-member', raw: plainPost() };
    const old = await store.holdMessage({ ...base, list: LIST, subject: 'old', receivedAt: new Date(now - 8 * DAY) });
    const recent = await store.holdMessage({ ...base, list: LIST, subject: 'recent', receivedAt: new Date(now - 6 * DAY) });
    const kept = await store.holdMessage({ ...base, list: 'keep@lists.example.org', subject: 'ancient', receivedAt: new Date(now - 400 * DAY) });
    const { log, lines } = capture();

    const expired = await expireHeldPosts({ store, now: () => new Date(now), log });

    expect(expired.map((e) => e.id)).toEqual([old.id]);
    expect((await store.heldMessages(LIST)).map((h) => h.id)).toEqual([recent.id]);
    expect(await store.countHeld('keep@lists.example.org')).toBe(1);
    expect(await store.heldDecision(old.id)).toMatchObject({ decision: 'expire', decidedBy: 'expiry', subject: 'old' });
    expect(await store.heldDecision(kept.id)).toBeNull();
    expect(lines.filter((line) => String(line.msg).includes('expired'))).toEqual([
      expect.objectContaining({ list: LIST, id: old.id, sender: 'guest@example.com', subject: 'old', msg: `held post #${old.id} on ${LIST} expired after 7 days: discarded` }),
    ]);
  });
});

describe('hold after a crash', () => {
  it('finds the post the first run held instead of holding it twice', async () => {
    const store = await freshStore();
    const list = await store.createList({ address: LIST });
    const enqueued: string[] = [];
    const ctx = {
      list,
      message: RawMessage.parse(plainPost({ from: 'guest@example.com' })),
      metadata: { listId: LIST, envelopeSender: 'guest@example.com' },
      sender: 'guest@example.com',
      store,
      log: capture().log,
      now: Date.now,
      entryId: '1718000000.000001+0123456789abcdef0123456789abcdef01234567',
      restores: 0,
      enqueue: async (queue: string) => `${queue}-${enqueued.push(queue)}`,
    };
    const decision = { rule: 'moderation', action: 'hold' as const, reason: 'post from a non-member' };
    const first = await hold(ctx, decision);
    // Killed after the hold, before the entry was finished: the recovered entry runs again.
    const again = await hold({ ...ctx, restores: 1 }, decision);
    expect(again.id).toBe(first.id);
    expect(await store.countHeld(LIST)).toBe(1);
    // Each run: the moderators' notice and the poster's "awaits approval" (a notice, never a post, may be duplicated).
    expect(enqueued).toEqual(['virgin', 'virgin', 'virgin', 'virgin']);
  });
});
