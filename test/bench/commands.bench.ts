/**
 * The command benchmark: the figure "command messages processed per
 * second (one join each, confirmation out)", beside a floor measured in the
 * same run.
 *
 * - value: BENCH_COMMANDS messages, each `join` to -request from a new
 *   address, through handleCommandMessage() (runners/command/handle.ts:
 *   header read, text and commands parsed, the subscription request and its
 *   confirmation-per-day count in the store, one IMMEDIATE transaction each
 *   with synchronous=FULL, the confirmation built and enqueued on a real
 *   `virgin` switchboard with fsync): what the command runner does per
 *   entry, less the dequeue;
 * - floor: mailparser's simpleParser alone on the same messages.
 *   ratio = rate / floor rate.
 *
 *     node dist/test/bench/commands.bench.js [--dir <path on the home's file system>]
 *
 * Scale with BENCH_COMMANDS (default 500) and BENCH_ROUNDS (default 3).
 *
 * Files: only below fresh `switchyard-bench-*` directories, each removed when
 * its round ends (see harness.ts).
 */
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { Switchboard } from '../../queues/index.js';
import { handleCommandMessage } from '../../runners/command/handle.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { envInt, freshDir, median, removeDir, Report, type Row } from './harness.js';

const COMMANDS = envInt('BENCH_COMMANDS', 500);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const LIST = 'bench@lists.example.org';
const report = new Report('commands');

function joinMessage(i: number): Buffer {
  return Buffer.from(
    `From: Subscriber ${i} <subscriber.${i}@example${i % 97}.org>\r\nTo: bench-request@lists.example.org\r\nSubject: join\r\nMessage-ID: <join-${i}@example.org>\r\n` +
      `Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease add me.\r\n\r\n-- \r\nSubscriber ${i}\r\n`,
  );
}

const messages = Array.from({ length: COMMANDS }, (_, i) => joinMessage(i));

async function timeCommands(): Promise<{ rate: number; confirmations: number }> {
  const dir = await freshDir('commands');
  try {
    const store = new SqliteStore({ file: join(dir, 'switchyard.db') });
    const list = await store.createList({ address: LIST });
    const virgin = new Switchboard({ root: join(dir, 'queues'), name: 'virgin', durability: 'fsync' });
    let confirmations = 0;
    const app = {
      store,
      now: () => new Date(),
      enqueue: async (_queue: string, message: Uint8Array, metadata: Parameters<Switchboard['enqueue']>[1]) => {
        confirmations++;
        return virgin.enqueue(message, metadata);
      },
    };
    const started = performance.now();
    for (let i = 0; i < messages.length; i++) {
      await handleCommandMessage(app, {}, { list, message: messages[i]!, envelopeSender: `subscriber.${i}@example${i % 97}.org`, implied: 'request' });
    }
    const rate = messages.length / ((performance.now() - started) / 1000);
    await store.close();
    return { rate, confirmations };
  } finally {
    await removeDir(dir);
  }
}

async function timeFloor(): Promise<number> {
  const started = performance.now();
  for (const message of messages) await simpleParser(message, { skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  return messages.length / ((performance.now() - started) / 1000);
}

function ratioRow(name: string, unit: string, values: number[], floors: number[]): Row {
  const each = values.map((value, i) => value / (floors[i] as number));
  return { name, unit, value: median(values), floor: median(floors), ratio: median(each), rounds: { value: values, floor: floors, ratio: each } };
}

report.setting('join messages per round', COMMANDS);
report.setting('rounds', ROUNDS);
report.printHeader();
report.section(`${COMMANDS} join messages to -request, one new address each, one confirmation each to a real virgin queue (fsync), store synchronous=FULL`, [
  'floor: mailparser simpleParser alone on the same messages; ratio: rate / floor rate',
]);
const values: number[] = [];
const floors: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const { rate, confirmations } = await timeCommands();
  if (confirmations !== COMMANDS) throw new Error(`expected ${COMMANDS} confirmations, enqueued ${confirmations}`);
  values.push(rate);
  floors.push(await timeFloor());
}
report.row(ratioRow('command messages/s (join, confirmation out)', 'msg/s', values, floors));
await report.finish();
