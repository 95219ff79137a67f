/**
 * The LMTP benchmark: messages/s the LMTP runner ingests, 4 KiB messages,
 * durability on (fsync), with 1 and 4 concurrent connections, each
 * connection one transaction at a time (MAIL, RCPT, DATA pipelined, then the
 * message, then the 250). The runner is the real one in its own process
 * (runner-process.js, as the master forks it). Floor, in the same run and
 * through the same client: a bare smtp-server in LMTP mode in its own
 * process making each message durable with the bare system calls
 * (lmtp-floor-server.ts: temp file, fdatasync, rename, directory fsync per
 * message; what any durable LMTP ingest must pay), with the same
 * concurrency. Each row also gives the CPU per message of the server
 * process (user + system, from /proc), ours and the floor's.
 *
 *     node dist/test/bench/lmtp.bench.js
 *
 * Both servers start from the same state before each timed round: the 256
 * shard directories of their spool made (a spool in service has them all)
 * and BENCH_LMTP_WARMUP messages (default 200) sent untimed over the same
 * connections count (compiled code, the list store open and cached).
 *
 * Scale with BENCH_LMTP_MESSAGES (per connection count, default 400) and
 * BENCH_ROUNDS (default 3). BENCH_LMTP_PROFILE=DIR runs the runner with
 * `--cpu-prof --cpu-prof-dir DIR` (a .cpuprofile per round). Files: fresh
 * `switchyard-bench-*` homes and floor directories, removed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { freePort } from '../support/net.js';
import { envInt, freshDir, median, removeDir, Report, switchyardCli } from './harness.js';

const MESSAGES = envInt('BENCH_LMTP_MESSAGES', 400);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const WARMUP = envInt('BENCH_LMTP_WARMUP', 200);
const RUNNER = fileURLToPath(new URL('../../src/master/runner-process.js', import.meta.url));
const FLOOR_SERVER = fileURLToPath(new URL('./lmtp-floor-server.js', import.meta.url));
const PROFILE_DIR = process.env.BENCH_LMTP_PROFILE;
/** The runners are meant to run with it (run.ts); the floor server gets the same. */
const THREADPOOL = { UV_THREADPOOL_SIZE: '16', ...process.env };
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

interface Round {
  /** Messages per second. */
  rate: number;
  /** CPU (user + system) of the server process per message, ms. */
  cpuMs: number;
}

/** User + system CPU of `pid` so far, in ms (clock ticks of /proc/PID/stat, 100 per second on Linux). */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Send MESSAGES over `connections` connections to `port`, timing it and the server process's CPU. */
async function timedSend(port: number, connections: number, server: ChildProcess): Promise<Round> {
  const warm = Math.ceil(WARMUP / connections);
  if (warm > 0) await Promise.all(Array.from({ length: connections }, () => sendMessages(port, warm)));
  const per = Math.ceil(MESSAGES / connections);
  const cpuBefore = await cpuMsOf(server.pid!);
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, () => sendMessages(port, per)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rate: (per * connections) / seconds, cpuMs: ((await cpuMsOf(server.pid!)) - cpuBefore) / (per * connections) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function lmtpRound(connections: number): Promise<Round> {
  const home = await freshDir('lmtp');
  const port = await freePort();
  await writeFile(join(home, 'switchyard.toml'), `[queues]\ndurability = "fsync"\n[logging]\nlevel = "warn"\ndestination = "stdout"\n[lmtp]\nport = ${port}\n`);
  const created = await switchyardCli(home, 'lists', 'create', LIST);
  if (created.code !== 0) throw new Error(created.output);
  // The `in` queue's shard directories, as the floor server makes its own (see the module comment).
  for (let shard = 0; shard < 256; shard++) await mkdir(join(home, 'queues', 'in', shard.toString(16).padStart(2, '0')), { recursive: true, mode: 0o770 });
  const profile = PROFILE_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR];
  const child = spawn(process.execPath, [...profile, RUNNER, '--home', home, '--runner', 'lmtp', '--slice', '0', '--slices', '1', '--stdout'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: THREADPOOL });
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: { type?: string }) => message.type === 'ready' && resolve());
      child.on('exit', (code) => reject(new Error(`LMTP runner exited ${code}`)));
    });
    return await timedSend(port, connections, child);
  } finally {
    await stopChild(child);
    await removeDir(home);
  }
}

async function floorRound(connections: number): Promise<Round> {
  const dir = await freshDir('lmtp-floor');
  const child = spawn(process.execPath, [FLOOR_SERVER, dir], { stdio: ['ignore', 'pipe', 'inherit'], env: THREADPOOL });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
      child.once('exit', (code) => reject(new Error(`LMTP floor server exited ${code}`)));
    });
    return await timedSend(port, connections, child);
  } finally {
    await stopChild(child);
    await removeDir(dir);
  }
}

const report = new Report('lmtp');
report.setting('messages per round', MESSAGES);
report.setting('message', `${MESSAGE.length} bytes`);
report.setting('rounds', ROUNDS);
report.setting('warm-up messages per round', WARMUP);
report.printHeader();
report.section('LMTP ingest, durability fsync', [
  'floor: a bare smtp-server in LMTP mode in its own process, temp file + fdatasync + rename + directory fsync per message (lmtp-floor-server.ts), same client and concurrency',
  'CPU: user + system of the server process per message (ours, then the floor\'s)',
]);
for (const connections of [1, 4]) {
  const value: number[] = [];
  const floor: number[] = [];
  const ratio: number[] = [];
  const cpu: number[] = [];
  const floorCpu: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ours = await lmtpRound(connections);
    const bare = await floorRound(connections);
    value.push(ours.rate);
    floor.push(bare.rate);
    ratio.push(ours.rate / bare.rate);
    cpu.push(ours.cpuMs);
    floorCpu.push(bare.cpuMs);
  }
  report.row({ name: `${connections} connection(s)`, unit: 'msg/s', value: median(value), floor: median(floor), ratio: median(ratio), rounds: { value, floor, ratio } });
  report.row({ name: `  CPU per message, ${connections} connection(s)`, unit: 'ms', value: median(cpu), floor: median(floorCpu), ratio: median(cpu) / median(floorCpu), rounds: { value: cpu, floor: floorCpu } });
}
await report.finish();
