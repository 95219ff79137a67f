/**
 * Memory: what the instance costs at rest, and what a backlog adds to a runner.
 *
 *     npm run bench -- memory
 *
 * idle instance: a real master started (`switchyard start`) in a fresh home
 *   with every built-in runner and service (LMTP and HTTP on free loopback
 *   ports), measured once `status` says every process is running with
 *   nothing in flight and MEMORY_SETTLE seconds (default 30) have passed:
 *   a just-started process still carries its start's garbage, which V8's
 *   memory reducer returns after some seconds without work. Then the PSS (/proc/PID/smaps_rollup) of the master and of
 *   each process below it, and their sum. PSS shares each page among the
 *   processes that map it, so the node binary counts once over all of them.
 *   Floor: as many bare `node` processes, each forked with an IPC channel and
 *   idle, alive at the same time as the instance (so the binary's pages are
 *   shared among all of them alike). Target: the whole instance ≤ 200 MB.
 * backlog: the `retry` runner process (runner-process.js, as the master runs
 *   it) over a slice of 100,000 entries due in a year: it lists them at start
 *   and holds their ids while it waits. RSS once it is ready, against the
 *   same process on an empty queue. Target: ≤ 100 MB.
 *
 * MEMORY_ROUNDS (default 3): samples of the idle instance (one second apart)
 * and runs of the backlog process; medians are reported. MEMORY_BACKLOG
 * (default 100000): the backlog's size. MEMORY_PHASES (default
 * `idle,backlog`): which phases to run.
 *
 * Files: a fresh home per phase below the base directory (see harness.ts),
 * removed at the end.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Switchboard } from '../../queues/index.js';
import { loadConfig } from '../../src/config/load.js';
import { homePaths } from '../../src/home.js';
import type { RunnerMessage, StatusReport } from '../../src/master/protocol.js';
import { requestStatus } from '../../src/master/status-client.js';
import { CONFIG_JSON_ENV, validatedConfigJson } from '../../src/master/supervisor-env.js';
import { envInt, freshDir, median, removeDir, Report, sleep, switchyardCli } from './harness.js';

const RUNNER_PROCESS = fileURLToPath(new URL('../../src/master/runner-process.js', import.meta.url));
const MB = 1024 * 1024;
const IDLE_TARGET_MB = 200;
const BACKLOG_TARGET_MB = 100;
const START_WAIT_MS = 180_000;

const rounds = envInt('MEMORY_ROUNDS', 3);
const settleSeconds = Number(process.env.MEMORY_SETTLE ?? 30);
const backlogSize = envInt('MEMORY_BACKLOG', 100_000);
const phases = new Set((process.env.MEMORY_PHASES ?? 'idle,backlog').split(','));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A /proc/PID/smaps_rollup or /proc/PID/status figure in bytes (`Pss:`, `VmRSS:`), or undefined once the process is gone. */
async function procFigure(pid: number, file: 'smaps_rollup' | 'status', field: string): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/${file}`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Every process below `pid` (children, their children...), by parent pid from /proc. */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // The command may hold spaces and parentheses: the fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // Exited while listed.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function allIdle(report: StatusReport): boolean {
  return report.runners.length > 0 && report.runners.every((runner) => runner.state === 'running' && runner.inFlight === 0 && runner.pid !== null);
}

async function waitForIdle(socket: string): Promise<StatusReport> {
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    try {
      const report = await requestStatus(socket);
      if (allIdle(report)) return report;
      if (report.runners.some((runner) => runner.state === 'failed')) throw new Error(`a runner failed: ${report.problems.join('; ')}`);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error('the instance did not become idle in time');
    await sleep(200);
  }
}

/** `count` bare node processes, each forked with an IPC channel (which keeps it alive) and nothing else. */
async function startFloorProcesses(count: number): Promise<ChildProcess[]> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const child = fork('-e', ['process.on("message", () => {}); process.send("ready")'], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    // fork() runs `node -e <script>` when the module is `-e`: the script is the first argument.
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`floor process exited ${code}`)));
    });
  }
  return children;
}

async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

async function idleInstance(report: Report): Promise<void> {
  const home = await freshDir('memory-idle');
  const lmtpPort = await freePort();
  const httpPort = await freePort();
  await writeFile(
    join(home, 'switchyard.toml'),
    `[lmtp]\nport = ${lmtpPort}\n\n[http]\nport = ${httpPort}\n\n[dns]\nservers = ["127.0.0.1:9"]\n\n[smtp]\nport = ${await freePort()}\n`,
  );
  const started = await switchyardCli(home, 'start');
  let floor: ChildProcess[] = [];
  try {
    if (started.code !== 0) throw new Error(`switchyard start failed: ${started.output}`);
    const status = await waitForIdle(homePaths(home).socket);
    const masterPid = status.master.pid;
    const names = new Map<number, string>([[masterPid, 'master']]);
    for (const runner of status.runners) if (runner.pid !== null) names.set(runner.pid, runner.numSlices > 1 ? `${runner.name}.${runner.slice}` : runner.name);
    const pids = [masterPid, ...(await descendants(masterPid))];
    floor = await startFloorProcesses(pids.length);
    await sleep(settleSeconds * 1000);

    const perProcess = new Map<number, number[]>(pids.map((pid) => [pid, []]));
    const totals: number[] = [];
    const floorTotals: number[] = [];
    for (let round = 0; round < rounds; round++) {
      if (round > 0) await sleep(1000);
      let total = 0;
      for (const pid of pids) {
        const pss = (await procFigure(pid, 'smaps_rollup', 'Pss')) ?? Number.NaN;
        perProcess.get(pid)!.push(pss);
        total += pss;
      }
      let floorTotal = 0;
      for (const child of floor) floorTotal += (await procFigure(child.pid!, 'smaps_rollup', 'Pss')) ?? Number.NaN;
      totals.push(total / MB);
      floorTotals.push(floorTotal / MB);
    }
    const floorEach = median(floorTotals) / floor.length;

    report.section('idle instance: PSS of the master and every process below it', [
      `${pids.length} processes (${status.runners.length} runners and services and the master); floor: ${floor.length} bare forked node processes with an IPC channel, measured alongside`,
      `median of ${rounds} samples, one second apart, ${settleSeconds} s after status said every process was running with nothing in flight (MEMORY_SETTLE)`,
    ]);
    const rows = pids.map((pid) => ({ pid, name: names.get(pid) ?? `pid ${pid} (not in status)`, value: median(perProcess.get(pid)!) / MB }));
    rows.sort((a, b) => b.value - a.value);
    for (const row of rows) report.row({ name: `PSS ${row.name}`, unit: 'MB', value: row.value, floor: floorEach, ratio: row.value / floorEach });
    const ratios = totals.map((total, i) => total / floorTotals[i]!);
    const total = median(totals);
    report.row({
      name: 'PSS whole instance',
      unit: 'MB',
      value: total,
      floor: median(floorTotals),
      ratio: median(ratios),
      target: { text: `<= ${IDLE_TARGET_MB} MB`, pass: total <= IDLE_TARGET_MB },
      rounds: { value: totals, floor: floorTotals, ratio: ratios },
    });
  } finally {
    await stopChildren(floor);
    await switchyardCli(home, 'stop');
    await removeDir(home);
  }
}

/** Fill `retry` (slice 0 of 1) with `count` entries due a year from now. */
async function fillRetry(spoolRoot: string, count: number): Promise<void> {
  const switchboard = new Switchboard({ root: spoolRoot, name: 'retry', durability: 'none' });
  const dueMicros = BigInt(Date.now() + 365 * 24 * 3600 * 1000) * 1000n;
  const payload = 'From: a@example.org\r\nSubject: waiting\r\n\r\nbody\r\n';
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const writes: Promise<string>[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++) writes.push(switchboard.enqueue(payload, { n: j }, { micros: dueMicros + BigInt(j), control: { originalQueue: 'out' } }));
    await Promise.all(writes);
  }
}

/** Run the retry runner over `home`'s spool until it is ready; its RSS (and PSS) then, in bytes. */
async function retryRunnerMemory(home: string, configJson: string): Promise<{ rss: number; pss: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, [CONFIG_JSON_ENV]: configJson };
  delete env.SWITCHYARD_HOME;
  const child = fork(RUNNER_PROCESS, ['--home', home, '--runner', 'retry', '--slice', '0', '--slices', '1'], { env, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: RunnerMessage) => {
        if (message.type === 'ready') resolve();
      });
      child.once('exit', (code) => reject(new Error(`retry runner exited ${code} before it was ready: ${stderr}`)));
    });
    // The listing's garbage is collectable once it is ready; what stays is what the runner holds (and the heap V8 kept).
    const rss = (await procFigure(child.pid!, 'status', 'VmRSS')) ?? Number.NaN;
    const pss = (await procFigure(child.pid!, 'smaps_rollup', 'Pss')) ?? Number.NaN;
    return { rss, pss };
  } finally {
    await stopChildren([child]);
  }
}

async function backlog(report: Report): Promise<void> {
  const full = await freshDir('memory-backlog');
  const empty = await freshDir('memory-empty');
  try {
    const toml = `[logging]\nlevel = "warn"\n\n[queues]\ndurability = "none"\n`;
    await writeFile(join(full, 'switchyard.toml'), toml);
    await writeFile(join(empty, 'switchyard.toml'), toml);
    const fullJson = validatedConfigJson(await loadConfig(join(full, 'switchyard.toml')));
    const emptyJson = validatedConfigJson(await loadConfig(join(empty, 'switchyard.toml')));
    await fillRetry(homePaths(full).queues, backlogSize);
    const values: number[] = [];
    const floors: number[] = [];
    const ratios: number[] = [];
    const pss: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const loaded = await retryRunnerMemory(full, fullJson);
      const idle = await retryRunnerMemory(empty, emptyJson);
      values.push(loaded.rss / MB);
      pss.push(loaded.pss / MB);
      floors.push(idle.rss / MB);
      ratios.push(loaded.rss / idle.rss);
    }
    report.section(`backlog: the retry runner with ${backlogSize.toLocaleString('en')} entries waiting in its slice`, [
      `RSS once it said it was ready (it has listed its slice); floor: the same process on an empty queue; median of ${rounds} runs`,
    ]);
    const value = median(values);
    report.row({ name: 'PSS with backlog', unit: 'MB', value: median(pss) });
    report.row({
      name: 'RSS with backlog',
      unit: 'MB',
      value,
      floor: median(floors),
      ratio: median(ratios),
      target: { text: `<= ${BACKLOG_TARGET_MB} MB`, pass: value <= BACKLOG_TARGET_MB },
      rounds: { value: values, floor: floors, ratio: ratios },
    });
  } finally {
    await removeDir(full);
    await removeDir(empty);
  }
}

const report = new Report('memory');
report.setting('rounds (MEMORY_ROUNDS)', rounds);
report.setting('backlog entries (MEMORY_BACKLOG)', backlogSize);
report.setting('idle settle seconds (MEMORY_SETTLE)', settleSeconds);
report.setting('phases (MEMORY_PHASES)', [...phases].join(', '));
report.printHeader();
if (phases.has('idle')) await idleInstance(report);
if (phases.has('backlog')) await backlog(report);
await report.finish();
