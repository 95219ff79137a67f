/**
 * Running the built CLI under the module tracer (test/fixtures/trace-imports.ts):
 * its exit code and what it loaded, for the tests that bound what a command
 * loads (test/cli/startup-imports.test.ts, test/cli/bundle.test.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLES, NO_BUNDLES_ENV } from '../../src/cli/bundles.js';
import { BIN } from './cli.js';

const TRACER = fileURLToPath(new URL('../../dist/test/fixtures/trace-imports.js', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

export interface Traced {
  code: number | null;
  stderr: string;
  /** Every module URL the process resolved or required, as recorded. */
  urls: string[];
  /**
   * The same as names: `pkg:NAME` for a package, the dist/-relative path
   * for ours; a CLI bundle (`src/cli/NAME.bundle.cjs`) with every module
   * its manifest says it holds, since a bundle loads them all; not so a
   * whole-program bundle (`cli`: each module runs when its command needs
   * it), whose modules only an unbundled run shows (`unbundled`).
   */
  loaded: string[];
}

/** Whether the bundle file `name` (`src/cli/NAME.bundle.cjs`) is a whole-program one (src/cli/bundles.ts). */
function whole(name: string): boolean {
  const spec = BUNDLES.find((candidate) => name === `src/cli/${candidate.name}.bundle.cjs`);
  return spec?.whole === true || spec?.runner !== undefined;
}

function moduleName(url: string): string {
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return pkg ? `pkg:${pkg[1]}` : url.replace(/^.*\/dist\//, '');
}

/** The modules a bundle holds, from its manifest beside it. */
function bundled(name: string): string[] {
  const manifest = JSON.parse(readFileSync(join(DIST, name.replace(/\.cjs$/, '.json')), 'utf8')) as { files: Record<string, string> };
  // A package the bundle holds a copy of is listed by its path from dist/ (../node_modules/...): `pkg:NAME`.
  return Object.keys(manifest.files).map(moduleName);
}

/** `switchyard ARGS` under the tracer, in `traceDir`, with `input` on stdin; SWITCHYARD_HOME cleared; `unbundled`: no bundle at all (NO_BUNDLES_ENV). */
export async function tracedCli(traceDir: string, args: readonly string[], input?: string, unbundled = false): Promise<Traced> {
  const traceFile = join(traceDir, `${Math.random().toString(36).slice(2)}.txt`);
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_TRACE_IMPORTS: traceFile, ...(unbundled ? { [NO_BUNDLES_ENV]: '1' } : {}) };
    delete env.SWITCHYARD_HOME;
    const child = spawn(process.execPath, ['--import', TRACER, BIN, ...args], { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ code: exit, stderr: err }));
    if (input !== undefined) child.stdin!.end(input);
  });
  const text = existsSync(traceFile) ? await readFile(traceFile, 'utf8') : '';
  const urls = [...new Set(text.split('\n').filter((url) => url !== '' && !url.startsWith('node:')))];
  const names = urls.map(moduleName);
  const loaded = names.flatMap((name) => (name.endsWith('.bundle.cjs') && !whole(name) ? [name, ...bundled(name)] : [name]));
  return { code, stderr, urls, loaded: [...new Set(loaded)] };
}
