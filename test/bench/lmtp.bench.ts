/**
 * The LMTP benchmark: messages/s the LMTP runner ingests, 4 KiB messages,
 * durability on (fsync), with 1 and 4 concurrent connections, each
 * connection one transaction at a time (MAIL, RCPT, DATA pipelined, then the
 * message, then the 250). The runner is the real one in its own process
 * (runner-process.js, as the master forks it). Floor, in the same run: bare
 * Switchboard.enqueue of the same bytes with the same concurrency in this
 * process (what any durable ingest must pay per message).
 *
 *     node dist/test/bench/lmtp.bench.js
 *
 * Scale with BENCH_LMTP_MESSAGES (per connection count, default 400) and
 * BENCH_ROUNDS (default 3). Files: fresh `switchyard-bench-*` homes, removed
 * at the end.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Switchboard } from '../../queues/index.js';
import { freePort } from '../support/net.js';
import { envInt, freshDir, median, removeDir, Report, switchyardCli } from './harness.js';

const MESSAGES = envInt('BENCH_LMTP_MESSAGES', 400);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const RUNNER = fileURLToPath(new URL('../../src/master/runner-process.js', import.meta.url));
const LIST = 'bench@lists.example.org';
const MESSAGE = Buffer.from(`Subject: bench\r\nFrom: anne@example.net\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(4093, 'y') + '\r\n');

/** One LMTP connection sending `count` messages one transaction after another. */
async function sendMessages(port: number, count: number): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1');
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  const reply = async (): Promise<string> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error('connection closed');
      if ((value as string)[3] !== '-') return value as string;
    }
  };
  await reply();
  socket.write('LHLO bench\r\n');
  await reply();
  for (let i = 0; i < count; i++) {
    socket.write(`MAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
    await reply();
    await reply();
    await reply();
    socket.write(Buffer.concat([MESSAGE, Buffer.from('.\r\n')]));
    const done = await reply();
    if (!done.startsWith('250')) throw new Error(`not accepted: ${done}`);
  }
  socket.end('QUIT\r\n');
}

async function lmtpRound(connections: number): Promise<number> {
  const home = await freshDir('lmtp');
  const port = await freePort();
  await writeFile(join(home, 'switchyard.toml'), `[queues]\ndurability = "fsync"\n[logging]\nlevel = "warn"\ndestination = "stdout"\n[lmtp]\nport = ${port}\n`);
  const created = await switchyardCli(home, 'lists', 'create', LIST);
  if (created.code !== 0) throw new Error(created.output);
  const child = spawn(process.execPath, [RUNNER, '--home', home, '--runner', 'lmtp', '--slice', '0', '--slices', '1', '--stdout'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { UV_THREADPOOL_SIZE: '16', ...process.env } });
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: { type?: string }) => message.type === 'ready' && resolve());
      child.on('exit', (code) => reject(new Error(`LMTP runner exited ${code}`)));
    });
    const per = Math.ceil(MESSAGES / connections);
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: connections }, () => sendMessages(port, per)));
    return (per * connections) / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await removeDir(home);
  }
}

async function floorRound(connections: number): Promise<number> {
  const dir = await freshDir('lmtp-floor');
  try {
    const switchboard = new Switchboard({ root: dir, name: 'in', durability: 'fsync' });
    const per = Math.ceil(MESSAGES / connections);
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: connections }, async () => {
      for (let i = 0; i < per; i++) await switchboard.enqueue(MESSAGE, { listId: LIST });
    }));
    return (per * connections) / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await removeDir(dir);
  }
}

const report = new Report('lmtp');
report.setting('messages per round', MESSAGES);
report.setting('message', `${MESSAGE.length} bytes`);
report.setting('rounds', ROUNDS);
report.printHeader();
report.section('LMTP ingest, durability fsync', ['floor: bare Switchboard.enqueue (fsync) with the same concurrency, in-process']);
for (const connections of [1, 4]) {
  const value: number[] = [];
  const floor: number[] = [];
  const ratio: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const v = await lmtpRound(connections);
    const f = await floorRound(connections);
    value.push(v);
    floor.push(f);
    ratio.push(v / f);
  }
  report.row({ name: `${connections} connection(s)`, unit: 'msg/s', value: median(value), floor: median(floor), ratio: median(ratio), rounds: { value, floor, ratio } });
}
await report.finish();
