/**
 * Loading switchyard.toml (real files in a temp directory) and `switchyard
 * config show` as operators run it: the built binary in a child process.
 * Assumes `tsc` has run (`npm test` does).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toToml } from 'smol-toml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configSections, runnerOptionsSections, runnerSection } from '../../src/config/knobs.js';


let home: string;
let file: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sy-config-'));
  file = join(home, 'switchyard.toml');
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const cli = runCli;

async function loadError(toml: string): Promise<ConfigError> {
  await writeFile(file, toml);
  const error = await loadConfig(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

const allKnobs = () => [
  ...configSections().flatMap((s) => s.knobs.map((k) => `${s.name}.${k.key}`)),
  ...runnerSection().knobs.map((k) => `runner.NAME.${k.key}`),
  ...runnerOptionsSections().flatMap((s) => s.knobs.map((k) => `${s.name}.${k.key}`)),
];

describe('loading switchyard.toml', () => {
  it('without a file, the embedded defaults serve and the built-in runners are resolved', async () => {
    const loaded = await loadConfig(file);
    expect(loaded.fromFile).toBe(false);
    expect(loaded.config.master.stopTimeout).toBe(30_000);
    expect(loaded.config.master.maxRestarts).toBe(5);
    expect(loaded.config.queues.umask).toBe(0o007);
    expect(loaded.runners.map((r) => r.name)).toContain('retry');
  });

  it('a built-in runner starts with its own defaults (outgoing: concurrency 4), and the file overrides them key by key', async () => {
    const outgoing = (await loadConfig(file)).runners.find((r) => r.name === 'outgoing')!;
    expect(outgoing).toMatchObject({ queue: 'out', concurrency: 4, watchdogTimeout: 1_800_000, instances: 1 });
    await writeFile(file, '[runner.outgoing]\nconcurrency = 2\ninstances = 2\n');
    const tuned = (await loadConfig(file)).runners.find((r) => r.name === 'outgoing')!;
    expect(tuned).toMatchObject({ concurrency: 2, instances: 2, watchdogTimeout: 1_800_000 });
    expect((await loadConfig(file)).runners.find((r) => r.name === 'retry')!.concurrency).toBe(1);
  });

  it('[http] enabled (the default) runs the http service; false leaves it out, as [runner.http] enabled = false does', async () => {
    await writeFile(file, '');
    const defaults = await loadConfig(file);
    expect(defaults.config.http).toMatchObject({ enabled: true, listen: '127.0.0.1', port: 8025, trustProxy: false });
    expect(defaults.runners.find((r) => r.name === 'http')).toMatchObject({ kind: 'service' });
    await writeFile(file, '[http]\nenabled = false\n');
    expect((await loadConfig(file)).runners.map((r) => r.name)).not.toContain('http');
    await writeFile(file, '[runner.http]\nenabled = false\n');
    expect((await loadConfig(file)).runners.map((r) => r.name)).not.toContain('http');
  });

  it.each([
    ['instances that are not a power of two', '[runner.retry]\ninstances = 3\n', ['runner.retry.instances', 'power of two']],
    ['a negative maxRestarts', '[master]\nmaxRestarts = -1\n', ['master.maxRestarts', '>=1']],
    ['a duration without a unit', '[master]\nstopTimeout = "soon"\n', ['master.stopTimeout', 'invalid duration "soon"', 'e.g. 30s']],
    ['an unknown key', '[master]\nstopTimeOut = "30s"\n', ['master.stopTimeOut: unknown setting']],
    ['a TOML syntax error', '[master]\nstopTimeout = \n', ['TOML syntax error at line 2']],
    ['a bad cron expression', '[cron]\nstats = "bogus"\n', ['cron.stats', 'not a valid cron expression']],
    ['an lmtp.mtaAddresses entry that is no address', '[lmtp]\nmtaAddresses = ["127.0.0.1", "mta.example.org"]\n', ['lmtp.mtaAddresses', 'not an IP address or CIDR block']],
    ['an lmtp.reservedClients that leaves no slot for other clients', '[lmtp]\nmaxClients = 5\nreservedClients = 5\n', ['lmtp.reservedClients', 'must be below maxClients (5)']],
    ['an http.baseUrl that is not an http(s) URL', '[http]\nbaseUrl = "lists.example.org"\n', ['http.baseUrl', 'an absolute http(s) URL']],
    ['an http.port out of range', '[http]\nport = 70000\n', ['http.port', '<=65535']],
    ['a runner with neither module nor built-in name', '[runner.digest]\ninstances = 2\n', ['runner.digest', 'no built-in runner', 'module =']],
  ])('%s is a ConfigError naming the file, the key and the problem', async (_what, toml, expected) => {
    const error = await loadError(toml);
    expect(error.code).toBe('SY_CONFIG');
    expect(error.message.startsWith(`${file}: `)).toBe(true);
    for (const text of expected) expect(error.message).toContain(text);
  });

  it('reports every problem of a file at once', async () => {
    const error = await loadError('[master]\nmaxRestarts = -1\nstopTimeout = "soon"\n[runner.retry]\ninstances = 3\n');
    expect(error.problems).toHaveLength(3);
    for (const key of ['master.maxRestarts', 'master.stopTimeout', 'runner.retry.instances']) expect(error.message).toContain(`\n  ${key}: `);
  });
});

describe('runner and service options are part of the schema', () => {
  it('a typo or a bad value in a built-in runner\'s options table is a ConfigError naming the key, even for a disabled runner', async () => {
    const error = await loadError(
      '[runner.incoming.options]\nparseMaxSiz = 5\nparseTimeout = "soon"\n[runner.outgoing.options]\nbatch = 3\n[runner.archive]\nenabled = false\n[runner.archive.options]\nx = 1\n',
    );
    expect(error.problems.sort()).toEqual([
      'runner.archive.options.x: unknown setting (see `switchyard config show`)',
      'runner.incoming.options.parseMaxSiz: unknown setting (see `switchyard config show`)',
      expect.stringMatching(/^runner\.incoming\.options\.parseTimeout: invalid duration "soon"/),
      'runner.outgoing.options.batch: unknown setting (see `switchyard config show`)',
    ]);
  });

  it('a runner from another module keeps its options to itself: they are not checked by the schema', async () => {
    await writeFile(file, '[runner.out]\nmodule = "./out.js"\n[runner.out.options]\nbatch = 5\n[runner.incoming]\nmodule = "./my-incoming.js"\n[runner.incoming.options]\nmine = true\n');
    const loaded = await loadConfig(file);
    expect(loaded.runners.find((r) => r.name === 'incoming')?.options).toEqual({ mine: true });
  });

  it('`config show` and `start` refuse an options typo with exit 1 naming the key; nothing is started', async () => {
    await writeFile(file, '[runner.incoming.options]\nmaxHop = 10\n');
    for (const args of [['config', 'show'], ['start']]) {
      const result = await cli(['--home', home, ...args]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toContain(`${file}: runner.incoming.options.maxHop: unknown setting`);
    }
    expect((await cli(['--home', home, 'status'])).code).toBe(3);
  });

  it('`config show` lists every option of each built-in runner with its value and default, and --json the effective options', async () => {
    await writeFile(file, '[runner.incoming.options]\nparseTimeout = 30\n');
    const shown = await cli(['--home', home, 'config', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('[runner.incoming.options]\nparseMaxSize = 10485760  # messages larger than this many bytes');
    expect(shown.stdout).toContain('parseTimeout = "30s"  # a mailparser run longer than this fails its entry to shunt (a MIME bomb costs one entry) (default "10s")\n');
    expect(shown.stdout).toContain('maxHops = 25  #');
    expect(shown.stdout).toContain('maxFromAddresses = 10  #');
    expect(shown.stdout).toContain('# [runner.outgoing.options]: outgoing takes no options');
    expect(shown.stdout).not.toMatch(/\[runner\.incoming\][^[]*\noptions = /);
    const json = JSON.parse((await cli(['--home', home, 'config', 'show', '--json'])).stdout) as { runner: Record<string, { options: unknown }> };
    expect(json.runner.incoming!.options).toEqual({ parseMaxSize: 10485760, parseTimeout: '30s', maxHops: 25, maxFromAddresses: 10 });
    expect(json.runner.outgoing!.options).toEqual({});
  });
});

describe('switchyard config show', () => {
  it('prints every knob of the schema with its effective value, default and description', async () => {
    const { code, stdout, stderr } = await cli(['--home', home, 'config', 'show']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('embedded defaults');
    expect(stdout).toContain('[master]\nstartTimeout = "30s"  # `switchyard start` fails if a runner still starting reports no progress for this long (default "30s")\n');
    expect(stdout).toContain('umask = "007"  # process umask');
    expect(stdout).toMatch(/\[runner\.retry\]\nenabled = true {2}# start this runner at all \(default true\)\ninstances = 1 /);
    for (const section of configSections()) {
      expect(stdout).toContain(`# ${section.description}\n[${section.name}]\n`);
      // A knob with no default and no value (store.path) is shown commented out.
      for (const knob of section.knobs) expect(stdout).toMatch(new RegExp(`\n(# )?${knob.key} =`));
    }
  });

  it('shows values from the file beside their defaults, and --defaults ignores the file', async () => {
    await writeFile(file, '[master]\nstopTimeout = 90\n[retry]\nmaxDelay = "1d12h"\n[runner.retry]\ninstances = 2\n');
    const shown = await cli(['--home', home, 'config', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.stdout.split('\n')[0]).toBe(`# ${file}`);
    expect(shown.stdout).toContain('stopTimeout = "90s"  # runners still busy this long after TERM');
    expect(shown.stdout).toContain('(default "30s")');
    expect(shown.stdout).toContain('maxDelay = "36h"');
    expect(shown.stdout).toMatch(/\[runner\.retry\][^[]*\ninstances = 2 /);
    const defaults = await cli(['--home', home, 'config', 'show', '--defaults']);
    expect(defaults.stdout).toContain('stopTimeout = "30s"');
    expect(defaults.stdout).toMatch(/\[runner\.retry\][^[]*\ninstances = 1 /);
  });

  it('never prints a password, in the table or in --json, but shows that one is set', async () => {
    await writeFile(file, '[smtp]\nuser = "relay"\npassword = "hunter2-secret"\n');
    const shown = await cli(['--home', home, 'config', 'show']);
    const json = await cli(['--home', home, 'config', 'show', '--json']);
    for (const output of [shown.stdout, json.stdout]) {
      expect(output).not.toContain('hunter2-secret');
      expect(output).toMatch(/"?password"? ?[=:] "\*{8}"/);
      expect(output).toContain('relay');
    }
  });

  it('--json prints the effective values shaped like the file, and written back as TOML they load the same', async () => {
    await writeFile(file, '[master]\nrestartWindow = "2m"\n[queues]\numask = "027"\n[runner.retry]\nenabled = false\n[runner.out]\nmodule = "./out.js"\n[runner.out.options]\nbatch = 5\n');
    const first = await cli(['--home', home, 'config', 'show', '--json']);
    expect(first.code).toBe(0);
    const values = JSON.parse(first.stdout) as Record<string, Record<string, unknown>>;
    expect(values.master?.restartWindow).toBe('2m');
    expect(values.master?.stopTimeout).toBe('30s');
    expect(values.queues?.umask).toBe('027');
    expect(values.runner?.out).toMatchObject({ module: join(home, 'out.js'), queue: 'out', instances: 1, options: { batch: 5 } });
    expect(values.runner?.retry).toMatchObject({ enabled: false });
    expect(Object.keys(values)).toEqual([...configSections().map((s) => s.name), 'runner']);

    await writeFile(file, toToml(values));
    const again = await cli(['--home', home, 'config', 'show', '--json']);
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout)).toEqual(values);
  });

  it('a bad file: exit 1 and the ConfigError message on stderr', async () => {
    await writeFile(file, '[runner.retry]\ninstances = 3\n');
    const { code, stdout, stderr } = await cli(['--home', home, 'config', 'show']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`switchyard: SY_CONFIG: ${file}: runner.retry.instances: must be a power of two`);
  });

  it('--markdown prints the reference table: one row per knob with its default and description', async () => {
    const { code, stdout } = await cli(['config', 'show', '--markdown']);
    expect(code).toBe(0);
    const rows = stdout.trimEnd().split('\n');
    expect(rows[0]).toBe('| Key | Default | Description |');
    expect(rows.slice(2).map((row) => /^\| `([^`]+)` \|/.exec(row)?.[1])).toEqual(allKnobs());
    expect(stdout).toContain('| `master.stopTimeout` | `"30s"` | runners still busy this long after TERM are killed');
    expect(stdout).toContain('| `runner.NAME.queue` |  | queue consumed; default: the runner name |');
  });
});
