/** Running the real built `switchyard` binary from tests (`npm test` builds before vitest runs). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Where and as whom to run it: another working directory (the home search), another user (permission errors; the tests run as root). */
export interface CliOptions {
  cwd?: string;
  uid?: number;
  gid?: number;
}

/** Run `switchyard ARGS` to completion, with `input` on stdin; SWITCHYARD_HOME is cleared unless `env` sets it. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, input?: string, options: CliOptions = {}): Promise<CliResult> {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env };
  delete fullEnv.SWITCHYARD_HOME;
  Object.assign(fullEnv, env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: fullEnv, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** `switchyard ARGS` that must succeed: its result, or an error naming the command, its exit code and its stderr. */
export async function runCliOk(args: readonly string[]): Promise<CliResult> {
  const result = await runCli(args);
  if (result.code !== 0) throw new Error(`switchyard ${args.join(' ')}: exit ${result.code}: ${result.stderr}`);
  return result;
}

/**
 * `switchyard ARGS` parsed and run in this process (program.ts run(), what
 * main.ts calls), its stdout and stderr captured, process.exitCode restored
 * after: the CLI layer without a node start-up (~0.3 s of CPU each). Only
 * for calls that read no home and leave no state behind, such as `--help`;
 * each test file that uses it keeps a real run of the same kind (runCli) too.
 * For commands on a home, runHomeCliInProcess below.
 */
export async function runCliInProcess(args: readonly string[]): Promise<CliResult> {
  const { run } = await import('../../src/cli/program.js');
  let stdout = '';
  let stderr = '';
  const capture =
    (append: (text: string) => void) =>
    (chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), done?: (error?: Error | null) => void): boolean => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      (typeof encoding === 'function' ? encoding : done)?.();
      return true;
    };
  const { write: outWrite } = process.stdout;
  const { write: errWrite } = process.stderr;
  const exitCode = process.exitCode;
  process.stdout.write = capture((text) => (stdout += text)) as typeof process.stdout.write;
  process.stderr.write = capture((text) => (stderr += text)) as typeof process.stderr.write;
  try {
    const code = await run([process.execPath, BIN, ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = outWrite;
    process.stderr.write = errWrite;
    process.exitCode = exitCode;
  }
}

/**
 * `switchyard --home HOME ARGS` run in this process like runCliInProcess, for
 * the commands that open the home's store for one piece of work and close it
 * (store-access.ts withStore: lists, members, requests, tokens, queue ...),
 * under the umask main.ts sets (restored after), so files come out as the
 * binary makes them. Exit code, stdout and stderr are what run() gives
 * main.ts, which only sets process.exitCode from it: the same as the binary's
 * for everything but what the process boundary itself does (bundles, stdin,
 * EPIPE, signals). A test file using it keeps real runs (runCli) of each kind
 * of outcome it checks: success output, exit 1, exit 2 and --json errors.
 * Not for commands that read stdin or leave anything running.
 */
export async function runHomeCliInProcess(home: string, args: readonly string[]): Promise<CliResult> {
  const umask = process.umask(0o007);
  try {
    return await runCliInProcess(['--home', home, ...args]);
  } finally {
    process.umask(umask);
  }
}
