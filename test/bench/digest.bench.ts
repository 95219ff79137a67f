/**
 * The digest benchmark: the issue's figure "a digest of 500 posts composed
 * for 10,000 digest members: compose time and recipients/s to the sink",
 * each beside a floor measured in the same run.
 *
 * - compose: 500 posts of about 2 KiB waiting in the store; the MIME digest
 *   composed (src/mail/digest.ts) and, separately, the whole send of the
 *   issue (src/app/digests.ts sendDigest: claim, compose, stage the `out`
 *   entry with fsync, record, move it into `out`, finish). Floor: a bare
 *   write with fsync of a file as large as the digest. The plain (RFC 1153)
 *   digest, which reads each post with mailparser, beside mailparser's
 *   simpleParser alone on the same 500 posts. ratio = time / floor time.
 * - delivery: a real master (built-in outgoing runner, 5 connections, 500
 *   recipients per transaction) and a loopback SMTP sink in its own process
 *   (smtp-sink-process.ts): from `sendDigest` called on the home's store to
 *   the sink's acceptance of the 10,000th recipient. Floor: nodemailer's
 *   pooled transport sending the same 20 transactions of the same digest
 *   bytes from this process. ratio = rate / floor rate.
 *
 *     node dist/test/bench/digest.bench.js [--dir <path>]
 *
 * Scale with BENCH_DIGEST_POSTS (500), BENCH_DIGEST_MEMBERS (10000),
 * BENCH_DIGEST_ROUNDS (3).
 * Files: fresh `switchyard-bench-*` directories, removed after each round.
 */
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { spoolDigestOutbox } from '../../src/app/digest-outbox.js';
import { sendDigest } from '../../src/app/digests.js';
import { composeDigest } from '../../src/mail/digest.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { envInt, freshDir, median, removeDir, Report, switchyardCli, wallClockMs } from './harness.js';
import { startSinkProcess, type SinkProcess } from './sink-process-client.js';

const POSTS = envInt('BENCH_DIGEST_POSTS', 500);
const MEMBERS = envInt('BENCH_DIGEST_MEMBERS', 10_000);
const ROUNDS = envInt('BENCH_DIGEST_ROUNDS', 3);
const MAX_CONNECTIONS = 5;
const MAX_RECIPIENTS = 500;
const LIST = 'bench@lists.example.org';
const report = new Report('digest');

function post(n: number): Buffer {
  const body = Array.from({ length: 28 }, (_, i) => `Line ${i} of post ${n}: the quick brown fox jumps over the lazy dog.`).join('\r\n');
  return Buffer.from(
    `From: Poster ${n % 50} <poster${n % 50}@example${n % 7}.org>\r\nTo: ${LIST}\r\nSubject: [Bench] topic number ${n}\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <digest-bench-${n}@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`,
  );
}
const posts = Array.from({ length: POSTS }, (_, n) => post(n));

/** A store at `file` with the list, MEMBERS MIME digest members and POSTS posts waiting. */
async function fillStore(file: string): Promise<SqliteStore> {
  const store = new SqliteStore({ file });
  await store.createList({ address: LIST, displayName: 'Bench', settings: { digestSendPeriodic: '' } });
  await store.addMembers(LIST, Array.from({ length: MEMBERS }, (_, i) => ({ address: `member${i}@example${i % 97}.org` })));
  const db = new Database(file);
  db.prepare("UPDATE members SET delivery_mode = 'mime_digests'").run();
  db.close();
  for (let n = 0; n < POSTS; n++) await store.addDigestPost({ list: LIST, entryKey: `bench-${n}`, addedAt: new Date(), sender: '', subject: '', messageId: null, raw: posts[n]! });
  return store;
}

async function bareWrite(path: string, bytes: Buffer): Promise<number> {
  const started = performance.now();
  const handle = await open(path, 'wx', 0o660);
  await handle.write(bytes);
  await handle.datasync();
  await handle.close();
  return performance.now() - started;
}

async function composeRound(): Promise<{ composeMs: number; sendMs: number; floorMs: number; plainMs: number; parseFloorMs: number; size: number }> {
  const dir = await freshDir('digest');
  try {
    const store = await fillStore(join(dir, 'switchyard.db'));
    const list = await store.getList(LIST);
    const input = { list, volume: 1, issue: 1, date: new Date(), posts: posts.map((raw) => ({ raw, sender: '', subject: '' })) };
    let started = performance.now();
    const digest = await composeDigest('mime_digests', input);
    const composeMs = performance.now() - started;
    started = performance.now();
    await composeDigest('plain_digests', input);
    const plainMs = performance.now() - started;
    started = performance.now();
    for (const raw of posts) await simpleParser(raw, { skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
    const parseFloorMs = performance.now() - started;
    const outbox = spoolDigestOutbox({ queues: join(dir, 'queues'), staging: join(dir, 'digests') }, 'fsync');
    started = performance.now();
    const [sent] = await sendDigest({ store, now: () => new Date(), outbox }, LIST);
    const sendMs = performance.now() - started;
    if (sent?.posts !== POSTS) throw new Error(`expected an issue of ${POSTS} posts, got ${JSON.stringify(sent)}`);
    const floorMs = await bareWrite(join(dir, 'floor.bin'), digest);
    await store.close();
    return { composeMs, sendMs, floorMs, plainMs, parseFloorMs, size: digest.length };
  } finally {
    await removeDir(dir);
  }
}

async function deliveryRound(sink: SinkProcess): Promise<number> {
  await sink.reset();
  const home = await freshDir('digest-home');
  try {
    await writeFile(join(home, 'switchyard.toml'), `[logging]\ndestination = "files"\nlevel = "warn"\n\n[http]\nenabled = false\n\n[smtp]\nport = ${sink.port}\nmaxConnections = ${MAX_CONNECTIONS}\nmaxRecipients = ${MAX_RECIPIENTS}\n`);
    const store = await fillStore(join(home, 'switchyard.db'));
    const started = await switchyardCli(home, 'start');
    if (started.code !== 0) throw new Error(`master did not start: ${started.output}`);
    try {
      const outbox = spoolDigestOutbox({ queues: join(home, 'queues'), staging: join(home, 'digests') }, 'fsync');
      const reached = sink.reached(MEMBERS);
      const begin = wallClockMs();
      await sendDigest({ store, now: () => new Date(), outbox }, LIST);
      const { at } = await reached;
      await store.close();
      return MEMBERS / ((at - begin) / 1000);
    } finally {
      await switchyardCli(home, 'stop');
    }
  } finally {
    await removeDir(home);
  }
}

async function deliveryFloor(sink: SinkProcess, digest: Buffer): Promise<number> {
  await sink.reset();
  const transport = nodemailer.createTransport({ pool: true, host: '127.0.0.1', port: sink.port, maxConnections: MAX_CONNECTIONS, maxMessages: 100, logger: false });
  const recipients = Array.from({ length: MEMBERS }, (_, i) => `member${i}@example${i % 97}.org`);
  const chunks: string[][] = [];
  for (let i = 0; i < recipients.length; i += MAX_RECIPIENTS) chunks.push(recipients.slice(i, i + MAX_RECIPIENTS));
  const reached = sink.reached(MEMBERS);
  const begin = wallClockMs();
  await Promise.all(chunks.map((to) => transport.sendMail({ envelope: { from: 'bench-bounces@lists.example.org', to }, raw: digest })));
  const { at } = await reached;
  transport.close();
  return MEMBERS / ((at - begin) / 1000);
}

report.setting('posts per digest', POSTS);
report.setting('digest members', MEMBERS);
report.setting('rounds', ROUNDS);
report.printHeader();

const compose: Array<Awaited<ReturnType<typeof composeRound>>> = [];
for (let round = 0; round < ROUNDS; round++) compose.push(await composeRound());
report.section(`compose: one digest of ${POSTS} posts (${Math.round(compose[0]!.size / 1024)} KiB as MIME), ${MEMBERS} MIME digest members (medians)`, [
  'floor: a bare write with fsync of a file as large as the digest; ratio: time / floor time',
]);
const ratios = (values: number[], floors: number[]) => values.map((v, i) => v / floors[i]!);
const pick = <K extends keyof (typeof compose)[number]>(key: K) => compose.map((c) => c[key] as number);
report.row({ name: 'MIME digest composed', unit: 'ms', value: median(pick('composeMs')), floor: median(pick('floorMs')), ratio: median(ratios(pick('composeMs'), pick('floorMs'))) });
report.row({ name: 'issue sent into out (claim, compose, stage fsync, move, finish)', unit: 'ms', value: median(pick('sendMs')), floor: median(pick('floorMs')), ratio: median(ratios(pick('sendMs'), pick('floorMs'))) });
report.section(`plain (RFC 1153) digest of the same ${POSTS} posts`, ['floor: mailparser simpleParser alone on the same posts; ratio: time / floor time']);
report.row({ name: 'plain digest composed', unit: 'ms', value: median(pick('plainMs')), floor: median(pick('parseFloorMs')), ratio: median(ratios(pick('plainMs'), pick('parseFloorMs'))) });

const sink = await startSinkProcess();
try {
  const bytesDir = await freshDir('digest-bytes');
  const store = await fillStore(join(bytesDir, 'switchyard.db'));
  const list = await store.getList(LIST);
  const digest = await composeDigest('mime_digests', { list, volume: 1, issue: 1, date: new Date(), posts: posts.map((raw) => ({ raw, sender: '', subject: '' })) });
  await store.close();
  await removeDir(bytesDir);
  const rates: number[] = [];
  const floors: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    floors.push(await deliveryFloor(sink, digest));
    rates.push(await deliveryRound(sink));
  }
  report.section(`delivery: the MIME digest to ${MEMBERS} members through a real master to a loopback SMTP sink (bulk, ${MAX_CONNECTIONS} connections, ${MAX_RECIPIENTS} recipients per transaction)`, [
    'from sendDigest to the sink accepting the last recipient; floor: nodemailer pooled transport sending the same transactions; ratio: rate / floor rate',
  ]);
  const each = rates.map((r, i) => r / floors[i]!);
  report.row({ name: 'recipients/s (digest send to sink)', unit: '/s', value: median(rates), floor: median(floors), ratio: median(each), rounds: { value: rates, floor: floors, ratio: each } });
} finally {
  sink.child.kill();
}
await report.finish();
