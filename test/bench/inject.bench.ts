/**
 * The inject benchmark: `switchyard inject` as an MTA pipe runs it, one
 * process per 4 KiB message, durability on (fsync), against `node -e ''` as
 * the floor of any Node process start, measured in the same run.
 *
 * - start: `node dist/src/cli/main.js inject --help` (dispatch only: what
 *   every pipe delivery pays before it reads its first byte) vs `node -e ''`;
 * - message: a whole delivery (config, store lookup, durable enqueue), as
 *   messages/s for one MTA pipe process at a time, and its p50 time.
 *
 *     node dist/test/bench/inject.bench.js
 *
 * Scale with BENCH_INJECT_RUNS (default 40). Files: one fresh
 * `switchyard-bench-*` home, removed at the end.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envInt, freshDir, median, percentile, removeDir, Report, switchyardCli } from './harness.js';

const RUNS = envInt('BENCH_INJECT_RUNS', 40);
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MESSAGE = Buffer.from(`Subject: bench\r\nFrom: anne@example.net\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(4096, 'y'));

function timed(args: string[], input?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`${args.join(' ')} exited ${code}`))));
    if (input !== undefined) child.stdin!.end(input);
  });
}

const report = new Report('inject');
report.setting('runs', RUNS);
report.setting('message', `${MESSAGE.length} bytes`);
report.printHeader();
const home = await freshDir('inject');
try {
  await writeFile(join(home, 'switchyard.toml'), '[queues]\ndurability = "fsync"\n');
  const created = await switchyardCli(home, 'lists', 'create', 'bench@lists.example.org');
  if (created.code !== 0) throw new Error(created.output);
  const floor: number[] = [];
  const start: number[] = [];
  const whole: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push(await timed(['-e', '']));
    start.push(await timed([MAIN, 'inject', '--help']));
    whole.push(await timed([MAIN, 'inject', '--home', home, '--recipient', 'bench@lists.example.org'], MESSAGE));
  }
  report.section('process start (p50)', ['floor: node -e \'\'']);
  report.row({ name: 'inject --help', unit: 'ms', value: median(start), floor: median(floor), ratio: median(start) / median(floor), rounds: { value: start, floor } });
  report.section('one message per process, fsync', ['floor: node -e \'\' (messages/s if a process did nothing)']);
  report.row({ name: 'inject p50', unit: 'ms', value: median(whole), floor: median(floor), ratio: median(whole) / median(floor) });
  report.row({ name: 'inject p90', unit: 'ms', value: percentile(whole, 90) });
  report.row({ name: 'messages/s, one pipe at a time', unit: '/s', value: 1000 / median(whole), floor: 1000 / median(floor), ratio: median(floor) / median(whole) });
} finally {
  await removeDir(home);
}
await report.finish();
