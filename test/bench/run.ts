/**
 * `npm run bench`: runs every `*.bench.js` beside this file, in name order,
 * each in its own child process, and lets each print its own report.
 *
 *     npm run bench                          # all of them
 *     npm run bench -- switchboard           # names containing "switchboard"
 *     npm run bench -- switchboard --dir /var/spool/switchyard/tmp
 *
 * Each child gets UV_THREADPOOL_SIZE (16 unless already set): libuv's default
 * of 4 threads would cap concurrent fsyncs, and hence the group commits that
 * concurrent producers rely on, at 4. The runners are meant to be started
 * with the same setting. Other `--flag value` arguments go to every child.
 *
 * BENCH_JSON=path writes all results as one JSON object keyed by benchmark.
 * BENCH_STRICT=1 exits 1 when a target is missed (otherwise only a crashed
 * benchmark makes the exit status non-zero).
 *
 * Files: a temp directory for the children's JSON results, removed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_THREADPOOL_SIZE = '16';
const SUFFIX = '.bench.js';

interface BenchOutcome {
  name: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  result?: unknown;
  failedTargets: number;
}

function parseArgs(argv: readonly string[]): { filters: string[]; passThrough: string[] } {
  const filters: string[] = [];
  const passThrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      filters.push(arg);
    } else if (arg.includes('=')) {
      passThrough.push(arg);
    } else {
      // `--flag value`: the next argument is the flag's value, not a filter.
      passThrough.push(arg);
      const value = argv[i + 1];
      if (value !== undefined && !value.startsWith('--')) {
        passThrough.push(value);
        i++;
      }
    }
  }
  return { filters, passThrough };
}

function countFailedTargets(result: unknown): number {
  if (typeof result !== 'object' || result === null || !('sections' in result) || !Array.isArray(result.sections)) return 0;
  let failed = 0;
  for (const section of result.sections as unknown[]) {
    if (typeof section !== 'object' || section === null || !('rows' in section) || !Array.isArray(section.rows)) continue;
    for (const row of section.rows as unknown[]) {
      if (typeof row !== 'object' || row === null || !('target' in row)) continue;
      const target = row.target;
      if (typeof target === 'object' && target !== null && 'pass' in target && target.pass === false) failed++;
    }
  }
  return failed;
}

function runChild(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
}

async function main(): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const { filters, passThrough } = parseArgs(process.argv.slice(2));
  const names = (await readdir(here))
    .filter((name) => name.endsWith(SUFFIX))
    .map((name) => name.slice(0, -SUFFIX.length))
    .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
    .sort();
  if (names.length === 0) {
    console.error(`no benchmark matches ${filters.length ? filters.join(', ') : '*'} in ${here}`);
    return 2;
  }

  const threadpool = process.env.UV_THREADPOOL_SIZE || DEFAULT_THREADPOOL_SIZE;
  console.log(`benchmarks: ${names.join(', ')}`);
  console.log(`UV_THREADPOOL_SIZE=${threadpool} for each benchmark process${process.env.UV_THREADPOOL_SIZE ? ' (from the environment)' : ' (set by run.js)'}`);
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${os.type()} ${os.release()}`);

  const resultsDir = await mkdtemp(join(os.tmpdir(), 'switchyard-bench-results-'));
  const outcomes: BenchOutcome[] = [];
  try {
    for (const name of names) {
      const resultFile = join(resultsDir, `${name}.json`);
      const started = performance.now();
      const env: NodeJS.ProcessEnv = { ...process.env, UV_THREADPOOL_SIZE: threadpool, BENCH_RESULT_FILE: resultFile };
      const { exitCode, signal } = await runChild(join(here, `${name}${SUFFIX}`), passThrough, env);
      const outcome: BenchOutcome = { name, exitCode, signal, seconds: (performance.now() - started) / 1000, failedTargets: 0 };
      try {
        outcome.result = JSON.parse(await readFile(resultFile, 'utf8')) as unknown;
        outcome.failedTargets = countFailedTargets(outcome.result);
      } catch {
        // No results: the benchmark crashed, which its exit status says.
      }
      outcomes.push(outcome);
    }
  } finally {
    await rm(resultsDir, { recursive: true, force: true });
  }

  console.log('\n=== summary ===');
  for (const outcome of outcomes) {
    const status = outcome.exitCode === 0 ? (outcome.failedTargets ? `${outcome.failedTargets} target(s) missed` : 'all targets met') : `crashed (exit ${outcome.exitCode ?? outcome.signal})`;
    console.log(`  ${outcome.name.padEnd(24)} ${outcome.seconds.toFixed(0).padStart(5)} s  ${status}`);
  }

  if (process.env.BENCH_JSON) {
    const json = {
      node: process.version,
      cpus: os.cpus().length,
      kernel: `${os.type()} ${os.release()}`,
      uvThreadpoolSize: Number(threadpool),
      benchmarks: Object.fromEntries(outcomes.map((outcome) => [outcome.name, outcome.result ?? { crashed: outcome.exitCode ?? outcome.signal }])),
    };
    await writeFile(process.env.BENCH_JSON, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`results written to ${process.env.BENCH_JSON}`);
  }

  if (outcomes.some((outcome) => outcome.exitCode !== 0)) return 1;
  if (process.env.BENCH_STRICT === '1' && outcomes.some((outcome) => outcome.failedTargets > 0)) return 1;
  return 0;
}

process.exitCode = await main();
