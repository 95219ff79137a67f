/**
 * `switchyard queue flush [QUEUE]` (Postfix's `postqueue -f`) and `queue
 * requeue` of a `retry` entry, with real processes: a real master whose
 * outgoing runner met a 451 from a real SMTP sink has the entry waiting in
 * `retry` for an hour; flush makes the retry runner return it at once and
 * the sink, accepting now, receives it once. Without a master, flush marks
 * entries due (and says so) and the master's next start delivers them;
 * requeue takes an entry out of `retry` straight back to its queue.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEntryId, Spool, Switchboard } from '../../queues/index.js';
import { outMetadata } from '../../runners/outgoing/out-entry.js';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, startMaster, testConfig, waitForEntries, type MasterHandle } from './harness.js';

const homes: string[] = [];
const masters: MasterHandle[] = [];
const sinks: SmtpSink[] = [];

afterEach(async () => {
  for (const handle of masters.splice(0)) await handle.stop();
  for (const sink of sinks.splice(0)) await sink.close();
  for (const dir of homes.splice(0)) await removeHome(dir);
});

const MESSAGE = 'From: poster@example.com\r\nTo: test@lists.example.org\r\nSubject: waiting\r\n\r\nhello\r\n';
const METADATA = outMetadata({ listId: 'test.lists.example.org', sender: 'test-bounces@lists.example.org', recipients: ['member@example.net'] });
const HOUR_MS = 3_600_000;

/**
 * A retry schedule that keeps a deferred entry for an hour: only a flush brings it back within a test.
 * Only the runners a flush involves (retry, outgoing) run: each other one is seconds of module loading on a loaded machine.
 */
function config(smtpPort: number): string {
  return testConfig(`[smtp]\nport = ${smtpPort}\nprobeTimeout = 0\n\n[retry]\ninitialDelay = "1h"\nmaxDelay = "1h"\njitter = 0\n\n${builtInRunnersOff(['retry', 'outgoing'])}`);
}

async function home(toml: string): Promise<string> {
  const dir = await makeHome(toml);
  homes.push(dir);
  return dir;
}

async function sink(rcpt?: (recipient: string) => number | undefined): Promise<SmtpSink> {
  const s = await SmtpSink.start(rcpt === undefined ? {} : { script: { rcpt } });
  sinks.push(s);
  return s;
}

/** An entry waiting in retry, due in an hour, that failed in `from`. */
async function deferred(dir: string, from: string): Promise<string> {
  const retry = new Switchboard({ root: join(dir, 'queues'), name: 'retry' });
  const due = BigInt(Date.now() + HOUR_MS) * 1000n;
  return retry.enqueue(MESSAGE, METADATA, { micros: due, control: { originalQueue: from, attempts: 1, firstFailureAt: new Date().toISOString() } });
}

describe('queue flush', () => {
  it('with a running master: an entry deferred by a 451 is delivered at once, not in an hour, and once', async () => {
    let refusals = 0;
    // 4xx first (the entry goes to retry for an hour), then accepted.
    const smtp = await sink(() => (refusals++ === 0 ? 451 : undefined));
    const dir = await home(config(smtp.port));
    const m = await startMaster(dir);
    masters.push(m);
    await new Switchboard({ root: join(dir, 'queues'), name: 'out' }).enqueue(MESSAGE, METADATA);
    const [waiting] = await waitForEntries(dir, 'retry', 1);
    expect(Number(parseEntryId(waiting!).micros / 1000n)).toBeGreaterThan(Date.now() + HOUR_MS / 2);
    expect(smtp.deliveries.size).toBe(0);

    const result = await runCli(['--home', dir, 'queue', 'flush']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`1 entry in retry due now: the retry runner (master pid ${(await m.status()).master.pid}) returns them to their queues at once\n`);
    await smtp.until(() => smtp.deliveries.get('member@example.net') === 1, 'the flushed entry delivered', 60_000);
    await m.waitForLine((line) => line.msg === 'retry due: entry returned to its queue', 'the retry runner returning it');
    expect(refusals).toBe(2);
    const spool = new Spool({ root: join(dir, 'queues') });
    expect((await spool.count('retry')).pck).toBe(0);
    expect(smtp.deliveries.get('member@example.net')).toBe(1);
  }, 120_000);

  it('without a master: marks the entries due (only those of QUEUE when given) and says so; the next start delivers them', async () => {
    const dir = await home(config(1));
    const forOut = await deferred(dir, 'out');
    const forIn = await deferred(dir, 'in');

    const json = await runCli(['--home', dir, 'queue', 'flush', 'out', '--json']);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { due: string[]; skipped: unknown[]; master: number | null };
    expect(result.master).toBeNull();
    expect(result.due).toHaveLength(1);
    expect(result.skipped).toEqual([]);
    const [flushed] = result.due;
    expect(parseEntryId(flushed!).sha1).toBe(parseEntryId(forOut).sha1);
    expect(Number(parseEntryId(flushed!).micros / 1000n)).toBeLessThanOrEqual(Date.now());
    const spool = new Spool({ root: join(dir, 'queues') });
    const ids = (await spool.entries('retry')).map((e) => e.id).sort();
    expect(ids).toEqual([flushed, forIn].sort());
    const entry = await spool.find(flushed!);
    expect(entry.control).toMatchObject({ originalQueue: 'out', attempts: 1 });

    const text = await runCli(['--home', dir, 'queue', 'flush', 'out']);
    expect(text.stdout).toBe('1 entry in retry (failed in out) marked due; no master is running: they return to their queues when it starts (`switchyard start`)\n');
    expect((await runCli(['--home', dir, 'queue', 'flush', 'nosuchqueue'])).code).toBe(1);

    const smtp = await sink();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'switchyard.toml'), config(smtp.port));
    const m = await startMaster(dir);
    masters.push(m);
    await smtp.until(() => smtp.deliveries.get('member@example.net') === 1, 'the flushed entry delivered after the start', 60_000);
    // The entry of `in` was not flushed: still waiting, due in an hour.
    expect((await spool.entries('retry')).map((e) => e.id)).toEqual([forIn]);
  }, 120_000);
});

describe('queue requeue of a retry entry', () => {
  it('puts it back in the queue it failed in at once, attempts kept, restore count reset', async () => {
    const dir = await home(config(1));
    const id = await deferred(dir, 'out');
    const result = await runCli(['--home', dir, 'queue', 'requeue', id]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`requeued ${id} from retry to out\n`);
    const entry = await new Spool({ root: join(dir, 'queues') }).find(id);
    expect(entry.queue).toBe('out');
    expect(entry.state).toBe('pck');
    expect(entry.control).toMatchObject({ attempts: 1, restores: 0 });
    expect(entry.control?.originalQueue).toBeUndefined();
  });

  it('an entry of retry that records no original queue is refused with the reason (exit 1)', async () => {
    const dir = await home(config(1));
    const id = await new Switchboard({ root: join(dir, 'queues'), name: 'retry' }).enqueue(MESSAGE, METADATA);
    const result = await runCli(['--home', dir, 'queue', 'requeue', id]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no original queue is recorded');
  });
});
