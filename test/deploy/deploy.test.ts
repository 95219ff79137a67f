/**
 * The files in deploy/: the systemd unit and the logrotate snippet. Their
 * structure is always checked (and against each other and the config
 * defaults); where the tools are installed (CI installs the Debian packages
 * systemd and logrotate) they also pass `systemd-analyze verify`, and the
 * logrotate snippet really rotates a temp copy of the logs directory and
 * runs its postrotate `switchyard reopen` exactly once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/duration.js';
import { configSchema } from '../../src/config/schema.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UNIT = join(ROOT, 'deploy/systemd/switchyard.service');
const LOGROTATE = join(ROOT, 'deploy/logrotate/switchyard');
const HOME = '/var/lib/switchyard';

function which(tool: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** A systemd unit file as sections of key -> values (keys may repeat); comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!pair || !current) throw new Error(`line ${index + 1} is neither a section, a key=value nor a comment: ${raw}`);
    current.set(pair[1]!, [...(current.get(pair[1]!) ?? []), pair[2]!]);
  }
  return sections;
}

function one(section: Map<string, string[]> | undefined, key: string): string | undefined {
  const values = section?.get(key);
  expect(values, `${key} is set once`).toHaveLength(1);
  return values?.[0];
}

describe('deploy/systemd/switchyard.service', () => {
  it('runs the master in the foreground as the switchyard user, and stops and reloads it as the master expects', async () => {
    const unit = parseUnit(await readFile(UNIT, 'utf8'));
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    const service = unit.get('Service');
    expect(one(service, 'Type')).toBe('simple');
    expect(one(service, 'ExecStart')).toBe(`/usr/bin/env switchyard --home ${HOME} start --foreground`);
    expect(one(service, 'User')).toBe('switchyard');
    expect(one(service, 'Group')).toBe('switchyard');
    expect(one(service, 'UMask')).toBe('0007');
    expect(one(service, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one(service, 'KillSignal')).toBe('SIGTERM');
    // Only the master gets TERM; the runners get it from the master, after which a second TERM would abort their entries.
    expect(one(service, 'KillMode')).toBe('mixed');
    expect(one(service, 'Restart')).toBe('on-failure');
    // systemd must not SIGKILL the master while it still waits, as configured, for busy runners.
    const stopTimeout = configSchema.parse({}).master.stopTimeout;
    expect(parseDuration(`${one(service, 'TimeoutStopSec')}s`)).toBeGreaterThan(stopTimeout);
    expect(one(unit.get('Install'), 'WantedBy')).toBe('multi-user.target');
  });

  it('is hardened, yet may write its home directory', async () => {
    const service = parseUnit(await readFile(UNIT, 'utf8')).get('Service');
    expect(one(service, 'NoNewPrivileges')).toBe('yes');
    expect(one(service, 'ProtectSystem')).toBe('strict');
    expect(one(service, 'PrivateTmp')).toBe('yes');
    expect(one(service, 'ProtectHome')).toBe('yes');
    expect(one(service, 'ReadWritePaths')?.split(/\s+/)).toContain(HOME);
    expect(`/var/lib/${one(service, 'StateDirectory')}`).toBe(HOME);
    // V8 needs writable+executable memory for its JIT.
    expect(service?.has('MemoryDenyWriteExecute')).toBe(false);
    expect(one(service, 'RestrictAddressFamilies')?.split(/\s+/)).toContain('AF_UNIX');
  });

  const analyze = which('systemd-analyze');
  it.runIf(analyze !== undefined)('passes systemd-analyze verify without a warning about it', () => {
    const result = spawnSync(analyze!, ['verify', UNIT], { encoding: 'utf8' });
    const output = `${result.stdout}${result.stderr}`;
    expect(output.split('\n').filter((line) => line.includes('switchyard.service'))).toEqual([]);
    expect(result.status).toBe(0);
  });
});

describe('deploy/logrotate/switchyard', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-logrotate-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The snippet's directives (words before `{` ... `}`), its path pattern and its postrotate script. */
  function parseSnippet(text: string): { pattern: string; directives: string[]; postrotate: string[] } {
    const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
    const open = lines.findIndex((line) => line.endsWith('{'));
    expect(open, 'a block opens').toBeGreaterThanOrEqual(0);
    expect(lines[lines.length - 1]).toBe('}');
    const body = lines.slice(open + 1, -1);
    const start = body.indexOf('postrotate');
    const end = body.indexOf('endscript');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    return {
      pattern: lines[open]!.slice(0, -1).trim(),
      directives: [...body.slice(0, start), ...body.slice(end + 1)],
      postrotate: body.slice(start + 1, end),
    };
  }

  it('rotates the logs directory of the service home daily, keeping 14, and reopens them with `switchyard reopen`', async () => {
    const snippet = parseSnippet(await readFile(LOGROTATE, 'utf8'));
    expect(snippet.pattern).toBe(`${HOME}/logs/*.log`);
    for (const directive of ['daily', 'rotate 14', 'compress', 'delaycompress', 'missingok', 'notifempty', 'sharedscripts', 'su switchyard switchyard']) {
      expect(snippet.directives).toContain(directive);
    }
    // Renaming plus reopen, never copytruncate (which loses the lines written during the copy).
    expect(snippet.directives).not.toContain('copytruncate');
    expect(snippet.postrotate).toEqual([`/usr/bin/env switchyard --home ${HOME} reopen >/dev/null 2>&1 || true`]);
    const unit = parseUnit(await readFile(UNIT, 'utf8'));
    expect(one(unit.get('Service'), 'ExecStart')).toContain(`--home ${HOME} `);
  });

  const logrotate = which('logrotate');
  it.runIf(logrotate !== undefined)('logrotate accepts it, renames the logs, compresses the older ones and runs reopen once', async () => {
    // The same snippet on a temp home, as the current user (the switchyard user need not exist here).
    const me = userInfo().username;
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    const home = join(dir, 'home');
    const logs = join(home, 'logs');
    await mkdir(logs, { recursive: true, mode: 0o750 });
    const config = join(dir, 'logrotate.conf');
    const text = (await readFile(LOGROTATE, 'utf8')).replaceAll(HOME, home).replace('su switchyard switchyard', `su ${me} ${group}`);
    await writeFile(config, text, { mode: 0o644 });
    // A stand-in `switchyard` on PATH records how the postrotate script calls it.
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'switchyard'), `#!/bin/sh\necho "$@" >> ${join(dir, 'calls')}\n`);
    await chmod(join(bin, 'switchyard'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const state = join(dir, 'state');

    const debug = spawnSync(logrotate!, ['-d', '-s', state, config], { encoding: 'utf8', env });
    expect(`${debug.stdout}${debug.stderr}`).not.toMatch(/^error:/m);
    expect(debug.status).toBe(0);

    const rotate = async (): Promise<void> => {
      for (const name of ['master.log', 'out-0of2.log']) await writeFile(join(logs, name), `a line of ${name}\n`);
      const run = spawnSync(logrotate!, ['-f', '-s', state, config], { encoding: 'utf8', env });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    };
    await rotate();
    expect((await readdir(logs)).sort()).toEqual(['master.log.1', 'out-0of2.log.1']);
    await rotate();
    expect((await readdir(logs)).sort()).toEqual(['master.log.1', 'master.log.2.gz', 'out-0of2.log.1', 'out-0of2.log.2.gz']);
    // sharedscripts: one reopen per rotation, however many files.
    expect((await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n')).toEqual([`--home ${home} reopen`, `--home ${home} reopen`]);
    expect(existsSync(join(logs, 'master.log'))).toBe(false);
  });
});
