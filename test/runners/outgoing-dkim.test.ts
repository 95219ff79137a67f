/**
 * DKIM signing in the real outgoing runner, delivering to a real SMTP sink on
 * loopback: what the sink received verifies with mailauth and dkimpy, for a
 * bulk entry (signed once in the worker pool: every transaction the same
 * bytes) and personalised VERP copies (each signed over its own bytes);
 * a list of an unconfigured domain goes unsigned; a key missing or unusable
 * stops the runner being made (SY_DKIM_KEY); a signing failure sends the
 * entry to retry with nothing sent.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import OutgoingRunner from '../../runners/outgoing.js';
import { TaskPool, type TaskOptions } from '../../runners/task-pool.js';
import { outMetadata, type OutEntry } from '../../runners/outgoing/out-entry.js';
import type { RunnerOptions } from '../../runners/runner.js';
import type { RenderTask } from '../../runners/outgoing/render-worker.js';
import { configSchema } from '../../src/config/schema.js';
import { DkimKeyError } from '../../src/mail/dkim/errors.js';
import { generateKey } from '../../src/mail/dkim/keygen.js';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { dkimpyVerify, mailauthVerify, type Records } from '../fixtures/dkim-verifiers.js';
import { cleanup, makeSpool, runnerOptions, startRunner, type Spool } from './harness.js';

const TIMEOUT = 120_000;
const MESSAGE = Buffer.from(
  'From: Ann <ann@example.net>\r\nTo: team@lists.example.org\r\nSubject: signed\r\nDate: Sat, 05 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1@example.net>\r\nList-Id: <team.lists.example.org>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n.leading dot\r\n',
);
const PERSONALIZE = { headers: { 'List-Unsubscribe': '<https://lists.example.org/u/{address}>' }, footer: '-- \nSent to {address}\n' };
const sinks: SmtpSink[] = [];

afterEach(async () => {
  await cleanup();
  for (const sink of sinks.splice(0)) await sink.close();
});

interface Setup {
  spool: Spool;
  sink: SmtpSink;
  records: Records;
  config: ReturnType<typeof configSchema.parse>;
}

/**
 * An RSA and an Ed25519 key for lists.example.org, made by keygen once for the file (an RSA 2048 key is
 * a tenth of a second of CPU or more on a loaded machine) and copied into each test's home: no test
 * changes them.
 */
let keys: Promise<{ dir: string; records: Records }> | undefined;

async function makeKeys(): Promise<{ dir: string; records: Records }> {
  const dir = join(await mkdtemp(join(tmpdir(), 'sy-dkim-keys-')), 'dkim');
  const rsa = generateKey({ domain: 'lists.example.org', selector: 'r1', type: 'rsa', dir, force: false });
  const ed = generateKey({ domain: 'lists.example.org', selector: 'e1', type: 'ed25519', dir, force: false });
  return { dir, records: { [rsa.record.name]: rsa.record.text, [ed.record.name]: ed.record.text } };
}

afterAll(async () => {
  const made = await keys?.catch(() => undefined);
  if (made) await rm(join(made.dir, '..'), { recursive: true, force: true });
});

/** A home (the spool's directory) with the file's RSA and Ed25519 keys (makeKeys) in its dkim/. */
async function setup(): Promise<Setup> {
  const spool = await makeSpool();
  const sink = await SmtpSink.start({ keepBodies: true });
  sinks.push(sink);
  keys ??= makeKeys();
  const made = await keys;
  await cp(made.dir, join(spool.dir, 'dkim'), { recursive: true });
  const config = configSchema.parse({
    smtp: { port: sink.port, maxRecipients: 2, probeTimeout: 0, connectionTimeout: '5s', greetingTimeout: '5s', socketTimeout: '5s' },
    dkim: { domains: { 'lists.example.org': { selector: 'r1', keys: ['dkim/lists.example.org.r1.pem', { file: 'dkim/lists.example.org.e1.pem', selector: 'e1' }] } } },
  });
  return { spool, sink, config, records: made.records };
}

function countingPool(counts: Record<string, number>, change?: (filename: string, data: unknown) => unknown): TaskPool {
  const pool = new TaskPool({ maxThreads: 1, taskTimeoutMs: 20_000 });
  const run = pool.run.bind(pool);
  pool.run = <T>(filename: string, data: unknown, options?: TaskOptions): Promise<T> => {
    const name = filename.split('/').pop()!;
    counts[name] = (counts[name] ?? 0) + 1;
    return run<T>(filename, change ? change(filename, data) : data, options);
  };
  return pool;
}

function outgoing(s: Setup, overrides: Partial<RunnerOptions> = {}): OutgoingRunner {
  return new OutgoingRunner(runnerOptions(s.spool, { name: 'outgoing', queue: 'out', config: s.config, home: s.spool.dir, ...overrides }));
}

function post(spool: Spool, recipients: string[], extra: Partial<OutEntry> = {}): Promise<string> {
  const metadata = outMetadata({ listId: 'team@lists.example.org', sender: 'team-bounces@lists.example.org', recipients, ...extra });
  return spool.switchboard('out').enqueue(MESSAGE, metadata);
}

async function expectVerified(body: Buffer, records: Records): Promise<void> {
  const results = await mailauthVerify(body, records);
  expect(results.map((r) => [r.algorithm, r.result])).toEqual([
    ['rsa-sha256', 'pass'],
    ['ed25519-sha256', 'pass'],
  ]);
  expect(await dkimpyVerify(body, records)).toEqual([true, true]);
}

describe('OutgoingRunner with [dkim]', () => {
  it('bulk: signed once in the worker pool; every transaction carries the same two signatures, which verify as received', async () => {
    const s = await setup();
    const counts: Record<string, number> = {};
    const watch = startRunner(outgoing(s, { pool: countingPool(counts) }));
    await watch.whenReady();
    const id = await post(s.spool, ['a@a.example', 'b@a.example', 'c@b.example', 'd@c.example']);
    expect((await watch.endOf(id)).outcome).toBe('finished');
    expect(s.sink.accepted.length).toBe(2);
    expect(counts['sign-worker.js']).toBe(1);
    const [first, second] = s.sink.accepted.map((t) => t.body!);
    expect(first!.equals(second!)).toBe(true);
    expect(first!.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256;[^]*\r\nDKIM-Signature: v=1; a=ed25519-sha256;/);
    expect(first!.subarray(first!.length - MESSAGE.length).equals(MESSAGE)).toBe(true);
    await expectVerified(first!, s.records);
  }, TIMEOUT);

  it('personalised VERP copies: each signed over its own header and footer in the render pool, each verifies as received', async () => {
    const s = await setup();
    const counts: Record<string, number> = {};
    const watch = startRunner(outgoing(s, { pool: countingPool(counts) }));
    await watch.whenReady();
    const recipients = ['a@a.example', 'b@b.example', 'c@c.example'];
    const id = await post(s.spool, recipients, { verp: true, listPosting: 'team@lists.example.org', personalize: PERSONALIZE });
    expect((await watch.endOf(id)).outcome).toBe('finished');
    expect(s.sink.accepted.length).toBe(3);
    expect(counts['sign-worker.js']).toBeUndefined();
    expect(counts['render-worker.js']).toBe(1);
    const signatures = new Set<string>();
    for (const t of s.sink.accepted) {
      const text = t.body!.toString('latin1');
      expect(text).toContain(`Sent to ${t.recipients[0]}\r\n`);
      signatures.add(/b=([^;]+)$/m.exec(text)![1]!);
      await expectVerified(t.body!, s.records);
    }
    expect(signatures.size).toBe(3);
  }, TIMEOUT);

  it('a list whose domain has no [dkim] entry is sent unsigned', async () => {
    const s = await setup();
    const watch = startRunner(outgoing(s));
    await watch.whenReady();
    const metadata = outMetadata({ listId: 'other@lists.example.com', sender: 'other-bounces@lists.example.com', recipients: ['a@a.example'] });
    const id = await s.spool.switchboard('out').enqueue(MESSAGE, metadata);
    expect((await watch.endOf(id)).outcome).toBe('finished');
    expect(s.sink.accepted[0]!.body!.equals(MESSAGE)).toBe(true);
  }, TIMEOUT);

  it('a key file missing, not a key, or an RSA key under 2048 bits: the runner is not made (SY_DKIM_KEY naming the file and what to do)', async () => {
    const s = await setup();
    const withKeys = (keys: string[]) => ({ ...s.config, dkim: { ...s.config.dkim, domains: { 'lists.example.org': { selector: 'r1', listDomains: [], keys: keys.map((file) => ({ file, selector: 'r1' })) } } } });
    const attempt = (keys: string[]): unknown => {
      try {
        outgoing(s, { config: withKeys(keys) });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const missing = attempt(['dkim/nope.pem']);
    expect(missing).toBeInstanceOf(DkimKeyError);
    expect(missing).toMatchObject({ code: 'SY_DKIM_KEY' });
    expect((missing as Error).message).toContain(join(s.spool.dir, 'dkim/nope.pem'));
    expect((missing as Error).message).toMatch(/no such file: make it with `switchyard dkim keygen`/);

    await writeFile(join(s.spool.dir, 'garbage.pem'), 'not a key\n', { mode: 0o600 });
    expect((attempt(['garbage.pem']) as Error).message).toMatch(/garbage\.pem: not a PEM private key/);

    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    await writeFile(join(s.spool.dir, 'small.pem'), small, { mode: 0o600 });
    expect((attempt(['small.pem']) as Error).message).toMatch(/an RSA key of 1024 bits; DKIM needs 2048 or more/);

    expect(attempt(['dkim/lists.example.org.r1.pem', 'dkim/lists.example.org.r1.pem'])).toMatchObject({ code: 'SY_DKIM_KEY', message: expect.stringMatching(/a second rsa key/) });
  }, TIMEOUT);

  it('a signing failure sends the entry to retry (SY_DKIM_SIGN), nothing sent unsigned: bulk (the sign task fails) and personalised (a key the worker cannot use)', async () => {
    const s = await setup();
    const counts: Record<string, number> = {};
    const pool = countingPool(counts, (filename, data) => {
      if (filename.endsWith('sign-worker.js')) return { message: 'not a task' };
      const task = data as RenderTask;
      return { ...task, dkim: { ...task.dkim!, keys: [{ algorithm: 'rsa-sha256', selector: 'r1', pem: 'broken' }] } };
    });
    const watch = startRunner(outgoing(s, { pool }));
    await watch.whenReady();
    const bulk = await post(s.spool, ['a@a.example', 'b@b.example']);
    expect((await watch.endOf(bulk)).outcome).toBe('retry');
    const personal = await post(s.spool, ['c@c.example', 'd@d.example'], { verp: true, listPosting: 'team@lists.example.org', personalize: PERSONALIZE });
    expect((await watch.endOf(personal)).outcome).toBe('retry');
    expect(s.sink.accepted).toEqual([]);
    const retried = await s.spool.entries('retry');
    expect(retried).toHaveLength(2);
    for (const entry of retried) {
      expect(String(entry.control.reason)).toMatch(/DKIM signing failed/);
      expect(entry.message.equals(MESSAGE)).toBe(true);
    }
    expect(retried.map((e) => e.metadata.recipients).sort()).toEqual([['a@a.example', 'b@b.example'], ['c@c.example', 'd@d.example']]);
  }, TIMEOUT);
});
