/**
 * The switchboard benchmark: each figure beside its floor, measured in the
 * same run, and the ratio.
 *
 * The throughput phase has two floors: the same system calls made
 * synchronously in one process (the system-call floor), and made through
 * node:fs/promises (bare Node), with CPU per cycle and the event loop's busy
 * time per call (the bound on its longest block) beside them. Elsewhere the floor is the least any queue could do with node:fs/promises: the same
 * syscalls on plain file names in one directory (open 'wx', writev,
 * datasync, close, rename, directory open + fsync + close to enqueue; rename,
 * readFile, unlink to dequeue and finish), or the bare mechanism (one
 * fs.watch and one readdir for a wake-up; an idle Node process for idle CPU).
 * The disk is noisy, and creating files soon after mass deletes is slow, so
 * every figure is the median of rounds that interleave the switchboard with
 * its floor (alternating which goes first), each pass in a fresh directory,
 * with sync(1) between passes; in the throughput phase the three variants
 * take turns every BENCH_BLOCK entries within a round, since a disk shared
 * with other work changes its speed over seconds.
 *
 *     node dist/test/bench/switchboard.bench.js [--dir <path on the spool's file system>]
 *
 * Scale with BENCH_ENTRIES, BENCH_FSYNC_ENTRIES, BENCH_ROUNDS, BENCH_BLOCK,
 * BENCH_CONCURRENT_ENTRIES, BENCH_OWN_BACKLOG, BENCH_OTHER_BACKLOG,
 * BENCH_OTHER_SMALL, BENCH_LATENCY_SAMPLES, BENCH_IDLE_SECONDS,
 * BENCH_LISTING_ENTRIES, BENCH_LISTING_ROUNDS; run some phases only with
 * BENCH_PHASES=throughput,producers,slices,latency,idle,listing.
 *
 * Files: only below fresh `switchyard-bench-*` directories, each removed when
 * its pass ends (see harness.ts).
 */
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync, readSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeEntry,
  entryPath,
  makeEntryId,
  nowMicros,
  parseEntryId,
  directorySync,
  shardsOfSlice,
  sliceOf,
  Spool,
  Switchboard,
  writeNewFile,
  type EntryControl,
  type JsonObject,
} from '../../queues/index.js';
import { floorEnqueue, floorEnqueueSync, floorList, floorListSync, floorTake, floorTakeSync } from './floor.js';
import { benchBaseDir, envInt, freshDir, median, percentile, removeDir, Report, sleep, syncDisks, wallClockMs, type Row } from './harness.js';
import type { ChildMessage, ParentMessage } from './switchboard-consumer.js';

const QUEUE = 'in';
const ENTRY_SIZE = 4096;
const ENTRIES = envInt('BENCH_ENTRIES', 10_000);
const FSYNC_ENTRIES = envInt('BENCH_FSYNC_ENTRIES', ENTRIES);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const CONCURRENT_ENTRIES = envInt('BENCH_CONCURRENT_ENTRIES', 2_000);
const PRODUCERS = [1, 4, 16] as const;
const OWN_BACKLOG = envInt('BENCH_OWN_BACKLOG', 2_000);
const OTHER_BACKLOG = envInt('BENCH_OTHER_BACKLOG', 100_000);
const OTHER_SMALL = envInt('BENCH_OTHER_SMALL', 1_000);
const LATENCY_SAMPLES = envInt('BENCH_LATENCY_SAMPLES', 500);
const IDLE_SECONDS = envInt('BENCH_IDLE_SECONDS', 10);
const LISTING_ENTRIES = envInt('BENCH_LISTING_ENTRIES', 100_000);
const LISTING_ROUNDS = envInt('BENCH_LISTING_ROUNDS', 7);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'throughput,producers,slices,latency,idle,listing').split(','));

/** A 4 KiB message of mail-like 7-bit text. */
const PAYLOAD = Buffer.from(randomBytes((ENTRY_SIZE * 3) / 4).toString('base64'), 'latin1');
const METADATA: JsonObject = { listId: 'bench.example.org', sender: 'someone@example.org' };
const CONTROL: EntryControl = { restores: 0, enqueuedAt: new Date().toISOString() };
/** The floor writes the very bytes (and number of chunks) a switchboard entry has. */
const FLOOR_CHUNKS = encodeEntry(METADATA, CONTROL, PAYLOAD);
const CONSUMER = join(dirname(fileURLToPath(import.meta.url)), 'switchboard-consumer.js');

const report = new Report('switchboard');

// ---------------------------------------------------------------- helpers

/** A switchboard with its shard directories made, as in a spool that has run before. */
async function openBoard(root: string, durability: 'fsync' | 'none', slice = 0, numSlices = 1): Promise<Switchboard> {
  const board = new Switchboard({ root, name: QUEUE, durability, slice, numSlices });
  // watch() creates (and remembers) every shard directory of the slice.
  (await board.watch()).close();
  return board;
}

async function drainBoard(board: Switchboard): Promise<number> {
  const ids = await board.files();
  for (const id of ids) {
    await board.dequeue(id);
    await board.finish(id);
  }
  return ids.length;
}

/** Run `work(i)` for i in [0, total) with `producers` concurrent loops; returns seconds. */
async function timeConcurrent(total: number, producers: number, work: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      for (let i = next++; i < total; i = next++) await work(i);
    }),
  );
  return (performance.now() - started) / 1000;
}

function assertCount(what: string, got: number, expected: number): void {
  if (got !== expected) throw new Error(`${what}: expected ${expected} entries, got ${got}`);
}

/** Per-round ratios (value / floor) and their median. */
function ratios(values: readonly number[], floors: readonly number[]): { each: number[]; median: number } {
  const each = values.map((value, i) => value / (floors[i] as number));
  return { each, median: median(each) };
}

function rateRow(name: string, values: number[], floors: number[], target?: (ratio: number) => Row['target']): Row {
  const ratio = ratios(values, floors);
  return {
    name,
    unit: '/s',
    value: median(values),
    floor: median(floors),
    ratio: ratio.median,
    target: target?.(ratio.median),
    rounds: { value: values, floor: floors, ratio: ratio.each },
  };
}

function fileSystemOf(dir: string): string {
  try {
    return execFileSync('df', ['-PT', dir], { encoding: 'utf8' }).trim().split('\n').at(-1)?.split(/\s+/).slice(0, 2).join(' ') ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- 1. throughput

const BLOCK = envInt('BENCH_BLOCK', 250);

interface PassRates {
  enqueue: number;
  dequeue: number;
  cycle: number;
  /** CPU (user + system, all threads) per enqueue-dequeue-finish cycle, µs. */
  cpuMicros: number;
  /** Event-loop busy time per call (enqueue(), files(), dequeue(), finish()), ms, p99 and max, by the main thread's CPU and by wall time; NaN for the synchronous floor. */
  cpuP99: number;
  cpuMax: number;
  wallP99: number;
  wallMax: number;
}

/** Samples of how long calls kept the event loop busy, ms (see busyOf). */
interface Busy {
  /** The main thread's time on a CPU during the call: what the call costs the loop, whatever the machine's load. */
  cpu: number[];
  /** Wall time less the loop's idle time: adds time descheduled while busy, and time asleep in a synchronous call. */
  wall: number[];
  calls: number;
}

const newBusy = (): Busy => ({ cpu: [], wall: [], calls: 0 });

/** The main thread's time on a CPU so far, ms (Linux /proc/thread-self/schedstat: ns on CPU, ns waiting, slices), or NaN. */
const threadCpuMs = ((): (() => number) => {
  let fd: number;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return () => Number.NaN;
  }
  const buffer = Buffer.alloc(128);
  return () => {
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.toString('latin1', 0, length);
    return Number(text.slice(0, text.indexOf(' '))) / 1e6;
  };
})();

/** Calls sampled by busyOf: one in BUSY_SAMPLE (each sample reads /proc twice, some µs). */
const BUSY_SAMPLE = 8;

/**
 * Run `work`, and for one call in BUSY_SAMPLE record how long it kept the
 * event loop busy: the main thread's CPU time from the call until its
 * promise settled (a call that waits for the thread pool twice blocks the
 * loop in up to three stretches; this is their sum, so the longest single
 * block is at most this), and its wall time less the loop's idle time in the
 * poll phase meanwhile (performance.eventLoopUtilization()), which also
 * counts time the process was descheduled on a loaded machine.
 */
async function busyOf<T>(work: () => Promise<T>, busy: Busy): Promise<T> {
  if (busy.calls++ % BUSY_SAMPLE !== 0) return work();
  const idle = performance.eventLoopUtilization().idle;
  const cpu = threadCpuMs();
  const started = performance.now();
  const result = await work();
  busy.wall.push(performance.now() - started - (performance.eventLoopUtilization().idle - idle));
  busy.cpu.push(threadCpuMs() - cpu);
  return result;
}

/** One variant of a throughput round: its own fresh directory, driven in blocks interleaved with the other variants'. */
interface Variant {
  /** Enqueue entries [from, to). */
  enqueue(from: number, to: number, busy: Busy): Promise<void> | void;
  /** The names or ids to drain (timed with the drain). */
  list(busy: Busy): Promise<readonly string[]> | readonly string[];
  /** Dequeue and finish items [from, to) of the list. */
  drain(items: readonly string[], from: number, to: number, busy: Busy): Promise<void> | void;
  close(): Promise<void>;
}

async function switchboardVariant(durability: 'fsync' | 'none'): Promise<Variant> {
  const root = await freshDir('sb');
  const board = await openBoard(root, durability);
  return {
    enqueue: async (from, to, busy) => {
      for (let i = from; i < to; i++) await busyOf(() => board.enqueue(PAYLOAD, METADATA), busy);
    },
    list: (busy) => busyOf(() => board.files(), busy),
    drain: async (ids, from, to, busy) => {
      for (let i = from; i < to; i++) {
        const id = ids[i] as string;
        await busyOf(() => board.dequeue(id), busy);
        await busyOf(() => board.finish(id), busy);
      }
    },
    close: () => removeDir(root),
  };
}

async function floorVariant(fsync: boolean): Promise<Variant> {
  const dir = await freshDir('floor');
  return {
    enqueue: async (from, to, busy) => {
      for (let i = from; i < to; i++) await busyOf(() => floorEnqueue(dir, String(i), FLOOR_CHUNKS, fsync), busy);
    },
    list: () => floorList(dir),
    drain: async (names, from, to) => {
      for (let i = from; i < to; i++) await floorTake(dir, names[i] as string);
    },
    close: () => removeDir(dir),
  };
}

async function floorSyncVariant(fsync: boolean): Promise<Variant> {
  const dir = await freshDir('floor-sync');
  return {
    enqueue: (from, to) => {
      for (let i = from; i < to; i++) floorEnqueueSync(dir, String(i), FLOOR_CHUNKS, fsync);
    },
    list: () => floorListSync(dir),
    drain: (names, from, to) => {
      for (let i = from; i < to; i++) floorTakeSync(dir, names[i] as string);
    },
    close: () => removeDir(dir),
  };
}

interface Totals {
  enqueueMs: number;
  drainMs: number;
  cpuMicros: number;
  busy: Busy;
}

/** Run `step` and add its wall and CPU time to `totals`. */
async function timed(totals: Totals, key: 'enqueueMs' | 'drainMs', step: () => Promise<unknown> | unknown): Promise<void> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await step();
  totals[key] += performance.now() - started;
  const used = process.cpuUsage(cpu);
  totals.cpuMicros += used.user + used.system;
}

/**
 * One round: the switchboard, the synchronous floor and the promises floor,
 * each in its own fresh directory, enqueue `entries` and then drain them, in
 * blocks of BENCH_BLOCK entries taken in turn (the first variant of each
 * block rotating): a disk shared with other work is as busy for each of
 * them, where passes run one after another met different loads (per-round
 * ratios from 0.7 to 1.5 in one run).
 */
async function throughputRound(entries: number, durability: 'fsync' | 'none', round: number): Promise<PassRates[]> {
  const fsync = durability === 'fsync';
  const variants = [await floorSyncVariant(fsync), await switchboardVariant(durability), await floorVariant(fsync)];
  const totals: Totals[] = variants.map(() => ({ enqueueMs: 0, drainMs: 0, cpuMicros: 0, busy: newBusy() }));
  const inTurn = async (block: number, step: (variant: Variant, totals: Totals) => Promise<void>): Promise<void> => {
    for (let k = 0; k < variants.length; k++) {
      const v = (k + block + round) % variants.length;
      await step(variants[v] as Variant, totals[v] as Totals);
    }
  };
  try {
    syncDisks();
    for (let from = 0, block = 0; from < entries; from += BLOCK, block++) {
      const to = Math.min(entries, from + BLOCK);
      await inTurn(block, (variant, total) => timed(total, 'enqueueMs', () => variant.enqueue(from, to, total.busy)));
    }
    const lists = new Map<Variant, readonly string[]>();
    await inTurn(0, (variant, total) =>
      timed(total, 'drainMs', async () => {
        const items = await variant.list(total.busy);
        assertCount('drain listing', items.length, entries);
        lists.set(variant, items);
      }),
    );
    for (let from = 0, block = 0; from < entries; from += BLOCK, block++) {
      const to = Math.min(entries, from + BLOCK);
      await inTurn(block, (variant, total) => timed(total, 'drainMs', () => variant.drain(lists.get(variant) ?? [], from, to, total.busy)));
    }
  } finally {
    for (const variant of variants) await variant.close();
  }
  return totals.map((total, v) => ({
    enqueue: entries / (total.enqueueMs / 1000),
    dequeue: entries / (total.drainMs / 1000),
    cycle: entries / ((total.enqueueMs + total.drainMs) / 1000),
    cpuMicros: total.cpuMicros / entries,
    cpuP99: v === 0 ? Number.NaN : percentile(total.busy.cpu, 99),
    cpuMax: v === 0 ? Number.NaN : Math.max(...total.busy.cpu),
    wallP99: v === 0 ? Number.NaN : percentile(total.busy.wall, 99),
    wallMax: v === 0 ? Number.NaN : Math.max(...total.busy.wall),
  }));
}

async function throughput(): Promise<void> {
  for (const durability of ['fsync', 'none'] as const) {
    const entries = durability === 'fsync' ? FSYNC_ENTRIES : ENTRIES;
    const fsync = durability === 'fsync';
    report.section(`throughput, durability ${durability}: ${entries} entries of ${ENTRY_SIZE} B, one producer, ${ROUNDS} rounds`, [
      'enqueue all, then files() + dequeue() + finish() each; cycle/s = entries / (enqueue time + drain time)',
      'floors: the same syscalls and bytes on plain names in one directory (readdir once, then rename, readFile, unlink),',
      '  "sync": made synchronously (the system-call floor); "promises": through node:fs/promises (bare Node)',
      `each round: the three in fresh directories, in turn, ${BLOCK} entries at a time (BENCH_BLOCK), so each meets the same disk load`,
      'CPU: process.cpuUsage() (user + system, all threads) per cycle',
      `loop busy: for one enqueue(), files(), dequeue(), finish() call in ${BUSY_SAMPLE}, the sum of the stretches it blocked the event loop`,
      '  (so the longest block is at most this), as the main thread\'s CPU time (/proc/thread-self/schedstat) from the call until',
      '  its promise settled, and as wall time less the loop\'s idle time (eventLoopUtilization: adds time descheduled on a',
      '  loaded machine and time asleep in a synchronous call); floor: the promises floor\'s enqueue',
      ...(durability === 'fsync' && entries !== 10_000 ? [`NOTE: ${entries} entries with fsync, not 10000 (BENCH_FSYNC_ENTRIES)`] : []),
    ]);
    const floorSync: PassRates[] = [];
    const sb: PassRates[] = [];
    const floor: PassRates[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [s, b, f] = await throughputRound(entries, durability, round);
      floorSync.push(s as PassRates);
      sb.push(b as PassRates);
      floor.push(f as PassRates);
    }
    const pick = (list: PassRates[], key: keyof PassRates): number[] => list.map((rates) => rates[key]);
    report.row(rateRow(`enqueue/s (${durability}) vs sync`, pick(sb, 'enqueue'), pick(floorSync, 'enqueue')));
    report.row(rateRow(`dequeue+finish/s (${durability}) vs sync`, pick(sb, 'dequeue'), pick(floorSync, 'dequeue')));
    report.row(
      rateRow(`cycle/s (${durability}) vs sync floor`, pick(sb, 'cycle'), pick(floorSync, 'cycle'), fsync ? (ratio) => ({ text: 'ratio >= 0.80', pass: ratio >= 0.8 }) : undefined),
    );
    report.row(rateRow(`cycle/s (${durability}) vs promises floor`, pick(sb, 'cycle'), pick(floor, 'cycle')));
    const cpuRow = (name: string, floors: PassRates[], target?: number): Row => {
      const values = pick(sb, 'cpuMicros');
      const ratio = ratios(values, pick(floors, 'cpuMicros'));
      return {
        name,
        unit: 'µs',
        value: median(values),
        floor: median(pick(floors, 'cpuMicros')),
        ratio: ratio.median,
        target: target === undefined ? undefined : { text: `ratio <= ${target.toFixed(2)}`, pass: ratio.median <= target },
        rounds: { value: values, floor: pick(floors, 'cpuMicros'), ratio: ratio.each },
      };
    };
    report.row(cpuRow(`CPU/cycle (${durability}) vs promises`, floor, fsync ? 1.2 : undefined));
    report.row(cpuRow(`CPU/cycle (${durability}) vs sync`, floorSync));
    const busyNames = { cpuP99: 'CPU p99', cpuMax: 'CPU max', wallP99: 'wall p99', wallMax: 'wall max' } as const;
    for (const key of ['cpuP99', 'cpuMax', 'wallP99', 'wallMax'] as const) {
      const values = pick(sb, key);
      report.row({
        name: `loop busy per call, ${busyNames[key]} (${durability})`,
        unit: 'ms',
        value: median(values),
        floor: median(pick(floor, key)),
        target: key === 'cpuP99' ? { text: '< 0.50 ms', pass: median(values) < 0.5 } : undefined,
        rounds: { value: values, floor: pick(floor, key) },
      });
    }
  }
}

// ---------------------------------------------------------------- 2. concurrent producers

/** Percent of one core this process used per pass, by producer count: is the machine's CPU the limit? */
/** Directory fsyncs per enqueue, by producer count: how much the group commit shares. */
const producerDirSyncs = new Map<number, number[]>(PRODUCERS.map((n) => [n, []]));
const producerCpu = new Map<number, { user: number[]; system: number[] }>(PRODUCERS.map((n) => [n, { user: [], system: [] }]));

async function switchboardProducers(producers: number): Promise<number> {
  const root = await freshDir('sb-producers');
  try {
    const board = await openBoard(root, 'fsync');
    syncDisks();
    const cpu = process.cpuUsage();
    const before = { ...directorySync.stats };
    const seconds = await timeConcurrent(CONCURRENT_ENTRIES, producers, () => board.enqueue(PAYLOAD, METADATA));
    const used = process.cpuUsage(cpu);
    producerDirSyncs.get(producers)?.push((directorySync.stats.fsyncs - before.fsyncs) / CONCURRENT_ENTRIES);
    producerCpu.get(producers)?.user.push((used.user / 1e6 / seconds) * 100);
    producerCpu.get(producers)?.system.push((used.system / 1e6 / seconds) * 100);
    return CONCURRENT_ENTRIES / seconds;
  } finally {
    await removeDir(root);
  }
}

async function floorProducers(producers: number): Promise<number> {
  const dir = await freshDir('floor-producers');
  try {
    syncDisks();
    const seconds = await timeConcurrent(CONCURRENT_ENTRIES, producers, (i) => floorEnqueue(dir, String(i), FLOOR_CHUNKS, true));
    return CONCURRENT_ENTRIES / seconds;
  } finally {
    await removeDir(dir);
  }
}

async function concurrentProducers(): Promise<void> {
  report.section(`concurrent producers in one process, durability fsync: ${CONCURRENT_ENTRIES} entries per pass, ${ROUNDS} rounds`, [
    `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '(unset: libuv default 4)'}; one Switchboard shared by all producers`,
    'floor: the same number of concurrent loops of the raw enqueue syscalls into one directory',
    'speedup: per round, the 16-producer rate over the 1-producer rate; median over rounds',
  ]);
  const sb = new Map<number, number[]>(PRODUCERS.map((n) => [n, []]));
  const floor = new Map<number, number[]>(PRODUCERS.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order of producer counts too, so that no count always runs last in a round.
    for (const producers of round % 2 === 0 ? PRODUCERS : [...PRODUCERS].reverse()) {
      if (round % 2 === 0) {
        floor.get(producers)?.push(await floorProducers(producers));
        sb.get(producers)?.push(await switchboardProducers(producers));
      } else {
        sb.get(producers)?.push(await switchboardProducers(producers));
        floor.get(producers)?.push(await floorProducers(producers));
      }
    }
  }
  const cpuText = PRODUCERS.map((n) => {
    const cpu = producerCpu.get(n);
    return `${n}: ${median(cpu?.user ?? []).toFixed(0)} % user + ${median(cpu?.system ?? []).toFixed(0)} % system`;
  }).join('; ');
  report.note(`CPU of this process while the switchboard enqueued (percent of one core, ${os.cpus().length} cores): ${cpuText}`);
  report.note(`directory fsyncs per enqueue (group commit): ${PRODUCERS.map((n) => `${n}: ${median(producerDirSyncs.get(n) ?? []).toFixed(3)}`).join('; ')}`);
  for (const producers of PRODUCERS) {
    report.row(rateRow(`enqueue/s, ${producers} producer${producers > 1 ? 's' : ''}`, sb.get(producers) ?? [], floor.get(producers) ?? []));
  }
  const one = sb.get(1) ?? [];
  const many = sb.get(16) ?? [];
  const floorOne = floor.get(1) ?? [];
  const floorMany = floor.get(16) ?? [];
  const speedups = many.map((rate, i) => rate / (one[i] as number));
  const floorSpeedups = floorMany.map((rate, i) => rate / (floorOne[i] as number));
  const speedup = median(speedups);
  report.row({
    name: 'speedup, 16 producers / 1',
    unit: 'x',
    value: speedup,
    floor: median(floorSpeedups),
    ratio: speedup / median(floorSpeedups),
    target: { text: '>= 3.0x', pass: speedup >= 3 },
    rounds: { value: speedups, floor: floorSpeedups },
  });
}

// ---------------------------------------------------------------- 3. slices

/** An id whose sha1 falls in `slice` (rejection sampling over makeEntryId's nonce). */
function idInSlice(payload: Uint8Array, slice: number, numSlices: number): string {
  for (;;) {
    const id = makeEntryId(payload, '', nowMicros());
    if (sliceOf(parseEntryId(id).sha1, numSlices) === slice) return id;
  }
}

/** Write `count` waiting entries into one slice, quickly: durability none, 16 at a time. */
async function fillSlice(root: string, slice: number, numSlices: number, count: number, payload: Uint8Array): Promise<void> {
  for (const shard of shardsOfSlice(slice, numSlices)) await mkdir(join(root, QUEUE, shard), { recursive: true, mode: 0o770 });
  const chunks = encodeEntry(METADATA, CONTROL, payload);
  await timeConcurrent(count, 16, () => writeNewFile(entryPath(root, QUEUE, idInSlice(payload, slice, numSlices), 'pck'), chunks, { fsync: false, mode: 0o660 }));
}

/** Dequeue rate of slice 0 of 2 with `other` entries waiting in slice 1; the setup is not timed. */
async function slicePass(other: number): Promise<number> {
  const root = await freshDir(`slices-${other}`);
  try {
    await fillSlice(root, 1, 2, other, OTHER_PAYLOAD);
    await fillSlice(root, 0, 2, OWN_BACKLOG, PAYLOAD);
    const board = await openBoard(root, 'none', 0, 2);
    syncDisks();
    const started = performance.now();
    assertCount('slice 0 drain', await drainBoard(board), OWN_BACKLOG);
    return OWN_BACKLOG / ((performance.now() - started) / 1000);
  } finally {
    await removeDir(root);
  }
}

/** The other slice's entries are never read, only counted by the directory: 256 B keep the setup short. */
const OTHER_PAYLOAD = PAYLOAD.subarray(0, 256);

async function slices(): Promise<void> {
  report.section(`dequeue+finish/s of slice 0 of 2, durability none: own backlog ${OWN_BACKLOG}, ${ROUNDS} rounds`, [
    `figure: ${OTHER_BACKLOG} entries waiting in slice 1; floor: ${OTHER_SMALL} waiting in slice 1 (same code, same own backlog)`,
    `slice 1's entries carry ${OTHER_PAYLOAD.length} B messages (never read, only listed by the directory); slice 0's carry ${ENTRY_SIZE} B`,
  ]);
  const large: number[] = [];
  const small: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      small.push(await slicePass(OTHER_SMALL));
      large.push(await slicePass(OTHER_BACKLOG));
    } else {
      large.push(await slicePass(OTHER_BACKLOG));
      small.push(await slicePass(OTHER_SMALL));
    }
  }
  report.row(rateRow(`dequeue+finish/s, ${OTHER_BACKLOG} in other slice`, large, small, (ratio) => ({ text: 'ratio >= 0.80', pass: ratio >= 0.8 })));
}

// ---------------------------------------------------------------- child processes

function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string';
}

/** A forked consumer and its messages, in order. */
class Consumer {
  private readonly inbox: ChildMessage[] = [];
  private waiter: (() => void) | undefined;
  private exited = false;
  readonly child: ChildProcess;

  constructor(args: readonly string[]) {
    this.child = fork(CONSUMER, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      this.inbox.push(message);
      this.waiter?.();
    });
    this.child.on('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
  }

  send(message: ParentMessage): void {
    this.child.send(message);
  }

  /** The next message of `type`, skipping others. */
  async next<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    for (;;) {
      const index = this.inbox.findIndex((message) => message.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as Extract<ChildMessage, { type: T }>;
      if (this.exited) throw new Error(`consumer ${this.child.pid} exited while a '${type}' message was awaited`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
  }

  /**
   * The child's wall clock minus ours, from the ping with the shortest round
   * trip: timestamps taken in the child are corrected by this.
   */
  async clockOffset(pings = 20): Promise<{ offset: number; roundTrip: number }> {
    let best = { offset: 0, roundTrip: Number.POSITIVE_INFINITY };
    for (let i = 0; i < pings; i++) {
      const sentAt = wallClockMs();
      this.send({ type: 'ping', sentAt });
      const pong = await this.next('pong');
      const receivedAt = wallClockMs();
      const roundTrip = receivedAt - sentAt;
      if (roundTrip < best.roundTrip) best = { offset: pong.at - (sentAt + receivedAt) / 2, roundTrip };
    }
    return best;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await exited;
  }
}

// ---------------------------------------------------------------- 4. wake-up latency

async function latency(): Promise<void> {
  report.section(`wake-up latency, enqueue to a waiting consumer in another process: ${LATENCY_SAMPLES} samples each`, [
    'from just before enqueue() started (durability none) to the consumer knowing the id',
    'consumer: Switchboard.watch() (256 shard directories), wait(), takeNames() (files() only when names were lost), then dequeue+finish; samples 5-15 ms apart',
    'floor: a consumer with one fs.watch on one directory and one readdir, fed by the raw enqueue syscalls; samples alternate',
  ]);
  const root = await freshDir('latency-sb');
  const floorDir = await freshDir('latency-floor');
  const board = new Switchboard({ root, name: QUEUE, durability: 'none' });
  const sbConsumer = new Consumer(['latency-switchboard', root, QUEUE]);
  const floorConsumer = new Consumer(['latency-floor', floorDir]);
  try {
    await Promise.all([sbConsumer.next('ready'), floorConsumer.next('ready')]);
    const sbClock = await sbConsumer.clockOffset();
    const floorClock = await floorConsumer.clockOffset();
    sbConsumer.send({ type: 'start' });
    floorConsumer.send({ type: 'start' });
    const sbFromResolved: number[] = [];
    const sbFromStart: number[] = [];
    const floorFromResolved: number[] = [];
    const floorFromStart: number[] = [];
    // One unmeasured sample each: the first enqueue opens the shard directory cache, the first wake-up warms the code.
    for (let i = -1; i < LATENCY_SAMPLES; i++) {
      const started = wallClockMs();
      const id = await board.enqueue(PAYLOAD, METADATA);
      const resolved = wallClockMs();
      const seen = await sbConsumer.next('seen');
      if (seen.id !== id) throw new Error(`consumer saw ${seen.id}, expected ${id}`);
      await sbConsumer.next('done');
      if (i >= 0) {
        sbFromResolved.push(seen.at - sbClock.offset - resolved);
        sbFromStart.push(seen.at - sbClock.offset - started);
      }
      await sleep(5 + Math.random() * 10);

      const name = `${i + 1}`.padStart(8, '0');
      const floorStarted = wallClockMs();
      await floorEnqueue(floorDir, name, FLOOR_CHUNKS, false);
      const floorResolved = wallClockMs();
      const floorSeen = await floorConsumer.next('seen');
      if (floorSeen.id !== name) throw new Error(`floor consumer saw ${floorSeen.id}, expected ${name}`);
      await floorConsumer.next('done');
      if (i >= 0) {
        floorFromResolved.push(floorSeen.at - floorClock.offset - floorResolved);
        floorFromStart.push(floorSeen.at - floorClock.offset - floorStarted);
      }
      await sleep(5 + Math.random() * 10);
    }
    sbConsumer.send({ type: 'stop' });
    floorConsumer.send({ type: 'stop' });
    const [sbCpu, floorCpu] = await Promise.all([sbConsumer.next('cpu'), floorConsumer.next('cpu')]);
    const entries = LATENCY_SAMPLES + 1;
    report.note(`clock offsets (child - parent): switchboard ${sbClock.offset.toFixed(3)} ms, floor ${floorClock.offset.toFixed(3)} ms; best IPC round trips ${sbClock.roundTrip.toFixed(3)} / ${floorClock.roundTrip.toFixed(3)} ms`);
    // The target is judged from before enqueue() started: with durability none the
    // consumer may see the .pck before the producer's promise has resolved, so
    // "from resolved" can be negative and flatters.
    const p50 = percentile(sbFromStart, 50);
    const p99 = percentile(sbFromStart, 99);
    const floorP50 = percentile(floorFromStart, 50);
    const floorP99 = percentile(floorFromStart, 99);
    report.row({ name: 'wake-up latency p50', unit: 'ms', value: p50, floor: floorP50, ratio: p50 / floorP50, target: { text: '< 5 ms', pass: p50 < 5 }, rounds: { value: sbFromStart, floor: floorFromStart } });
    report.row({ name: 'wake-up latency p99', unit: 'ms', value: p99, floor: floorP99, ratio: p99 / floorP99, target: { text: '< 50 ms', pass: p99 < 50 } });
    report.row({ name: 'p50 from enqueue() resolved', unit: 'ms', value: percentile(sbFromResolved, 50), floor: percentile(floorFromResolved, 50) });
    report.row({ name: 'p99 from enqueue() resolved', unit: 'ms', value: percentile(sbFromResolved, 99), floor: percentile(floorFromResolved, 99) });
    // Every listing the consumer made, including wake-ups its own .pck -> .bak renames caused.
    const cpuPerEntry = (cpu: ChildMessage & { type: 'cpu' }): number => (cpu.userMicros + cpu.systemMicros) / 1000 / entries;
    report.row({ name: 'consumer listings per entry', unit: '', value: sbCpu.listings / entries, floor: floorCpu.listings / entries });
    report.row({ name: 'consumer CPU per entry', unit: 'ms', value: cpuPerEntry(sbCpu), floor: cpuPerEntry(floorCpu), ratio: cpuPerEntry(sbCpu) / cpuPerEntry(floorCpu) });
  } finally {
    await Promise.all([sbConsumer.stop(), floorConsumer.stop()]);
    await removeDir(root);
    await removeDir(floorDir);
  }
}

// ---------------------------------------------------------------- 5. idle CPU

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process in seconds, from /proc/<pid>/stat (Linux), or NaN. */
function procCpuSeconds(pid: number | undefined, ticks: number): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return Number.NaN;
  }
}

async function idleCpu(): Promise<void> {
  report.section(`CPU of an idle consumer over ${IDLE_SECONDS} s, percent of one core`, [
    'consumer: a child with a Switchboard (1 slice, 256 shard directories) looping on watch().wait() / files(), nothing arriving',
    'floor: an idle Node child with the same IPC channel and nothing else; both measured over the same window',
    'figure: process.cpuUsage() (all threads) in the child between start and stop; /proc/<pid>/stat shown as a cross-check',
  ]);
  const root = await freshDir('idle');
  const sbConsumer = new Consumer(['idle-switchboard', root, QUEUE]);
  const floorConsumer = new Consumer(['idle-floor']);
  const ticks = clockTicksPerSecond();
  try {
    await Promise.all([sbConsumer.next('ready'), floorConsumer.next('ready')]);
    // Let start-up work (JIT, the first listing) settle before the window opens.
    await sleep(500);
    const procBefore = [procCpuSeconds(sbConsumer.child.pid, ticks), procCpuSeconds(floorConsumer.child.pid, ticks)];
    const opened = performance.now();
    sbConsumer.send({ type: 'start' });
    floorConsumer.send({ type: 'start' });
    await sleep(IDLE_SECONDS * 1000);
    sbConsumer.send({ type: 'stop' });
    floorConsumer.send({ type: 'stop' });
    const [sbCpu, floorCpu] = await Promise.all([sbConsumer.next('cpu'), floorConsumer.next('cpu')]);
    const wall = (performance.now() - opened) / 1000;
    const procAfter = [procCpuSeconds(sbConsumer.child.pid, ticks), procCpuSeconds(floorConsumer.child.pid, ticks)];
    const percent = (cpu: ChildMessage & { type: 'cpu' }): number => ((cpu.userMicros + cpu.systemMicros) / 1000 / cpu.wallMs) * 100;
    const sbPercent = percent(sbCpu);
    const floorPercent = percent(floorCpu);
    const procPercent = (i: number): string => (((procAfter[i] as number) - (procBefore[i] as number)) / wall * 100).toFixed(3);
    report.note(`/proc/<pid>/stat over ${wall.toFixed(1)} s (${ticks} ticks/s): switchboard ${procPercent(0)} %, floor ${procPercent(1)} %; switchboard listings during the window: ${sbCpu.listings}`);
    report.row({ name: 'idle consumer CPU', unit: '%', value: sbPercent, floor: floorPercent, ratio: sbPercent / floorPercent, target: { text: '< 1 %', pass: sbPercent < 1 } });
  } finally {
    await Promise.all([sbConsumer.stop(), floorConsumer.stop()]);
    await removeDir(root);
  }
}

// ---------------------------------------------------------------- 6. listing a large queue

/** The bare floor: readdir of the queue directory and of each shard directory in it, all at once, nothing done with the names. */
async function bareReaddir(queueDir: string): Promise<number> {
  const shards = await readdir(queueDir);
  const lists = await Promise.all(shards.map((shard) => readdir(join(queueDir, shard))));
  return lists.reduce((sum, names) => sum + names.length, 0);
}

async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function listing(): Promise<void> {
  report.section(`listing a ${LISTING_ENTRIES}-entry queue (1 slice, 256 shards), ${LISTING_ROUNDS} rounds, warm cache`, [
    'scan([pck]): what a runner\'s rescan and recovery do (ids, states, paths on demand, oldest first); files(): the ids;',
    'Spool.count(): what `queue count` and `status` do; list(): what `queue list` starts from',
    'floor: bare node:fs/promises readdir of the queue directory and of every shard directory, at once, names unused',
  ]);
  const root = await freshDir('listing');
  try {
    const filled = performance.now();
    await fillSlice(root, 0, 1, LISTING_ENTRIES, OTHER_PAYLOAD);
    report.note(`setup: ${LISTING_ENTRIES} entries written in ${((performance.now() - filled) / 1000).toFixed(1)} s (not timed)`);
    const board = new Switchboard({ root, name: QUEUE, durability: 'none' });
    const spool = new Spool({ root });
    const queueDir = join(root, QUEUE);
    assertCount('bare readdir', await bareReaddir(queueDir), LISTING_ENTRIES);
    assertCount('scan', (await board.scan(['pck'])).entries.length, LISTING_ENTRIES);
    const kinds = {
      floor: () => bareReaddir(queueDir),
      scan: () => board.scan(['pck']),
      files: () => board.files(),
      count: () => spool.count(QUEUE),
      list: () => board.list(),
    };
    const times = new Map<string, number[]>(Object.keys(kinds).map((kind) => [kind, []]));
    const order = Object.keys(kinds) as Array<keyof typeof kinds>;
    for (let round = 0; round < LISTING_ROUNDS; round++) {
      for (let k = 0; k < order.length; k++) {
        const kind = order[(k + round) % order.length] as keyof typeof kinds;
        times.get(kind)?.push(await timeMs(kinds[kind]));
      }
    }
    const floor = times.get('floor') ?? [];
    for (const kind of ['scan', 'files', 'count', 'list'] as const) {
      const values = times.get(kind) ?? [];
      const ratio = ratios(values, floor);
      report.row({
        name: `${kind === 'scan' ? 'scan([pck])' : kind === 'count' ? 'Spool.count()' : `${kind}()`} of ${LISTING_ENTRIES}`,
        unit: 'ms',
        value: median(values),
        floor: median(floor),
        ratio: ratio.median,
        target: kind === 'list' ? undefined : { text: 'ratio <= 1.50', pass: ratio.median <= 1.5 },
        rounds: { value: values, floor, ratio: ratio.each },
      });
    }
  } finally {
    await removeDir(root);
  }
}

// ---------------------------------------------------------------- main

const base = benchBaseDir();
report.setting('directory', `${base} (${fileSystemOf(base)})`);
report.setting('machine', `node ${process.version}, ${os.cpus().length} CPUs, ${os.type()} ${os.release()}`);
report.setting('UV_THREADPOOL_SIZE', process.env.UV_THREADPOOL_SIZE ?? 'unset (libuv default 4)');
report.setting('rounds', ROUNDS);
report.setting('entries', `${ENTRIES} (durability none), ${FSYNC_ENTRIES} (fsync), ${ENTRY_SIZE} B messages`);
report.setting('phases', [...PHASES].join(', '));
report.printHeader();

if (PHASES.has('throughput')) await throughput();
if (PHASES.has('producers')) await concurrentProducers();
if (PHASES.has('slices')) await slices();
if (PHASES.has('latency')) await latency();
if (PHASES.has('idle')) await idleCpu();
if (PHASES.has('listing')) await listing();
await report.finish();
