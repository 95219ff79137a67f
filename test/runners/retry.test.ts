/**
 * The retry runner, in process, over a real spool: due entries go back to
 * their original queue in due order and never early; later ones wait without
 * costing anything; a newly deferred entry due sooner wakes the runner by its
 * file event. And the whole cycle with a failing runner: in, retry, in, retry,
 * in, done.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEntryId, withTime, type DequeuedEntry } from '../../queues/index.js';
import { TemporaryFailure } from '../../runners/errors.js';
import RetryRunner from '../../runners/retry.js';
import type { EntryContext, RunnerOptions } from '../../runners/runner.js';
import { cleanup, collectGarbage, makeSpool, mapLimit, Pulse, QueueArrivals, runnerOptions, ScriptedRunner, startRunner, type Spool } from './harness.js';

afterEach(cleanup);

const TIMEOUT = 120_000;
const HOUR = 3_600_000;

/** A retry runner that also remembers what it was given. */
class RecordingRetryRunner extends RetryRunner {
  readonly seen: Array<{ id: string; attempts: unknown; originalQueue: unknown; firstFailureAt: unknown }> = [];

  override async process(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const { attempts, originalQueue, firstFailureAt } = entry.control;
    this.seen.push({ id: entry.id, attempts, originalQueue, firstFailureAt });
    await super.process(entry, ctx);
  }
}

function retryRunner(spool: Spool, overrides: Partial<RunnerOptions> = {}): RecordingRetryRunner {
  return new RecordingRetryRunner(runnerOptions(spool, { name: 'retry', queue: 'retry', ...overrides }));
}

/** An entry of `in` taken by a consumer (a `.bak`), about to fail. */
async function takeFromIn(spool: Spool, body: string): Promise<string> {
  const inbox = spool.switchboard('in');
  const id = await inbox.enqueue(`Subject: ${body}\r\n\r\n${body}\r\n`, { body });
  await inbox.dequeue(id);
  return id;
}

/** Defer a taken entry of `in` to retry as a failing runner would: due at `dueAt` (ms). Returns its id in retry. */
function defer(spool: Spool, id: string, dueAt: number): Promise<string> {
  return spool.switchboard('in').moveTo(id, 'retry', { micros: BigInt(dueAt) * 1000n, reason: '451 4.7.1 later', control: { attempts: 1 } });
}

async function deferToRetry(spool: Spool, dueAt: number, body: string): Promise<string> {
  return defer(spool, await takeFromIn(spool, body), dueAt);
}

function dueOf(id: string): number {
  return Number(parseEntryId(id).micros / 1000n);
}

describe('RetryRunner', () => {
  it('returns due entries to their original queue in due order, none before its due time, with originalQueue and reason cleared', async () => {
    const spool = await makeSpool();
    const base = Date.now();
    const deferred = [
      await deferToRetry(spool, base + 400, 'third'),
      await deferToRetry(spool, base + 200, 'first'),
      await deferToRetry(spool, base + 300, 'second'),
    ];
    const arrivals = await QueueArrivals.open(spool, 'in');
    const watch = startRunner(retryRunner(spool));
    const arrived = await arrivals.atLeast(3);

    const byDue = [...deferred].sort((a, b) => dueOf(a) - dueOf(b));
    expect(arrived.map((arrival) => arrival.id)).toEqual(byDue);
    for (const { id, at } of arrived) {
      // Taking the entry (entry-start) precedes its arrival: both are at or after the due time.
      const started = watch.starts.find((start) => start.id === id)!;
      expect(started.at).toBeGreaterThanOrEqual(dueOf(id));
      expect(at).toBeGreaterThanOrEqual(dueOf(id));
      // Woken by its timer: the rescan is hourly, so arriving at all before the test's timeout says so (how soon is no test's business).
    }
    const back = await spool.entries('in');
    expect(back.map((entry) => entry.id)).toEqual(byDue);
    for (const entry of back) {
      expect(entry.state).toBe('pck');
      expect(entry.control.originalQueue).toBeUndefined();
      expect(entry.control.reason).toBeUndefined();
      expect(entry.control.attempts).toBe(1);
    }
    expect(back.map((entry) => entry.metadata.body)).toEqual(['first', 'second', 'third']);
    expect(await spool.entries('retry')).toEqual([]);
    await watch.endsAtLeast(3);
    expect(watch.ends.map((end) => end.outcome)).toEqual(['forwarded', 'forwarded', 'forwarded']);
  }, TIMEOUT);

  it('leaves an entry due in an hour where it is while an earlier one is returned, and still stops at once', async () => {
    const spool = await makeSpool();
    const far = await deferToRetry(spool, Date.now() + HOUR, 'far');
    const near = await deferToRetry(spool, Date.now() + 250, 'near');
    const arrivals = await QueueArrivals.open(spool, 'in');
    const watch = startRunner(retryRunner(spool));
    const [arrival] = await arrivals.atLeast(1);
    expect(arrival!.id).toBe(near);
    expect(arrival!.at).toBeGreaterThanOrEqual(dueOf(near));
    await watch.endOf(near);

    const retry = await spool.entries('retry');
    expect(retry.map((entry) => [entry.id, entry.state])).toEqual([[far, 'pck']]);
    expect(watch.starts.map((start) => start.id)).toEqual([near]);
    // Asleep until the far entry is due, yet stop() does not wait for it.
    await watch.runner.stop();
    expect(watch.ended).toBe(true);
    expect((await spool.entries('retry')).map((entry) => entry.id)).toEqual([far]);
  }, TIMEOUT);

  it('an entry deferred after ready and due sooner than the current head wakes the runner through its file event', async () => {
    const spool = await makeSpool();
    const far = await deferToRetry(spool, Date.now() + HOUR, 'far');
    const watch = startRunner(retryRunner(spool, { rescanIntervalMs: HOUR }));
    await watch.whenReady();
    const taken = await takeFromIn(spool, 'near');
    const arrivals = await QueueArrivals.open(spool, 'in');
    const near = await defer(spool, taken, Date.now() + 200);
    const [arrival] = await arrivals.atLeast(1);

    expect(arrival!.id).toBe(near);
    expect(arrival!.at).toBeGreaterThanOrEqual(dueOf(near));
    await watch.endOf(near);
    expect(watch.starts[0]!.at).toBeGreaterThanOrEqual(dueOf(near));
    expect(watch.starts.map((start) => start.id)).toEqual([near]);
    expect((await spool.entries('retry')).map((entry) => entry.id)).toEqual([far]);
  }, TIMEOUT);

  it('an entry in retry that records no original queue goes to shunt', async () => {
    const spool = await makeSpool();
    const orphan = await spool.switchboard('retry').enqueue('orphan', {}, { micros: BigInt(Date.now() - 1_000) * 1000n });
    const watch = startRunner(retryRunner(spool));
    expect((await watch.endOf(orphan)).outcome).toBe('shunt');
    const shunt = await spool.entries('shunt');
    expect(shunt.map((entry) => [entry.id, entry.control.originalQueue, entry.control.failedRunner])).toEqual([[orphan, 'retry', 'retry']]);
    expect(shunt[0]!.control.reason).toBe('Error: entry in retry records no original queue to return to');
  }, TIMEOUT);

  it('cycles a twice temporarily failing entry in, retry, in, retry, in with attempts 1 and 2 and delays d and 2d, then it succeeds', async () => {
    const spool = await makeSpool();
    const pulse = new Pulse();
    // The failing runner's clock is an hour behind, so what it defers is already due for the retry runner.
    const skew = HOUR;
    const retrySchedule = { initialDelayMs: 60_000, maxDelayMs: HOUR, jitter: 0, lifetimeMs: 24 * HOUR };
    const failing = new ScriptedRunner(
      runnerOptions(spool, { name: 'deliver', retry: retrySchedule, now: () => Date.now() - skew }),
      async (entry) => {
        const attempts = entry.control.attempts;
        if (typeof attempts !== 'number' || attempts < 2) throw new TemporaryFailure(`4.4.1 attempt ${String(attempts ?? 0)} failed`);
        await spool.switchboard('done').enqueue(entry.message, { attempts });
      },
    );
    const retrier = retryRunner(spool);
    const deliver = startRunner(failing, pulse);
    const retry = startRunner(retrier, pulse);
    await deliver.whenReady();
    await retry.whenReady();
    const id = await spool.switchboard('in').enqueue('Subject: flaky\r\n\r\nbody\r\n');
    await deliver.endsAtLeast(3);

    expect(deliver.ends.map((end) => end.outcome)).toEqual(['retry', 'retry', 'finished']);
    expect(retry.ends.map((end) => end.outcome)).toEqual(['forwarded', 'forwarded']);
    expect(retrier.seen.map((seen) => [seen.attempts, seen.originalQueue])).toEqual([
      [1, 'in'],
      [2, 'in'],
    ]);
    // The sha1 part never changes; the time part is the failure time plus d, then plus 2d.
    const [first, second] = retrier.seen;
    expect(first!.id).toBe(withTime(id, parseEntryId(first!.id).micros));
    expect(second!.id).toBe(withTime(id, parseEntryId(second!.id).micros));
    const firstFailureAt = Date.parse(String(first!.firstFailureAt));
    expect(second!.firstFailureAt).toBe(first!.firstFailureAt);
    expect(firstFailureAt).toBeLessThanOrEqual(Date.now() - skew);
    expect(firstFailureAt).toBeGreaterThan(Date.now() - skew - TIMEOUT);
    // dueAt = now + delay, with now read a moment after the failure time was.
    const firstDelay = dueOf(first!.id) - firstFailureAt;
    expect(firstDelay).toBeGreaterThanOrEqual(60_000);
    expect(firstDelay).toBeLessThan(60_000 + 1_000);
    const secondFailureAt = dueOf(second!.id) - 120_000;
    expect(secondFailureAt).toBeGreaterThanOrEqual(dueOf(first!.id) - 60_000);
    expect(secondFailureAt).toBeLessThanOrEqual(Date.now() - skew);
    const done = await spool.entries('done');
    expect(done.map((entry) => [entry.metadata.attempts, entry.message.toString()])).toEqual([[2, 'Subject: flaky\r\n\r\nbody\r\n']]);
    expect(await spool.entries('in')).toEqual([]);
    expect(await spool.entries('retry')).toEqual([]);
    expect(deliver.runner.stats).toMatchObject({ processed: 1, retried: 2, failed: 0 });
  }, TIMEOUT);
});

describe('RetryRunner cost', () => {
  it('with 20,000 entries due in an hour, sleeps without using CPU after ready', async () => {
    const spool = await makeSpool();
    const retry = spool.switchboard('retry', { durability: 'none' });
    const dueAt = BigInt(Date.now() + HOUR) * 1000n;
    await mapLimit(Array.from({ length: 20_000 }, (_, i) => i), 64, (i) =>
      retry.enqueue(`deferred ${i}`, {}, { micros: dueAt + BigInt(i), control: { originalQueue: 'in', attempts: 1 } }),
    );
    const watch = startRunner(retryRunner(spool));
    await watch.whenReady();

    // The measurement window is the one fixed wait: an entry-start would end it early (and fail).
    collectGarbage();
    const before = process.cpuUsage();
    const woke = await Promise.race([
      watch.pulse.until(() => watch.starts.length > 0, 'an entry taken').then(() => true),
      delay(1_000).then(() => false),
    ]);
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    expect(woke).toBe(false);
    expect(cpuMs, `${cpuMs} ms of CPU in a second of waiting`).toBeLessThan(50);
    expect(watch.runner.stats).toMatchObject({ processed: 0, failed: 0, inFlight: 0 });
  });

  it('an entry due beyond the longest timer Node can set (30 days ahead) is waited for without spinning', async () => {
    const spool = await makeSpool();
    const far = await deferToRetry(spool, Date.now() + 30 * 24 * HOUR, 'far');
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      const watch = startRunner(retryRunner(spool));
      await watch.whenReady();
      collectGarbage();
      const before = process.cpuUsage();
      await delay(500);
      const used = process.cpuUsage(before);
      const cpuMs = (used.user + used.system) / 1000;
      expect(warnings).not.toContain('TimeoutOverflowWarning');
      expect(cpuMs, `${cpuMs} ms of CPU in half a second of waiting`).toBeLessThan(50);
      expect(watch.starts).toEqual([]);
      expect((await spool.entries('retry')).map((entry) => entry.id)).toEqual([far]);
    } finally {
      process.off('warning', onWarning);
    }
  }, TIMEOUT);
});
