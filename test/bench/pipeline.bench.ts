/**
 * The pipeline benchmark: CPU time per message of the message-rewriting
 * handlers (cleanse, subject-prefix, list-headers, reply-to, dmarc
 * munge_from, decorate) on a 4 KiB post, beside a floor measured in the same
 * run: RawMessage.parse() + toBuffer() of the same bytes, the least any
 * header-rewriting pipeline spends (split the header block, write it back).
 * to-archive and to-outgoing are left out: they are a queue write and a
 * store query, measured by the end-to-end posts/s benchmark.
 *
 * Two posts: a lone text/plain 7bit (footer appended in place) and a
 * multipart/alternative (wrapped in multipart/mixed). Figures are process
 * CPU time (user + system) over BENCH_MESSAGES messages per round, medians
 * over BENCH_ROUNDS rounds.
 *
 * Then two hostile sizes, once each per round (wall time, median): a post
 * with 10,000 header fields (target under 2 s) and one with a 25 MB
 * attachment (under 10 s). test/pipeline/decorate.test.ts checks what the
 * pipeline makes of them; how long it takes is measured here.
 *
 *     npm run bench -- pipeline
 *
 * Files: none (the list is an in-memory object; nothing is enqueued).
 */
import pino from 'pino';
import { runPipeline, type PipelineContext } from '../../runners/incoming/pipeline.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { type MailingList, type Store } from '../../src/store/index.js';
import { defaultSettings } from '../../src/store/list-settings.js';
import { envInt, median, Report } from './harness.js';

const MESSAGES = envInt('BENCH_MESSAGES', 20_000);
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const HANDLERS = ['cleanse', 'subject-prefix', 'list-headers', 'reply-to', 'dmarc', 'decorate'];

const report = new Report('pipeline');
report.setting('messages per round', MESSAGES);
report.setting('rounds', ROUNDS);
report.setting('handlers', HANDLERS.join(', '));

const list: MailingList = {
  address: 'bench@lists.example.org',
  name: 'bench',
  domain: 'lists.example.org',
  displayName: 'Bench',
  description: 'benchmark list',
  createdAt: new Date(0),
  settings: {
    ...defaultSettings(),
    subjectPrefix: '[Bench] ',
    replyGoesToList: 'point_to_list',
    dmarcMitigateUnconditionally: true,
    footerText: '-- \nBench mailing list: {list}\nLeave: mailto:bench-leave@lists.example.org',
  },
};

const HEADER =
  'Received: from mx.example.com (mx.example.com [192.0.2.10])\r\n\tby lists.example.org with ESMTP id 4QxYz1; Tue, 4 Mar 2025 10:15:02 +0000\r\n' +
  'From: Anne Person <anne@example.com>\r\nTo: bench@lists.example.org\r\nSubject: =?UTF-8?Q?Caf=C3=A9_meeting_notes?=\r\nDate: Tue, 4 Mar 2025 10:15:00 +0000\r\n' +
  'Message-ID: <20250304101500.GA1234@example.com>\r\nMIME-Version: 1.0\r\n';

function fill(bytes: number): string {
  const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n';
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

function plainPost(): Buffer {
  const head = `${HEADER}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n`;
  return Buffer.from(head + fill(4096 - head.length));
}

function alternativePost(): Buffer {
  const head = `${HEADER}Content-Type: multipart/alternative; boundary="alt"\r\n\r\n`;
  const part = (type: string, text: string): string => `--alt\r\nContent-Type: ${type}; charset=utf-8\r\n\r\n${text}\r\n`;
  const room = 4096 - head.length - 120;
  return Buffer.from(head + part('text/plain', fill(room / 2)) + part('text/html', fill(room / 2)) + '--alt--\r\n');
}

const log = pino({ level: 'silent' });
const noStore = {} as Store; // The handlers measured never touch the store.

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function pipelineRound(post: Buffer): Promise<number> {
  const start = cpuMicros();
  let sink = 0;
  for (let i = 0; i < MESSAGES; i++) {
    const ctx: PipelineContext = {
      list,
      message: RawMessage.parse(post),
      metadata: {},
      store: noStore,
      log,
      now: Date.now,
      enqueue: async () => undefined,
    };
    await runPipeline(ctx, HANDLERS);
    sink += ctx.message.toBuffer().length;
  }
  if (sink === 0) throw new Error('nothing produced');
  return (cpuMicros() - start) / MESSAGES;
}

function floorRound(post: Buffer): number {
  const start = cpuMicros();
  let sink = 0;
  for (let i = 0; i < MESSAGES; i++) sink += RawMessage.parse(post).toBuffer().length;
  if (sink === 0) throw new Error('nothing produced');
  return (cpuMicros() - start) / MESSAGES;
}

report.printHeader();
for (const [title, post] of [
  ['4 KiB text/plain post (footer in place)', plainPost()],
  ['4 KiB multipart/alternative post (wrapped)', alternativePost()],
] as const) {
  report.section(title, [`${post.length} bytes`]);
  // Warm-up: let the JIT settle before measuring.
  await pipelineRound(post);
  floorRound(post);
  const values: number[] = [];
  const floors: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const value = await pipelineRound(post);
    const floor = floorRound(post);
    values.push(value);
    floors.push(floor);
    ratios.push(value / floor);
  }
  report.row({ name: 'pipeline CPU per message', unit: 'µs', value: median(values), floor: median(floors), ratio: median(ratios), rounds: { value: values, floor: floors, ratio: ratios } });
  report.row({ name: 'pipeline messages/s per core', unit: '/s', value: 1e6 / median(values) });
}

function manyFieldsPost(): Buffer {
  const lines = Array.from({ length: 10_000 }, (_, i) => `X-Filler-${i}: value ${i}\r\n`).join('');
  return Buffer.from(`From: a@example.com\r\nSubject: many\r\n${lines}\r\nbody\r\n`);
}

function bigAttachmentPost(): Buffer {
  const b64 = Buffer.alloc(25 * 1024 * 1024, 'QUJD').toString('latin1').match(/.{1,76}/g)!.join('\r\n');
  return Buffer.from(
    `From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--XX--\r\n`,
    'latin1',
  );
}

async function wallMs(post: Buffer): Promise<number> {
  const started = performance.now();
  const ctx: PipelineContext = { list, message: RawMessage.parse(post), metadata: {}, store: noStore, log, now: Date.now, enqueue: async () => undefined };
  await runPipeline(ctx, HANDLERS);
  if (ctx.message.toBuffer().length === 0) throw new Error('nothing produced');
  return performance.now() - started;
}

for (const [title, post, limitMs] of [
  ['10,000 header fields', manyFieldsPost(), 2_000],
  ['a 25 MB attachment (spliced around)', bigAttachmentPost(), 10_000],
] as const) {
  report.section(`hostile size: ${title}`, [`${post.length} bytes, parse + every handler + toBuffer, wall time`]);
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) times.push(await wallMs(post));
  report.row({ name: 'one message', unit: 'ms', value: median(times), target: { text: `< ${limitMs} ms`, pass: median(times) < limitMs } });
}
await report.finish();
