/**
 * The Runner base class, in process, over a real spool: start-up recovery,
 * FIFO order, event-driven waiting, slices, what becomes of an entry for each
 * outcome of process(), concurrency, stop() and abort().
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entryPath, makeEntryId, nowMicros, parseEntryId, sliceOf, withTime } from '../../queues/index.js';
import { TemporaryFailure } from '../../runners/errors.js';
import type { RunnerOptions } from '../../runners/runner.js';
import { cleanup, Gates, makeSpool, Pulse, runnerOptions, ScriptedRunner, startRunner, type Handler, type Spool } from './harness.js';

afterEach(cleanup);

const TIMEOUT = 120_000;

function scripted(spool: Spool, handler: Handler, overrides: Partial<RunnerOptions> = {}): ScriptedRunner {
  return new ScriptedRunner(runnerOptions(spool, overrides), handler);
}

/** Enqueue `count` entries one after another; their ids must sort in enqueue order. */
async function enqueueSeries(spool: Spool, queue: string, count: number, tag = 'm'): Promise<string[]> {
  const switchboard = spool.switchboard(queue);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await switchboard.enqueue(`Subject: ${tag}${i}\r\n\r\nbody\r\n`, { seq: i }));
  expect([...ids].sort()).toEqual(ids);
  return ids;
}

describe('Runner lifecycle', () => {
  it('restores its slice\'s .bak files (restores + 1, or to bad at maxRestores) before ready, then processes them', async () => {
    const spool = await makeSpool();
    const inbox = spool.switchboard('in');
    const [held, second, third] = await enqueueSeries(spool, 'in', 3);
    const worn = await inbox.enqueue('worn out', {}, { control: { restores: 2 } });
    // A consumer that took entries and died before finishing them.
    await inbox.dequeue(held!);
    await inbox.dequeue(worn);
    expect(existsSync(inbox.path(held!, 'bak'))).toBe(true);

    const seen: Array<{ id: string; restores: number }> = [];
    const runner = scripted(spool, async (entry) => {
      seen.push({ id: entry.id, restores: entry.control.restores });
    });
    let atReady: { bak: boolean; pck: boolean; started: number } | undefined;
    const pulse = new Pulse();
    runner.once('ready', () => {
      atReady = { bak: existsSync(inbox.path(held!, 'bak')), pck: existsSync(inbox.path(held!, 'pck')), started: seen.length };
    });
    const watch = startRunner(runner, pulse);
    const ends = await watch.endsAtLeast(3);

    expect(atReady).toEqual({ bak: false, pck: true, started: 0 });
    expect(seen).toEqual([
      { id: held, restores: 1 },
      { id: second, restores: 0 },
      { id: third, restores: 0 },
    ]);
    expect(ends.map((end) => end.outcome)).toEqual(['finished', 'finished', 'finished']);
    expect(await spool.entries('in')).toEqual([]);
    const bad = await spool.entries('bad');
    expect(bad.map((entry) => [entry.id, entry.state, entry.control.reason, entry.control.restores])).toEqual([
      [worn, 'psv', 'crashed 3 times while being processed', 3],
    ]);
  }, TIMEOUT);

  it('processes waiting entries one at a time in enqueue order (FIFO) with concurrency 1', async () => {
    const spool = await makeSpool();
    const ids = await enqueueSeries(spool, 'in', 20);
    const order: string[] = [];
    let active = 0;
    let maxActive = 0;
    const watch = startRunner(
      scripted(spool, async (entry) => {
        active++;
        maxActive = Math.max(maxActive, active);
        order.push(entry.id);
        // Yield to the event loop so a second entry could start if the limit were broken.
        await new Promise<void>((resolve) => setImmediate(resolve));
        active--;
      }),
    );
    await watch.endsAtLeast(20);
    expect(order).toEqual(ids);
    expect(maxActive).toBe(1);
    expect(watch.runner.stats).toMatchObject({ processed: 20, failed: 0, retried: 0, inFlight: 0 });
  }, TIMEOUT);

  it('picks up entries enqueued after ready from file events alone (rescan interval of one hour), in enqueue order', async () => {
    const spool = await makeSpool();
    const order: string[] = [];
    const watch = startRunner(
      scripted(
        spool,
        async (entry) => {
          order.push(entry.id);
        },
        { rescanIntervalMs: 3_600_000 },
      ),
    );
    await watch.whenReady();
    const first = await enqueueSeries(spool, 'in', 1, 'first');
    // The runner is asleep again with an empty heap: only an event can bring the next ones.
    await watch.endsAtLeast(1);
    const rest = await enqueueSeries(spool, 'in', 5, 'later');
    await watch.endsAtLeast(6);
    expect(order).toEqual([...first, ...rest]);
    expect(watch.ends.every((end) => end.outcome === 'finished')).toBe(true);
    expect(await spool.entries('in')).toEqual([]);
  }, TIMEOUT);

  it('with 2 slices, each runner recovers and processes only its own slice, and together they process every entry', async () => {
    const spool = await makeSpool();
    const inbox = spool.switchboard('in');
    const before: string[] = [];
    // Enough entries that both slices have some (and one of each to leave in flight).
    while (before.length < 16 || new Set(before.map((id) => sliceOf(parseEntryId(id).sha1, 2))).size < 2) {
      before.push(await inbox.enqueue(`early ${before.length}`));
    }
    const sliceOfId = (id: string): number => sliceOf(parseEntryId(id).sha1, 2);
    const heldBySlice = [0, 1].map((slice) => before.find((id) => sliceOfId(id) === slice)!);
    for (const [slice, id] of heldBySlice.entries()) await spool.switchboard('in', { slice, numSlices: 2 }).dequeue(id);

    const seen: Array<Array<{ id: string; restores: number }>> = [[], []];
    const pulse = new Pulse();
    const make = (slice: number): ScriptedRunner =>
      scripted(
        spool,
        async (entry) => {
          seen[slice]!.push({ id: entry.id, restores: entry.control.restores });
        },
        { slice, numSlices: 2, name: `slice${slice}` },
      );

    // Slice 0 alone first: slice 1's waiting and in-flight entries stay exactly as they are.
    const zero = startRunner(make(0), pulse);
    const zeroCount = before.filter((id) => sliceOfId(id) === 0).length;
    await zero.endsAtLeast(zeroCount);
    const leftover = await spool.entries('in');
    expect(leftover.map((entry) => entry.id).sort()).toEqual(before.filter((id) => sliceOfId(id) === 1).sort());
    expect(leftover.find((entry) => entry.id === heldBySlice[1])).toMatchObject({ state: 'bak', control: { restores: 0 } });
    expect(leftover.filter((entry) => entry.id !== heldBySlice[1]).every((entry) => entry.state === 'pck')).toBe(true);

    const one = startRunner(make(1), pulse);
    await one.whenReady();
    const after: string[] = [];
    for (let i = 0; i < 16; i++) after.push(await inbox.enqueue(`late ${i}`));
    const all = [...before, ...after];
    await pulse.until(() => seen[0]!.length + seen[1]!.length >= all.length, 'every entry processed');

    for (const slice of [0, 1]) {
      expect(seen[slice]!.length).toBeGreaterThan(0);
      expect(seen[slice]!.every(({ id }) => sliceOfId(id) === slice)).toBe(true);
      expect(seen[slice]!.find(({ id }) => id === heldBySlice[slice])?.restores).toBe(1);
    }
    const processed = [...seen[0]!, ...seen[1]!].map(({ id }) => id);
    expect(new Set(processed).size).toBe(processed.length);
    expect([...processed].sort()).toEqual([...all].sort());
    expect(await spool.entries('in')).toEqual([]);
  }, TIMEOUT);
});

describe('Runner outcomes', () => {
  it('a process() that returns finishes the entry: its .bak is unlinked and it counts as processed', async () => {
    const spool = await makeSpool();
    const [id] = await enqueueSeries(spool, 'in', 1);
    const bakDuringProcess: boolean[] = [];
    const inbox = spool.switchboard('in');
    const watch = startRunner(
      scripted(spool, async (entry) => {
        bakDuringProcess.push(existsSync(inbox.path(entry.id, 'bak')));
      }),
    );
    const end = await watch.endOf(id!);
    expect(end.outcome).toBe('finished');
    expect(bakDuringProcess).toEqual([true]);
    expect(existsSync(inbox.path(id!, 'bak'))).toBe(false);
    expect(await spool.entries('in')).toEqual([]);
    expect(watch.runner.stats).toMatchObject({ processed: 1, failed: 0, retried: 0 });
  }, TIMEOUT);

  it('ctx.forward(q) moves the entry into q exactly once, restores, originalQueue and reason cleared, nothing left behind', async () => {
    const spool = await makeSpool();
    const id = await spool.switchboard('in').enqueue('Subject: hop\r\n\r\nbody\r\n', { listId: 'l@x' }, {
      control: { restores: 2, originalQueue: 'elsewhere', reason: 'was moved before' },
    });
    const watch = startRunner(
      scripted(spool, async (entry, ctx) => {
        await ctx.forward('out', { metadata: { ...entry.metadata, hop: 1 } });
      }),
    );
    const end = await watch.endOf(id);
    expect(end.outcome).toBe('forwarded');
    const out = await spool.entries('out');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ id, state: 'pck', metadata: { listId: 'l@x', hop: 1 }, control: { restores: 0 } });
    expect(out[0]!.control.originalQueue).toBeUndefined();
    expect(out[0]!.control.reason).toBeUndefined();
    expect(out[0]!.message.toString()).toBe('Subject: hop\r\n\r\nbody\r\n');
    expect(await spool.entries('in')).toEqual([]);
    expect(watch.runner.stats).toMatchObject({ processed: 1, failed: 0 });
  }, TIMEOUT);

  it('a TemporaryFailure moves the entry to retry, named by its due time (now + initial delay), recording attempts, firstFailureAt, originalQueue and reason', async () => {
    const spool = await makeSpool();
    const [id] = await enqueueSeries(spool, 'in', 1);
    const T0 = Date.now() - 5_000;
    const watch = startRunner(
      scripted(
        spool,
        async () => {
          throw new TemporaryFailure('451 4.3.0 try again later');
        },
        { now: () => T0, retry: { initialDelayMs: 60_000, maxDelayMs: 3_600_000, jitter: 0, lifetimeMs: 86_400_000 } },
      ),
    );
    const end = await watch.endOf(id!);
    expect(end.outcome).toBe('retry');

    const retry = await spool.entries('retry');
    expect(retry).toHaveLength(1);
    const dueAt = T0 + 60_000;
    expect(retry[0]!.id).toBe(withTime(id!, BigInt(dueAt) * 1000n));
    expect(parseEntryId(retry[0]!.id).micros).toBe(BigInt(dueAt) * 1000n);
    expect(retry[0]!.state).toBe('pck');
    expect(retry[0]!.control).toMatchObject({
      attempts: 1,
      firstFailureAt: new Date(T0).toISOString(),
      originalQueue: 'in',
      reason: '451 4.3.0 try again later',
      lastError: '451 4.3.0 try again later',
      dueAt: new Date(dueAt).toISOString(),
    });
    expect(await spool.entries('in')).toEqual([]);
    expect(watch.runner.stats).toMatchObject({ processed: 0, failed: 0, retried: 1 });
    expect(watch.runner.stats.lastError).toEqual({
      message: 'TemporaryFailure: 451 4.3.0 try again later',
      at: new Date(T0).toISOString(),
      entry: id,
    });
    expect((await spool.log()).some((line) => line.msg === 'temporary failure: entry deferred to retry' && line.entry === id)).toBe(true);
  }, TIMEOUT);

  it('an entry brought back from retry that fails again records attempt 2 with twice the delay and keeps its first failure time', async () => {
    const spool = await makeSpool();
    const [id] = await enqueueSeries(spool, 'in', 1);
    const T0 = Date.now() - 3_600_000;
    let clock = T0;
    const watch = startRunner(
      scripted(
        spool,
        async () => {
          throw new TemporaryFailure('452 mailbox full');
        },
        { now: () => clock, retry: { initialDelayMs: 60_000, maxDelayMs: 3_600_000, jitter: 0, lifetimeMs: 86_400_000 } },
      ),
    );
    await watch.endsAtLeast(1);
    const firstRetryId = withTime(id!, BigInt(T0 + 60_000) * 1000n);
    // What the retry runner does when it is due: forward it back to its queue.
    const retryQueue = spool.switchboard('retry');
    await retryQueue.dequeue(firstRetryId);
    const T1 = T0 + 600_000;
    clock = T1;
    await retryQueue.moveTo(firstRetryId, 'in', { forward: true });
    const ends = await watch.endsAtLeast(2);
    expect(ends.map((end) => [end.id, end.outcome])).toEqual([
      [id, 'retry'],
      [firstRetryId, 'retry'],
    ]);

    const retry = await spool.entries('retry');
    expect(retry.map((entry) => entry.id)).toEqual([withTime(id!, BigInt(T1 + 120_000) * 1000n)]);
    expect(retry[0]!.control).toMatchObject({
      attempts: 2,
      firstFailureAt: new Date(T0).toISOString(),
      originalQueue: 'in',
      reason: '452 mailbox full',
      dueAt: new Date(T1 + 120_000).toISOString(),
    });
    expect(watch.runner.stats.retried).toBe(2);
  }, TIMEOUT);

  it('a TemporaryFailure at lifetimeMs or more after the first failure goes to shunt as given up; just under it still goes to retry', async () => {
    const spool = await makeSpool();
    const lifetimeMs = 86_400_000;
    const now = Date.now() - 1_000;
    const inbox = spool.switchboard('in');
    const young = await inbox.enqueue('young', {}, { control: { attempts: 7, firstFailureAt: new Date(now - lifetimeMs + 1).toISOString() } });
    const old = await inbox.enqueue('old', {}, { control: { attempts: 8, firstFailureAt: new Date(now - lifetimeMs).toISOString() } });
    const watch = startRunner(
      scripted(
        spool,
        async () => {
          throw new TemporaryFailure('421 service not available');
        },
        { now: () => now, retry: { initialDelayMs: 60_000, maxDelayMs: 600_000, jitter: 0, lifetimeMs } },
      ),
    );
    expect((await watch.endOf(young)).outcome).toBe('retry');
    expect((await watch.endOf(old)).outcome).toBe('shunt');

    const retry = await spool.entries('retry');
    expect(retry.map((entry) => [entry.id, entry.control.attempts])).toEqual([[withTime(young, BigInt(now + 600_000) * 1000n), 8]]);
    const shunt = await spool.entries('shunt');
    expect(shunt).toHaveLength(1);
    expect(shunt[0]!.id).toBe(old);
    expect(shunt[0]!.control.reason).toBe(`gave up after 9 attempts since ${new Date(now - lifetimeMs).toISOString()}: 421 service not available`);
    expect(shunt[0]!.control).toMatchObject({ originalQueue: 'in', failedRunner: 'test', error: { name: 'TemporaryFailure', message: '421 service not available' } });
    expect(watch.runner.stats).toMatchObject({ retried: 1, failed: 1, processed: 0 });
  }, TIMEOUT);

  it('any other error moves the entry to shunt with the error\'s name, message and stack, its original queue and the failing runner, and counts it failed', async () => {
    const spool = await makeSpool();
    class BoomError extends Error {
      override name = 'BoomError';
    }
    const [good, bad] = await enqueueSeries(spool, 'in', 2);
    const now = Date.now() - 2_000;
    const watch = startRunner(
      scripted(
        spool,
        async (entry) => {
          if (entry.id === bad) throw new BoomError('kaput');
        },
        { now: () => now, name: 'boomer' },
      ),
    );
    const ends = await watch.endsAtLeast(2);
    expect(ends.map((end) => [end.id, end.outcome])).toEqual([
      [good, 'finished'],
      [bad, 'shunt'],
    ]);
    const shunt = await spool.entries('shunt');
    expect(shunt).toHaveLength(1);
    expect(shunt[0]).toMatchObject({
      id: bad,
      state: 'pck',
      control: {
        originalQueue: 'in',
        reason: 'BoomError: kaput',
        failedRunner: 'boomer',
        failedAt: new Date(now).toISOString(),
        error: { name: 'BoomError', message: 'kaput' },
      },
    });
    const stack = (shunt[0]!.control.error as { stack: string }).stack;
    expect(stack).toContain('kaput');
    expect(stack).toContain('runner.test.ts');
    expect(await spool.entries('in')).toEqual([]);
    expect(await spool.entries('retry')).toEqual([]);
    expect(watch.runner.stats).toMatchObject({ processed: 1, failed: 1, retried: 0 });
    expect(watch.runner.stats.lastError).toEqual({ message: 'BoomError: kaput', at: new Date(now).toISOString(), entry: bad });
    expect((await spool.log()).some((line) => line.msg === 'entry failed: moved to shunt' && line.entry === bad && line.level === 50)).toBe(true);
  }, TIMEOUT);

  it('when entry-end fires, the stats already count the outcome and no longer count the entry in flight (what the master\'s watchdog reads)', async () => {
    const spool = await makeSpool();
    const [ok, temp, boom] = await enqueueSeries(spool, 'in', 3);
    const runner = scripted(spool, async (entry) => {
      if (entry.id === temp) throw new TemporaryFailure('later');
      if (entry.id === boom) throw new Error('boom');
    });
    const atEnd: Array<[string, string, { processed: number; failed: number; retried: number; inFlight: number }]> = [];
    runner.on('entry-end', (id: string, outcome: string) => {
      const { processed, failed, retried, inFlight } = runner.stats;
      atEnd.push([id, outcome, { processed, failed, retried, inFlight }]);
    });
    const watch = startRunner(runner);
    await watch.endsAtLeast(3);
    expect(atEnd).toEqual([
      [ok, 'finished', { processed: 1, failed: 0, retried: 0, inFlight: 0 }],
      [temp, 'retry', { processed: 1, failed: 0, retried: 1, inFlight: 0 }],
      [boom, 'shunt', { processed: 1, failed: 1, retried: 1, inFlight: 0 }],
    ]);
  }, TIMEOUT);

  it('a corrupt queue file is quarantined in bad, counted failed, and the runner goes on with the next entries', async () => {
    const spool = await makeSpool();
    const corrupt = makeEntryId(Buffer.from('junk'), '', nowMicros() - 1_000_000n);
    const path = entryPath(spool.queues, 'in', corrupt, 'pck');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, 'this is not a switchyard queue file\n');
    const ids = await enqueueSeries(spool, 'in', 3);
    const seen: string[] = [];
    const watch = startRunner(
      scripted(spool, async (entry) => {
        seen.push(entry.id);
      }),
    );
    const ends = await watch.endsAtLeast(4);
    // The corrupt file is older, so it comes first, and is reported as skipped.
    expect(ends.map((end) => [end.id, end.outcome])).toEqual([[corrupt, 'skipped'], ...ids.map((id) => [id, 'finished'])]);
    expect(seen).toEqual(ids);
    const bad = await spool.entries('bad');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ id: corrupt, state: 'psv', control: { corrupt: true, originalQueue: 'in' } });
    expect(bad[0]!.control.reason).toMatch(/^corrupt queue file: /);
    expect(bad[0]!.message.toString()).toBe('this is not a switchyard queue file\n');
    expect(await spool.entries('in')).toEqual([]);
    expect(watch.runner.stats).toMatchObject({ processed: 3, failed: 1 });
  }, TIMEOUT);
});

describe('Runner concurrency', () => {
  it('with concurrency 4, four entries are in process() at once and never more', async () => {
    const spool = await makeSpool();
    const total = 10;
    const ids = await enqueueSeries(spool, 'in', total);
    const pulse = new Pulse();
    const gates = new Gates();
    const active = new Set<string>();
    let maxActive = 0;
    const watch = startRunner(
      scripted(
        spool,
        async (entry) => {
          active.add(entry.id);
          maxActive = Math.max(maxActive, active.size);
          pulse.poke();
          await gates.wait(entry.id);
          active.delete(entry.id);
        },
        { concurrency: 4 },
      ),
      pulse,
    );
    for (let done = 0; done < total; done++) {
      const expected = Math.min(4, total - done);
      await pulse.until(() => active.size === expected, `${expected} entries in process()`);
      expect((await spool.entries('in', ['bak'])).length).toBe(expected);
      expect((await spool.entries('in', ['pck'])).length).toBe(total - done - expected);
      // Let the oldest active one finish; the runner then takes exactly one more.
      const oldest = [...active].sort()[0]!;
      gates.open(oldest);
      await watch.endOf(oldest);
    }
    expect(maxActive).toBe(4);
    expect(watch.ends.map((end) => end.id).sort()).toEqual(ids);
    expect(watch.runner.stats).toMatchObject({ processed: total, inFlight: 0 });
  }, TIMEOUT);
});

describe('Runner stop and abort', () => {
  it('stop() resolves only once the entries in flight have finished, takes no new entry and leaves the rest waiting', async () => {
    const spool = await makeSpool();
    const ids = await enqueueSeries(spool, 'in', 5);
    const pulse = new Pulse();
    const gates = new Gates();
    const started: string[] = [];
    const watch = startRunner(
      scripted(
        spool,
        async (entry) => {
          started.push(entry.id);
          pulse.poke();
          await gates.wait(entry.id);
        },
        { concurrency: 2 },
      ),
      pulse,
    );
    await pulse.until(() => started.length === 2, 'two entries in process()');
    let stopped = false;
    const stopping = watch.runner.stop().then(() => {
      stopped = true;
    });
    gates.open(started[0]!);
    await watch.endOf(started[0]!);
    expect(stopped).toBe(false);
    gates.open(started[1]!);
    await stopping;
    await watch.done;

    // The two oldest, taken together (which one reaches process() first is up to the file system).
    expect([...started].sort()).toEqual(ids.slice(0, 2));
    expect(watch.ends.map((end) => [end.id, end.outcome])).toEqual([
      [started[0], 'finished'],
      [started[1], 'finished'],
    ]);
    const left = await spool.entries('in');
    expect(left.map((entry) => [entry.id, entry.state, entry.control.restores])).toEqual(ids.slice(2).map((id) => [id, 'pck', 0]));
  }, TIMEOUT);

  it('abort() releases entries whose process() gives up on ctx.signal back to .pck with restores unchanged, never to shunt', async () => {
    const spool = await makeSpool();
    const inbox = spool.switchboard('in');
    const once = await inbox.enqueue('restored once', {}, { control: { restores: 1 } });
    const fresh = await inbox.enqueue('fresh');
    const waiting = await inbox.enqueue('still waiting');
    const pulse = new Pulse();
    const started: string[] = [];
    const watch = startRunner(
      scripted(
        spool,
        async (_entry, ctx) => {
          started.push(ctx.id);
          pulse.poke();
          await new Promise<void>((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
          });
        },
        { concurrency: 2 },
      ),
      pulse,
    );
    await pulse.until(() => started.length === 2, 'two entries in process()');
    const stopping = watch.runner.stop();
    watch.runner.abort();
    await stopping;
    await watch.done;

    expect([...started].sort()).toEqual([once, fresh]);
    expect(watch.ends.map((end) => end.outcome)).toEqual(['released', 'released']);
    const left = await spool.entries('in');
    expect(left.map((entry) => [entry.id, entry.state, entry.control.restores])).toEqual([
      [once, 'pck', 1],
      [fresh, 'pck', 0],
      [waiting, 'pck', 0],
    ]);
    expect(await spool.entries('shunt')).toEqual([]);
    expect(await spool.entries('retry')).toEqual([]);
    expect(watch.runner.stats).toMatchObject({ processed: 0, failed: 0, retried: 0, inFlight: 0 });
    expect(watch.runner.stats.lastError).toBeUndefined();
  }, TIMEOUT);

  it('abort() on its own also stops taking entries: run() ends with the one in flight released once, the rest untouched', async () => {
    const spool = await makeSpool();
    const ids = await enqueueSeries(spool, 'in', 3);
    const pulse = new Pulse();
    const calls: string[] = [];
    const watch = startRunner(
      scripted(spool, async (_entry, ctx) => {
        calls.push(ctx.id);
        pulse.poke();
        if (ctx.signal.aborted) throw new Error('already aborted');
        await new Promise<void>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        });
      }),
      pulse,
    );
    await pulse.until(() => calls.length === 1, 'an entry in process()');
    watch.runner.abort();
    await watch.done;

    expect(calls).toEqual([ids[0]]);
    expect(watch.ends.map((end) => [end.id, end.outcome])).toEqual([[ids[0], 'released']]);
    const left = await spool.entries('in');
    expect(left.map((entry) => [entry.id, entry.state, entry.control.restores])).toEqual(ids.map((id) => [id, 'pck', 0]));
  }, TIMEOUT);
});
