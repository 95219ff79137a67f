/**
 * The CLI benchmark: how long an operator or an MTA waits for a `switchyard`
 * command, each run as its own process (as a shell runs it), against
 * `node -e ''` measured in the same rounds as the floor of any Node start.
 *
 * - `--help`: the command tree alone (every command pays it);
 * - `inject` of a 4 KiB message, durability fsync, config cache warm (as it
 *   is from the second message on): what every MTA pipe delivery costs;
 * - `bounce-scan FILE` (a Postfix DSN from the corpus);
 * - `status` and `queue count` with a running master (LMTP disabled: no port
 *   is taken), whose runners have created every shard directory.
 *
 * Targets (issue 13 §5): inject p50 < 120 ms; status, queue count,
 * bounce-scan and --help p50 < 200 ms each. On a loaded machine the floor
 * grows too: read the ratio beside the figure.
 *
 *     npm run bench -- cli
 *
 * Scale with BENCH_CLI_RUNS (default 30 rounds). Files: two fresh
 * `switchyard-bench-cli-*` homes, removed at the end (the master is
 * stopped first).
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envInt, freshDir, median, percentile, removeDir, Report, switchyardCli } from './harness.js';

const RUNS = envInt('BENCH_CLI_RUNS', 30);
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const BOUNCE = fileURLToPath(new URL('../../../test/bounce/corpus/dsn-postfix-user-unknown.eml', import.meta.url));
const MESSAGE = Buffer.from(`Subject: bench\r\nFrom: anne@example.net\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(4096, 'y'));
const CONFIG = '[queues]\ndurability = "fsync"\n\n[logging]\ndestination = "files"\nlevel = "warn"\n\n[runner.lmtp]\nenabled = false\n\n[http]\nenabled = false\n';

/** Milliseconds from spawn to exit of `node ARGS`; rejects on an exit code not in `ok`. */
function timed(args: readonly string[], input?: Buffer, ok: readonly number[] = [0]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code !== null && ok.includes(code) ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`))));
    if (input !== undefined) child.stdin!.end(input);
  });
}

interface Measured {
  name: string;
  target?: number;
  args: readonly string[];
  input?: Buffer;
  /** Exit codes that count as a run (status says 4 when the master runs but needs an operator). */
  ok?: readonly number[];
  values: number[];
}

/** RUNS rounds, each the floor then every command once, so load changes hit all alike. */
async function rounds(commands: Measured[]): Promise<number[]> {
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push(await timed(['-e', '']));
    for (const command of commands) command.values.push(await timed(command.args, command.input, command.ok));
  }
  return floor;
}

function print(commands: readonly Measured[], floor: readonly number[]): void {
  const floorP50 = median(floor);
  for (const command of commands) {
    const p50 = median(command.values);
    report.row({
      name: `${command.name} p50`,
      unit: 'ms',
      value: p50,
      floor: floorP50,
      ratio: p50 / floorP50,
      ...(command.target === undefined ? {} : { target: { text: `< ${command.target} ms`, pass: p50 < command.target } }),
      rounds: { value: command.values, floor: [...floor] },
    });
    report.row({ name: `${command.name} p90`, unit: 'ms', value: percentile(command.values, 90) });
  }
}

async function cli(home: string, ...args: string[]): Promise<void> {
  const { code, output } = await switchyardCli(home, ...args);
  if (code !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${code}: ${output}`);
}

const report = new Report('cli');
report.setting('rounds', RUNS);
report.setting('inject message', `${MESSAGE.length} bytes, durability fsync`);
report.printHeader();

const home = await freshDir('cli');
const statusHome = await freshDir('cli');
let masterStarted = false;
try {
  await writeFile(join(home, 'switchyard.toml'), CONFIG);
  await cli(home, 'lists', 'create', 'bench@lists.example.org');
  // The first inject validates the configuration and caches it; an MTA's pipe sees the cached case from then on.
  const inject: Measured = { name: 'inject 4 KiB', target: 120, args: [MAIN, 'inject', '--home', home, '--recipient', 'bench@lists.example.org'], input: MESSAGE, values: [] };
  await timed(inject.args, inject.input);
  const commands: Measured[] = [
    { name: '--help', target: 200, args: [MAIN, '--help'], values: [] },
    inject,
    { name: 'bounce-scan FILE', target: 200, args: [MAIN, '--home', home, 'bounce-scan', BOUNCE], values: [] },
  ];
  report.section('commands without a master (p50 over rounds)', ["floor: node -e '' in the same rounds"]);
  print(commands, await rounds(commands));

  await writeFile(join(statusHome, 'switchyard.toml'), CONFIG);
  await cli(statusHome, 'start');
  masterStarted = true;
  // queue count here too: the runners have created every shard directory, as on a real spool, and count lists them all.
  const status: Measured[] = [
    { name: 'status', target: 200, args: [MAIN, '--home', statusHome, 'status'], ok: [0, 4], values: [] },
    { name: 'queue count', target: 200, args: [MAIN, '--home', statusHome, 'queue', 'count'], values: [] },
  ];
  report.section('with a running master (p50 over rounds)', ["floor: node -e '' in the same rounds", 'runners idle, LMTP disabled; every shard directory exists']);
  print(status, await rounds(status));
} finally {
  if (masterStarted) await cli(statusHome, 'stop');
  await removeDir(home);
  await removeDir(statusHome);
}
await report.finish();
