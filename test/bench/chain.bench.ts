/**
 * The runner benchmark: a real master and three no-op runners in a chain
 * (q1 -> q2 -> q3 -> done, each hop a copy: enqueue downstream with fsync,
 * then finish), with 1, 2 and 4 slices per queue.
 *
 * - throughput: N entries waiting in q1 when the master starts; entries/s
 *   from the first hop-1 process() call to the last hop-3 one (each hop
 *   stamps the entry's metadata), against the floor: one process doing the
 *   bare syscalls of a chain entry (three times one fsynced enqueue +
 *   dequeue + finish), in the same run. The chain spreads those cycles over
 *   3 x slices processes on 2 cores.
 * - latency per hop on an idle system: single entries, one at a time; a hop
 *   is the time from the previous stage starting its enqueue (or the bench's
 *   own enqueue) to this stage's process() starting.
 * - RSS of a runner process, idle, and holding a 100,000-entry backlog (hop 1
 *   replaced by a runner that holds its first entry until told).
 *
 *     node dist/test/bench/chain.bench.js [--dir <path>]
 *
 * Scale with BENCH_CHAIN_ENTRIES, BENCH_LATENCY_SAMPLES, BENCH_BACKLOG.
 * Files: fresh `switchyard-bench-*` homes, removed after each phase.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeEntry, Spool, Switchboard, type JsonObject } from '../../queues/index.js';
import { requestStatus } from '../../src/master/status-client.js';
import { floorDrain, floorEnqueue } from './floor.js';
import { envInt, freshDir, switchyardCli, median, percentile, removeDir, Report, syncDisks, wallClockMs } from './harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const STAMP_RELAY = join(HERE, 'stamp-relay.js');
const GATE = join(HERE, '../fixtures/runners/gate.js');
const ENTRIES = envInt('BENCH_CHAIN_ENTRIES', 3_000);
const LATENCY_SAMPLES = envInt('BENCH_LATENCY_SAMPLES', 300);
const BACKLOG = envInt('BENCH_BACKLOG', 100_000);
const MESSAGE = Buffer.from(`From: someone@example.org\r\nTo: list@example.org\r\nSubject: bench\r\n\r\n${'x'.repeat(4000)}\r\n`);

const report = new Report('chain');

function hop(name: string, queue: string, to: string, slices: number, module = STAMP_RELAY): string {
  return `[runner.${name}]\nmodule = "${module}"\nqueue = "${queue}"\ninstances = ${slices}\n[runner.${name}.options]\nto = "${to}"\n`;
}

function chainConfig(slices: number, firstHop = STAMP_RELAY, durability = 'fsync'): string {
  return `[logging]\ndestination = "files"\nlevel = "warn"\n\n[http]\nenabled = false\n\n[queues]\ndurability = "${durability}"\n\n${hop('hop1', 'q1', 'q2', slices, firstHop)}${hop('hop2', 'q2', 'q3', slices)}${hop('hop3', 'q3', 'done', slices)}`;
}

const cli = switchyardCli;

async function startMaster(home: string): Promise<void> {
  const { code, output } = await cli(home, 'start');
  if (code !== 0) throw new Error(`master did not start: ${output}`);
}

async function stopMaster(home: string): Promise<void> {
  const { code, output } = await cli(home, 'stop');
  if (code !== 0) throw new Error(`master did not stop: ${output}`);
}

/** Resolves with the queue's ids once it holds `count` entries (file events). */
async function waitForCount(root: string, queue: string, count: number): Promise<string[]> {
  const board = new Switchboard({ root, name: queue, rescanIntervalMs: 1_000 });
  const watcher = await board.watch();
  try {
    for (;;) {
      const ids = await board.files();
      if (ids.length >= count) return ids;
      await watcher.wait();
    }
  } finally {
    watcher.close();
  }
}

function stampsOf(metadata: JsonObject | undefined): number[] {
  const stamps = metadata?.stamps;
  return Array.isArray(stamps) ? stamps.filter((s): s is number => typeof s === 'number') : [];
}

async function floorCycleRate(entries: number): Promise<number> {
  const dir = await freshDir('chain-floor');
  try {
    const chunks = encodeEntry({ listId: 'bench' }, { restores: 0, enqueuedAt: new Date().toISOString() }, MESSAGE);
    syncDisks();
    const started = performance.now();
    for (let i = 0; i < entries; i++) await floorEnqueue(dir, String(i), chunks, true);
    await floorDrain(dir);
    return entries / ((performance.now() - started) / 1000);
  } finally {
    await removeDir(dir);
  }
}

async function chainThroughput(slices: number): Promise<number> {
  const home = await freshDir(`chain-${slices}`);
  try {
    await writeFile(join(home, 'switchyard.toml'), chainConfig(slices));
    const root = join(home, 'queues');
    const q1 = new Switchboard({ root, name: 'q1', durability: 'none' });
    for (let i = 0; i < ENTRIES; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, ENTRIES - i) }, () => q1.enqueue(MESSAGE, { listId: 'bench' })));
    }
    syncDisks();
    await startMaster(home);
    await waitForCount(root, 'done', ENTRIES);
    await stopMaster(home);
    const entries = await new Spool({ root }).entries('done');
    const first = Math.min(...entries.map((e) => stampsOf(e.metadata)[0] ?? Infinity));
    const last = Math.max(...entries.map((e) => stampsOf(e.metadata)[2] ?? -Infinity));
    return (entries.length - 1) / ((last - first) / 1000);
  } finally {
    await removeDir(home);
  }
}

async function throughput(): Promise<void> {
  report.section(`throughput, three-hop chain, durability fsync: ${ENTRIES} entries of ${MESSAGE.length} B`, [
    'entries/s from the first hop-1 process() to the last hop-3 process()',
    'floor: one process doing the bare syscalls of a chain entry, three times (fsynced enqueue + dequeue + finish),',
    'i.e. the bare cycle rate / 3, measured in the same run before each pass; ratio > 1 means the chain overlaps its hops',
  ]);
  for (const slices of [1, 2, 4]) {
    const floor = (await floorCycleRate(Math.min(ENTRIES, 2_000))) / 3;
    const rate = await chainThroughput(slices);
    report.row({ name: `entries/s, ${slices} slice${slices > 1 ? 's' : ''} per queue`, unit: '/s', value: rate, floor, ratio: rate / floor });
  }
}

async function latency(durability: 'fsync' | 'none'): Promise<void> {
  const home = await freshDir('chain-latency');
  try {
    await writeFile(join(home, 'switchyard.toml'), chainConfig(1, STAMP_RELAY, durability));
    await startMaster(home);
    const root = join(home, 'queues');
    const q1 = new Switchboard({ root, name: 'q1', durability });
    const done = new Switchboard({ root, name: 'done' });
    const watcher = await done.watch();
    const hops: number[] = [];
    try {
      for (let i = 0; i < LATENCY_SAMPLES; i++) {
        const before = (await done.files()).length;
        const started = wallClockMs();
        await q1.enqueue(MESSAGE, { listId: 'bench', stamps: [started] });
        while ((await done.files()).length <= before) await watcher.wait();
      }
    } finally {
      watcher.close();
    }
    await stopMaster(home);
    for (const entry of await new Spool({ root }).entries('done')) {
      const stamps = stampsOf(entry.metadata);
      for (let h = 1; h < stamps.length; h++) hops.push(stamps[h]! - stamps[h - 1]!);
    }
    report.section(`latency per hop, idle system, durability ${durability}: ${LATENCY_SAMPLES} entries one at a time, ${hops.length} hops`, [
      durability === 'none'
        ? 'from the previous stage starting its enqueue to this stage\'s process() starting: the queue machinery alone'
        : 'the same, including the previous stage\'s two fsyncs (file and directory), which are the disk\'s, not the queue\'s',
    ]);
    const p50 = percentile(hops, 50);
    const p99 = percentile(hops, 99);
    const target = durability === 'none' ? { target: { text: '< 5 ms', pass: p50 < 5 } } : {};
    report.row({ name: `per-hop latency p50 (${durability})`, unit: 'ms', value: p50, ...target });
    report.row({ name: `per-hop latency p99 (${durability})`, unit: 'ms', value: p99 });
  } finally {
    await removeDir(home);
  }
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.match(/(\d+)/)?.[1] ?? NaN) / 1024;
}

async function memory(): Promise<void> {
  const home = await freshDir('chain-rss');
  try {
    await writeFile(join(home, 'switchyard.toml'), chainConfig(1, GATE));
    const root = join(home, 'queues');
    await startMaster(home);
    const status = await requestStatus(join(home, 'master.sock'));
    const idle = status.runners.map((r) => rssMiB(r.pid!));
    await stopMaster(home);
    const q1 = new Switchboard({ root, name: 'q1', durability: 'none' });
    for (let i = 0; i < BACKLOG; i += 500) {
      await Promise.all(Array.from({ length: Math.min(500, BACKLOG - i) }, () => q1.enqueue('Subject: backlog\r\n\r\nx\r\n', { listId: 'bench' })));
    }
    await startMaster(home);
    const loaded = await requestStatus(join(home, 'master.sock'));
    const gate = loaded.runners.find((r) => r.name === 'hop1')!;
    // The gate runner holds its first entry; the rest of the backlog sits in its heap.
    await waitForCount(root, 'q1', BACKLOG - 1);
    const backlogRss = rssMiB(gate.pid!);
    await writeFile(join(home, 'gate'), '');
    await stopMaster(home);
    report.section('RSS of a runner process', ['VmRSS from /proc; floor: a bare `node -e` process, measured now']);
    const bare = await bareNodeRss();
    report.row({ name: 'idle runner RSS (median of all)', unit: 'MiB', value: median(idle), floor: bare, ratio: median(idle) / bare, target: { text: '< 80 MiB', pass: median(idle) < 80 } });
    report.row({ name: `runner RSS, ${BACKLOG} entries backlog`, unit: 'MiB', value: backlogRss, floor: bare, ratio: backlogRss / bare });
  } finally {
    await removeDir(home);
  }
}

function bareNodeRss(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("up\\n"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.once('data', () => {
      const rss = rssMiB(child.pid!);
      child.kill();
      resolve(rss);
    });
  });
}

report.setting('entries', ENTRIES);
report.setting('message size', MESSAGE.length);
report.printHeader();
await throughput();
await latency('none');
await latency('fsync');
await memory();
await report.finish();
