/**
 * What the benchmarks in this folder share: settings from the environment,
 * fresh working directories, statistics, and the report (printed as it goes,
 * and written as JSON at the end). Not a benchmark itself: run.ts runs only
 * the `*.bench.js` files.
 *
 * Files: every timed phase works in its own `mkdtemp` directory below the
 * base directory (`--dir <path>`, else BENCH_DIR, else os.tmpdir()), which the
 * phase removes when it is done. Killed midway, a `switchyard-bench-*`
 * directory is left behind; nothing else is touched, so deleting it by hand
 * is all the cleanup there is.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A positive integer from the environment, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

/** The value of `--name value` or `--name=value` on the command line. */
export function argValue(name: string, argv: readonly string[] = process.argv.slice(2)): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === `--${name}`) return argv[i + 1];
    if (arg?.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}

/** Where working directories go: on the file system the spool will live on. */
export function benchBaseDir(): string {
  return argValue('dir') ?? process.env.BENCH_DIR ?? os.tmpdir();
}

export async function freshDir(label: string): Promise<string> {
  return mkdtemp(join(benchBaseDir(), `switchyard-bench-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * sync(1): push the previous phase's dirty pages, deletes and discards to the
 * disk before the next timed phase starts, so that one phase does not pay for
 * another's writeback. Called outside timed sections only.
 */
export function syncDisks(): void {
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // No sync(1) here: the interleaving of rounds still spreads the noise evenly.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface Target {
  /** e.g. `ratio >= 0.80` or `< 5 ms`. */
  text: string;
  pass: boolean;
}

export interface Row {
  /** What was measured, e.g. `cycle/s, fsync`. */
  name: string;
  unit: string;
  /** The switchboard's figure (median over rounds). */
  value: number;
  /** The floor's figure, measured in the same run (median over rounds). */
  floor?: number;
  /** value / floor: the median of the per-round ratios where there are rounds. */
  ratio?: number;
  target?: Target;
  /** Per-round figures, for the JSON. */
  rounds?: { value: number[]; floor?: number[]; ratio?: number[] };
}

interface Section {
  title: string;
  notes: string[];
  rows: Row[];
}

function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** A benchmark's report: printed section by section as results come in. */
export class Report {
  private readonly sections: Section[] = [];
  private readonly settings: Record<string, string | number> = {};
  private readonly started = Date.now();

  constructor(readonly name: string) {}

  setting(key: string, value: string | number): void {
    this.settings[key] = value;
  }

  printHeader(): void {
    console.log(`\n=== ${this.name} benchmark ===`);
    for (const [key, value] of Object.entries(this.settings)) console.log(`  ${key}: ${value}`);
  }

  section(title: string, notes: readonly string[] = []): void {
    this.sections.push({ title, notes: [...notes], rows: [] });
    console.log(`\n--- ${title}`);
    for (const note of notes) console.log(`    ${note}`);
  }

  note(text: string): void {
    this.current().notes.push(text);
    console.log(`    ${text}`);
  }

  row(row: Row): void {
    this.current().rows.push(row);
    const unit = row.unit ? ` ${row.unit}` : '';
    const cells = [
      `  ${row.name.padEnd(40)}`,
      `${formatNumber(row.value).padStart(9)}${unit.padEnd(5)}`,
      row.floor === undefined ? ''.padEnd(20) : `floor ${formatNumber(row.floor).padStart(9)}${unit.padEnd(5)}`,
      row.ratio === undefined ? ''.padEnd(12) : `ratio ${formatNumber(row.ratio).padStart(5)}`,
      row.target === undefined ? '' : `target ${row.target.text.padEnd(14)} ${row.target.pass ? 'PASS' : 'FAIL'}`,
    ];
    console.log(cells.join('  ').trimEnd());
  }

  failures(): Row[] {
    return this.sections.flatMap((section) => section.rows.filter((row) => row.target !== undefined && !row.target.pass));
  }

  /** Print the summary and write the JSON (BENCH_RESULT_FILE from run.ts, else BENCH_JSON). */
  async finish(): Promise<void> {
    const targets = this.sections.flatMap((section) => section.rows.filter((row) => row.target !== undefined));
    const failed = this.failures();
    const seconds = ((Date.now() - this.started) / 1000).toFixed(0);
    console.log(`\n${this.name}: ${targets.length - failed.length} of ${targets.length} targets met in ${seconds} s`);
    for (const row of failed) console.log(`  FAIL ${row.name}: ${formatNumber(row.value)} ${row.unit}, target ${row.target?.text}`);
    const path = process.env.BENCH_RESULT_FILE ?? process.env.BENCH_JSON;
    if (path) {
      const json = { benchmark: this.name, finishedAt: new Date().toISOString(), seconds: Number(seconds), settings: this.settings, sections: this.sections };
      await writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
    }
  }

  private current(): Section {
    const section = this.sections.at(-1);
    if (!section) throw new Error('Report.section() must come first');
    return section;
  }
}

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Run `switchyard --home HOME ARGS` to completion: its exit code and its stdout and stderr together. */
export function switchyardCli(home: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--home', home, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}
