/**
 * What each command loads (issue 13 §5, "fast commands"): the built CLI run
 * with a module-resolution tracer (test/fixtures/trace-imports.ts). Module
 * loading was most of every command's time, so a static import that drags
 * zod, the store or pino back into `--help` or `inject` fails here, by
 * name, instead of only slowing `npm run bench -- cli` down. No timing is
 * asserted (that is the bench's job).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tracedCli, type Traced } from '../support/traced-cli.js';

const LIST = 'startup@lists.example.org';
const MESSAGE = 'From: anne@example.net\nSubject: startup\n\nbody\n';

let home: string;
let traces: string;

/** Run the CLI under the tracer: its exit code and the packages and own modules it loaded (a bundle's modules included). */
const traced = (args: readonly string[], input?: string): Promise<Traced> => tracedCli(traces, args, input);

/**
 * The same without bundles: every command but inject runs from the `cli`
 * bundle, whose modules each run when their command needs them, which the
 * tracer cannot see inside one file; the unbundled modules show which of
 * ours a command loads (the bundle runs those, and require()s a package
 * when the first module importing it runs: checked below too).
 */
const tracedUnbundled = (args: readonly string[]): Promise<Traced> => tracedCli(traces, args, undefined, true);

function heavy(loaded: readonly string[], names: readonly string[]): string[] {
  return loaded.filter((module) => names.some((name) => module === `pkg:${name}` || module.startsWith(name)));
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-startup-'));
  traces = await mkdtemp(join(tmpdir(), 'switchyard-traces-'));
  // No switchyard.toml: the embedded defaults, which the first inject caches at once (no racy window for an absent file).
  const created = await runCli(['--home', home, 'lists', 'create', LIST]);
  expect(created.code, created.stderr).toBe(0);
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
  await rm(traces, { recursive: true, force: true });
});

describe('what a command loads', () => {
  it('the tracer sees what a command that needs the store and zod loads (so the checks below can fail)', async () => {
    const { code, loaded } = await tracedUnbundled(['--home', home, 'lists', 'list']);
    expect(code).toBe(0);
    expect(loaded).toEqual(expect.arrayContaining(['pkg:zod', 'pkg:better-sqlite3', 'pkg:commander', 'src/cli/lists-command.js']));
    // From the bundle: the packages, as the command's modules run.
    const bundled = await traced(['--home', home, 'lists', 'list']);
    expect(bundled.code).toBe(0);
    expect(bundled.loaded).toEqual(expect.arrayContaining(['pkg:zod', 'pkg:better-sqlite3', 'pkg:commander', 'src/cli/cli.bundle.cjs']));
  });

  it('--help loads commander and the command table only: no command module, store, configuration or logging', async () => {
    const { code, loaded } = await tracedUnbundled(['--help']);
    expect(code).toBe(0);
    expect(heavy(loaded, ['zod', 'better-sqlite3', 'pino', 'mailparser', 'nodemailer', 'smol-toml', 'node-cron', 'src/store', 'src/config', 'queues/', 'src/cli/lists-command.js', 'src/cli/queue-command.js', 'src/cli/master-commands.js'])).toEqual([]);
    const bundled = await traced(['--help']);
    expect(bundled.code).toBe(0);
    expect(bundled.loaded).toContain('src/cli/cli.bundle.cjs');
    expect(heavy(bundled.loaded, ['zod', 'better-sqlite3', 'pino', 'mailparser', 'nodemailer', 'smol-toml', 'node-cron'])).toEqual([]);
  });

  it('status and queue count load neither zod nor the store', async () => {
    const status = await tracedUnbundled(['--home', home, 'status']);
    expect(status.code, status.stderr).toBe(3); // no master runs here
    expect(heavy(status.loaded, ['zod', 'better-sqlite3', 'pino', 'mailparser', 'src/store', 'src/config/schema.js'])).toEqual([]);
    const count = await tracedUnbundled(['--home', home, 'queue', 'count']);
    expect(count.code, count.stderr).toBe(0);
    expect(heavy(count.loaded, ['zod', 'better-sqlite3', 'pino', 'mailparser', 'src/store', 'src/config/schema.js'])).toEqual([]);
    const bundled = await traced(['--home', home, 'queue', 'count']);
    expect(bundled.code, bundled.stderr).toBe(0);
    expect(bundled.loaded).toContain('src/cli/cli.bundle.cjs');
    expect(heavy(bundled.loaded, ['zod', 'better-sqlite3', 'pino', 'mailparser'])).toEqual([]);
  });

  it('inject with the configuration cached loads no zod, commander, pino or TOML parser, and queues the message', async () => {
    const first = await traced(['inject', '--home', home, '--recipient', LIST], MESSAGE);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(home, 'config-cache.json'))).toBe(true);
    const second = await traced(['inject', '--home', home, '--recipient', LIST], MESSAGE);
    expect(second.code, second.stderr).toBe(0);
    // From its bundle (test/cli/bundle.test.ts): the bundle and, through its manifest, the modules it holds.
    expect(second.loaded).toEqual(expect.arrayContaining(['pkg:better-sqlite3', 'src/cli/inject.bundle.cjs', 'src/cli/inject.js', 'src/config/config-cache.js']));
    expect(heavy(second.loaded, ['zod', 'commander', 'pino', 'smol-toml', 'node-cron', 'mailparser', 'nodemailer', 'src/config/load.js', 'src/store/list-settings.js', 'src/store/index.js'])).toEqual([]);
    const count = await runCli(['--home', home, 'queue', 'count', '--json']);
    expect(JSON.parse(count.stdout)).toMatchObject({ queues: expect.arrayContaining([{ queue: 'in', pck: 2, bak: 0, psv: 0 }]) });
  });
});
