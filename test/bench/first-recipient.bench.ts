/**
 * Latency from acceptance to the first recipient (issue 20 §1): a whole
 * master (incoming, outgoing, archive, ... and the LMTP listener) on an idle
 * system; one 4 KiB post at a time goes in over LMTP to a list of N members;
 * measured from the LMTP `250` to the first recipient accepted at the
 * counting SMTP sink (its own process, sink-process-client.ts), and to the
 * last. Each post is sent only once the previous one has reached every
 * member, so every sample starts idle.
 *
 * Floor, in the same run: a bare nodemailer pooled transport (connection
 * open, as a running outgoing runner's is) sending the same message to one
 * recipient at the same sink: what handing one copy to SMTP costs at all.
 *
 *     node dist/test/bench/first-recipient.bench.js
 *
 * Scale with BENCH_FIRST_SAMPLES (posts per list size, default 15) and
 * BENCH_FIRST_SIZES (default "1000,10000"). Files: a fresh
 * `switchyard-bench-*` home per list size, removed at the end.
 */
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { freePort } from '../support/net.js';
import { envInt, freshDir, median, percentile, removeDir, Report, switchyardCli, wallClockMs } from './harness.js';
import { startSinkProcess, type SinkProcess } from './sink-process-client.js';

const SAMPLES = envInt('BENCH_FIRST_SAMPLES', 15);
const SIZES = (process.env.BENCH_FIRST_SIZES ?? '1000,10000').split(',').map(Number);
const LIST = 'bench@lists.example.org';
const MESSAGE = Buffer.from(`Subject: bench\r\nFrom: member0@d0.example\r\nTo: ${LIST}\r\nMessage-ID: <MSGID@example.net>\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(4093, 'y') + '\r\n');
const TARGET_MS: Record<number, number> = { 1000: 30, 10000: 100 };

const report = new Report('first-recipient');

/** An LMTP client that sends one message at a time and resolves at the 250 (wall clock of that moment). */
async function lmtpClient(port: number): Promise<{ send(messageId: string): Promise<number>; close(): void }> {
  const socket: Socket = connect(port, '127.0.0.1');
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  const reply = async (): Promise<string> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error('LMTP connection closed');
      if ((value as string)[3] !== '-') return value as string;
    }
  };
  await reply();
  socket.write('LHLO bench\r\n');
  await reply();
  return {
    async send(messageId) {
      socket.write(`MAIL FROM:<member0@d0.example>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
      for (let i = 0; i < 3; i++) await reply();
      socket.write(Buffer.concat([Buffer.from(MESSAGE.toString('latin1').replace('MSGID', messageId), 'latin1'), Buffer.from('.\r\n')]));
      const done = await reply();
      const at = wallClockMs();
      if (!done.startsWith('250')) throw new Error(`not accepted: ${done}`);
      return at;
    },
    close: () => socket.end('QUIT\r\n'),
  };
}

async function floorSamples(sink: SinkProcess): Promise<number[]> {
  const transport = nodemailer.createTransport({ pool: true, host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true, maxConnections: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < SAMPLES + 1; i++) {
      await sink.reset();
      const reached = sink.reached(1);
      const started = wallClockMs();
      await transport.sendMail({ envelope: { from: 'bench-bounces@lists.example.org', to: [`floor${i}@d1.example`] }, raw: MESSAGE });
      const { at } = await reached;
      // The first opens the connection.
      if (i > 0) samples.push(at - started);
    }
  } finally {
    transport.close();
  }
  return samples;
}

async function listSamples(sink: SinkProcess, members: number): Promise<{ first: number[]; last: number[] }> {
  const home = await freshDir(`first-recipient-${members}`);
  const lmtpPort = await freePort();
  try {
    await writeFile(
      join(home, 'switchyard.toml'),
      `[logging]\ndestination = "files"\nlevel = "warn"\n\n[http]\nenabled = false\n\n[lmtp]\nport = ${lmtpPort}\n\n[smtp]\nport = ${sink.port}\n\n[dns]\nservers = ["127.0.0.1:9"]\ntimeout = "100ms"\n`,
    );
    const csv = join(home, 'members.csv');
    await writeFile(csv, `${Array.from({ length: members }, (_, i) => `member${i}@d${i % 97}.example`).join('\n')}\n`);
    for (const args of [['lists', 'create', LIST], ['members', 'import', LIST, csv], ['start']]) {
      const result = await switchyardCli(home, ...args);
      if (result.code !== 0) throw new Error(`${args.join(' ')}: ${result.output}`);
    }
    try {
      const client = await lmtpClient(lmtpPort);
      const first: number[] = [];
      const last: number[] = [];
      try {
        for (let i = 0; i < SAMPLES + 1; i++) {
          await sink.reset();
          const reachedFirst = sink.reached(1);
          const reachedAll = sink.reached(members);
          const accepted = await client.send(`bench${i}.${members}`);
          const [one, all] = await Promise.all([reachedFirst, reachedAll]);
          // The first post warms what a running system has warm (connections, workers).
          if (i === 0) continue;
          first.push(one.at - accepted);
          last.push(all.at - accepted);
        }
      } finally {
        client.close();
      }
      return { first, last };
    } finally {
      await switchyardCli(home, 'stop');
    }
  } finally {
    await removeDir(home);
  }
}

report.setting('samples per list size', SAMPLES);
report.setting('list sizes', SIZES.join(', '));
report.printHeader();
const sink = await startSinkProcess();
try {
  const floor = await floorSamples(sink);
  const floorP50 = median(floor);
  report.section('floor: a bare nodemailer pooled transport, connection open, one 4 KiB message to one recipient at the same sink', []);
  report.row({ name: 'floor p50', unit: 'ms', value: floorP50 });
  for (const members of SIZES) {
    const { first, last } = await listSamples(sink, members);
    const firstP50 = median(first);
    const target = TARGET_MS[members];
    report.section(`one post at a time to ${members} members, LMTP 250 -> the sink's first and last acceptance`, ['ratio: floor p50 / latency p50 (1.00: nothing but the SMTP hand-over)']);
    report.row({ name: 'first recipient p50', unit: 'ms', value: firstP50, floor: floorP50, ratio: floorP50 / firstP50, ...(target === undefined ? {} : { target: { text: `< ${target} ms`, pass: firstP50 < target } }) });
    report.row({ name: 'first recipient p99', unit: 'ms', value: percentile(first, 99) });
    report.row({ name: 'last recipient p50', unit: 'ms', value: median(last) });
  }
} finally {
  sink.child.disconnect();
}
await report.finish();
