/**
 * The outgoing benchmark: a real master whose built-in outgoing runner
 * delivers 4 KiB posts from `out` to a loopback SMTP sink that accepts
 * everything (its own process, smtp-sink-process.ts): one post to 10,000
 * members and ten posts to 1,000 members, in bulk and in VERP mode.
 *
 * Per scenario: recipients/s and SMTP transactions/s from the first enqueue
 * into `out` to the sink's last acceptance; CPU seconds of the runner process
 * per 1,000 recipients (/proc/PID/stat); the runner's peak RSS (VmHWM). In
 * the same run, before each pass, the floor: nodemailer's pooled transport
 * sending the same transactions from a bare script (outgoing-floor.ts, its
 * own process, same pool settings and transactions in flight), and the
 * ratio. Target: ratio >= 0.80. Then latency: single one-recipient posts on
 * the idle system, from the start of the enqueue into `out` to the sink's
 * acceptance; target p95 < 100 ms.
 *
 *     node dist/test/bench/outgoing.bench.js [--dir <path>]
 *
 * Scale with BENCH_OUTGOING_ROUNDS (3), BENCH_OUTGOING_MEMBERS (10000),
 * BENCH_LATENCY_SAMPLES (50). BENCH_OUTGOING_ONLY picks phases, a comma list
 * of bulk-1, bulk-10, verp-1, verp-10 and latency (all by default): e.g.
 * `BENCH_OUTGOING_ONLY=verp-1` for one post to 10,000 members in VERP mode. Queue durability is fsync (the default).
 * Files: a fresh `switchyard-bench-*` home per scenario, removed after it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Switchboard } from '../../queues/index.js';
import { outMetadata } from '../../runners/outgoing/out-entry.js';
import { requestStatus } from '../../src/master/status-client.js';
import { benchMessage, benchRecipients } from './outgoing-data.js';
import { envInt, freshDir, switchyardCli, median, percentile, removeDir, Report, syncDisks, wallClockMs } from './harness.js';
import { startSinkProcess, type SinkProcess } from './sink-process-client.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROUNDS = envInt('BENCH_OUTGOING_ROUNDS', 3);
const MEMBERS = envInt('BENCH_OUTGOING_MEMBERS', 10_000);
const LATENCY_SAMPLES = envInt('BENCH_LATENCY_SAMPLES', 50);
const MAX_CONNECTIONS = 5;
const MAX_RECIPIENTS = 500;
const CONCURRENCY = 4;
const CLK_TCK = 100;
const PHASES = ['bulk-1', 'bulk-10', 'verp-1', 'verp-10', 'latency'];
const ONLY = (process.env.BENCH_OUTGOING_ONLY ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
for (const phase of ONLY) if (!PHASES.includes(phase)) throw new Error(`BENCH_OUTGOING_ONLY: unknown phase ${JSON.stringify(phase)} (one of ${PHASES.join(', ')})`);
const wanted = (phase: string): boolean => ONLY.length === 0 || ONLY.includes(phase);

const report = new Report('outgoing');

const cli = switchyardCli;

function runnerCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLK_TCK) * 1000;
}

function peakRssKb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN);
}

interface Figures {
  recipientsPerS: number;
  transactionsPerS: number;
  cpuPer1000: number;
  rssMb: number;
}

async function floorRun(sink: SinkProcess, mode: string, posts: number, members: number): Promise<Figures> {
  await sink.reset();
  const inFlight = MAX_CONNECTIONS * Math.min(CONCURRENCY, posts);
  const args = [String(sink.port), mode, String(posts), String(members), String(MAX_CONNECTIONS), String(MAX_RECIPIENTS), String(inFlight)];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, 'outgoing-floor.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`floor exited ${code}`))));
  });
  const { ms, cpuMs, maxRssKb, transactions } = JSON.parse(output) as { ms: number; cpuMs: number; maxRssKb: number; transactions: number };
  const recipients = posts * members;
  return { recipientsPerS: recipients / (ms / 1000), transactionsPerS: transactions / (ms / 1000), cpuPer1000: cpuMs / 1000 / (recipients / 1000), rssMb: maxRssKb / 1024 };
}

function homeConfig(port: number): string {
  return `[logging]\ndestination = "files"\nlevel = "warn"\n\n[http]\nenabled = false\n\n[smtp]\nport = ${port}\nmaxConnections = ${MAX_CONNECTIONS}\nmaxRecipients = ${MAX_RECIPIENTS}\n\n[runner.outgoing]\nconcurrency = ${CONCURRENCY}\n`;
}

async function withMaster<T>(sink: SinkProcess, body: (root: string, pid: number) => Promise<T>): Promise<T> {
  const home = await freshDir('outgoing');
  try {
    await writeFile(join(home, 'switchyard.toml'), homeConfig(sink.port));
    const started = await cli(home, 'start');
    if (started.code !== 0) throw new Error(`master did not start: ${started.output}`);
    try {
      const status = await requestStatus(join(home, 'master.sock'));
      const pid = status.runners.find((r) => r.name === 'outgoing')?.pid;
      if (!pid) throw new Error('no outgoing runner');
      return await body(join(home, 'queues'), pid);
    } finally {
      await cli(home, 'stop');
    }
  } finally {
    await removeDir(home);
  }
}

async function runnerRun(sink: SinkProcess, mode: string, posts: number, members: number): Promise<Figures> {
  await sink.reset();
  syncDisks();
  return withMaster(sink, async (root, pid) => {
    const out = new Switchboard({ root, name: 'out' });
    const message = benchMessage();
    const metas = Array.from({ length: posts }, (_, post) =>
      outMetadata({ listId: 'bench.lists.example.org', sender: 'bench-bounces@lists.example.org', recipients: benchRecipients(members, post), ...(mode === 'verp' ? { verp: true, listPosting: 'bench@lists.example.org' } : {}) }),
    );
    const recipients = posts * members;
    const cpuBefore = runnerCpuMs(pid);
    const reached = sink.reached(recipients);
    const started = wallClockMs();
    await Promise.all(metas.map((metadata) => out.enqueue(message, metadata)));
    const { at, transactions } = await reached;
    const ms = at - started;
    const cpuMs = runnerCpuMs(pid) - cpuBefore;
    return { recipientsPerS: recipients / (ms / 1000), transactionsPerS: transactions / (ms / 1000), cpuPer1000: cpuMs / 1000 / (recipients / 1000), rssMb: peakRssKb(pid) / 1024 };
  });
}

async function throughput(sink: SinkProcess): Promise<void> {
  const scenarios: Array<[string, number, number]> = [
    ['bulk', 1, MEMBERS],
    ['bulk', 10, MEMBERS / 10],
    ['verp', 1, MEMBERS],
    ['verp', 10, MEMBERS / 10],
  ];
  for (const [mode, posts, members] of scenarios) {
    if (!wanted(`${mode}-${posts}`)) continue;
    report.section(`${mode}: ${posts} post${posts > 1 ? 's' : ''} of 4 KiB to ${members} members, ${ROUNDS} rounds (medians)`, [
      'floor: nodemailer pooled transport sending the same transactions from a bare script, same pool settings',
    ]);
    const runs: Figures[] = [];
    const floors: Figures[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      floors.push(await floorRun(sink, mode, posts, members));
      runs.push(await runnerRun(sink, mode, posts, members));
    }
    const ratios = runs.map((run, i) => run.recipientsPerS / floors[i]!.recipientsPerS);
    const ratio = median(ratios);
    const pick = (list: Figures[], key: keyof Figures): number[] => list.map((f) => f[key]);
    report.row({
      name: 'recipients/s',
      unit: '/s',
      value: median(pick(runs, 'recipientsPerS')),
      floor: median(pick(floors, 'recipientsPerS')),
      ratio,
      target: { text: 'ratio >= 0.80', pass: ratio >= 0.8 },
      rounds: { value: pick(runs, 'recipientsPerS'), floor: pick(floors, 'recipientsPerS'), ratio: ratios },
    });
    report.row({ name: 'SMTP transactions/s', unit: '/s', value: median(pick(runs, 'transactionsPerS')), floor: median(pick(floors, 'transactionsPerS')) });
    // VERP (issue 20 §2): the runner's CPU per recipient within 1.3 times the floor's.
    const cpuRatios = runs.map((run, i) => run.cpuPer1000 / floors[i]!.cpuPer1000);
    const cpuRatio = median(cpuRatios);
    report.row({
      name: 'CPU s per 1,000 recipients',
      unit: 's',
      value: median(pick(runs, 'cpuPer1000')),
      floor: median(pick(floors, 'cpuPer1000')),
      ratio: cpuRatio,
      ...(mode === 'verp' ? { target: { text: 'ratio <= 1.30', pass: cpuRatio <= 1.3 } } : {}),
      rounds: { value: pick(runs, 'cpuPer1000'), floor: pick(floors, 'cpuPer1000'), ratio: cpuRatios },
    });
    report.row({ name: 'peak RSS', unit: 'MB', value: median(pick(runs, 'rssMb')), floor: median(pick(floors, 'rssMb')) });
  }
}

async function latency(sink: SinkProcess): Promise<void> {
  report.section(`latency: ${LATENCY_SAMPLES} single one-recipient posts on an idle system, enqueue into out -> accepted by the sink`);
  await withMaster(sink, async (root) => {
    const out = new Switchboard({ root, name: 'out' });
    const message = benchMessage();
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES + 1; i++) {
      await sink.reset();
      const reached = sink.reached(1);
      const started = wallClockMs();
      await out.enqueue(message, outMetadata({ listId: 'bench.lists.example.org', sender: 'bench-bounces@lists.example.org', recipients: [`lat${i}@d1.example`] }));
      const { at } = await reached;
      // The first opens the pool's connection; a running system has it open.
      if (i > 0) samples.push(at - started);
    }
    const p95 = percentile(samples, 95);
    report.row({ name: 'median', unit: 'ms', value: median(samples) });
    report.row({ name: 'p95', unit: 'ms', value: p95, target: { text: '< 100 ms', pass: p95 < 100 } });
    report.row({ name: 'max', unit: 'ms', value: Math.max(...samples) });
  });
}

report.setting('rounds', ROUNDS);
report.setting('members', MEMBERS);
report.setting('smtp', `maxConnections ${MAX_CONNECTIONS}, maxRecipients ${MAX_RECIPIENTS}; runner concurrency ${CONCURRENCY}; durability fsync`);
report.printHeader();
const sink = await startSinkProcess();
try {
  await throughput(sink);
  if (wanted('latency')) await latency(sink);
} finally {
  sink.child.disconnect();
}
await report.finish();
