/**
 * The home directory as operators meet it (issue 13 §2, issue 11 §6): the
 * search order, only `start` creating a home (0750), every other command
 * refusing a missing one, "not found" errors naming the home looked in, and
 * permission errors saying whose home it is. The built binary in child
 * processes; the permission test runs it as `nobody` (the suite runs as root).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findHome, SYSTEM_HOME } from '../../src/home.js';
import { runCli } from '../support/cli.js';

const HOME_MODULE = fileURLToPath(new URL('../../dist/src/home.js', import.meta.url));
const NOBODY = 65534;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-home-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the search order', () => {
  it('--home, then SWITCHYARD_HOME, then ./var when it exists, then the system home when it exists, else ./var', async () => {
    const cwd = join(dir, 'cwd');
    const system = join(dir, 'system');
    await mkdir(cwd);
    const where = { cwd, systemHome: system };
    expect(findHome('h', { SWITCHYARD_HOME: '/env' }, where)).toEqual({ home: join(cwd, 'h'), source: '--home' });
    expect(findHome(undefined, { SWITCHYARD_HOME: '/env' }, where)).toEqual({ home: '/env', source: 'SWITCHYARD_HOME' });
    expect(findHome(undefined, {}, where)).toEqual({ home: join(cwd, 'var'), source: 'default' });
    await mkdir(system);
    expect(findHome(undefined, {}, where)).toEqual({ home: system, source: SYSTEM_HOME });
    await mkdir(join(cwd, 'var'));
    expect(findHome(undefined, { SWITCHYARD_HOME: '' }, where)).toEqual({ home: join(cwd, 'var'), source: './var' });
  });

  it('a command run where ./var exists uses it without --home', async () => {
    const home = join(dir, 'var');
    await mkdir(home);
    await writeFile(join(home, 'switchyard.toml'), '[mta]\npostmapCommand = ""\n');
    expect((await runCli(['--home', home, 'lists', 'create', 'dev@example.org'])).code).toBe(0);
    const listed = await runCli(['lists', 'list'], {}, undefined, { cwd: dir });
    expect(listed.stdout).toContain('dev@example.org');
    expect(listed.code).toBe(0);
  });
});

describe('only start creates a home', () => {
  it.each([
    [['lists', 'list']],
    [['members', 'add', 'dev@example.org', 'anne@example.org']],
    [['held', 'list', 'dev@example.org']],
    [['bounces', 'dev@example.org']],
    [['queue', 'count']],
    [['status']],
    [['stop']],
    [['config', 'show']],
    [['aliases']],
  ])('`%s` refuses a home that does not exist (exit 1), naming it, and creates nothing', async (args) => {
    const missing = join(dir, 'missing');
    for (const how of [['--home', missing], []]) {
      const result = await runCli([...how, ...args], how.length === 0 ? { SWITCHYARD_HOME: missing } : {});
      expect(result.code, how.join(' ')).toBe(1);
      expect(result.stderr).toBe(`switchyard: SY_HOME_MISSING: no switchyard home at ${missing}: pass --home or set SWITCHYARD_HOME\n`);
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('inject with no home exits 75 (the MTA keeps the mail) and creates nothing', async () => {
    const missing = join(dir, 'missing');
    const result = await runCli(['--home', missing, 'inject', '--list', 'dev@example.org'], {}, 'Subject: x\n\nbody\n');
    expect(result.code).toBe(75);
    expect(result.stderr).toContain(`switchyard inject: SY_HOME_MISSING: temporary failure, the MTA will retry: no switchyard home at ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });

  it('start creates the default ./var with mode 0750, whatever the umask', async () => {
    const script = `import { ensureHome } from ${JSON.stringify(HOME_MODULE)}; process.umask(0); await ensureHome(${JSON.stringify(join(dir, 'var'))});`;
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: dir });
    expect((await stat(join(dir, 'var'))).mode & 0o777).toBe(0o750);
  });
});

describe('errors that name the home', () => {
  it('an unknown list, member or queue entry says which home was looked in', async () => {
    await writeFile(join(dir, 'switchyard.toml'), '[mta]\npostmapCommand = ""\n');
    expect((await runCli(['--home', dir, 'lists', 'create', 'dev@example.org'])).code).toBe(0);
    const list = await runCli(['--home', dir, 'lists', 'show', 'nope@example.org']);
    expect(list.stderr).toContain(`no list nope@example.org (\`switchyard lists list\` shows them); looked in the home ${dir}`);
    const member = await runCli(['--home', dir, 'members', 'remove', 'dev@example.org', 'anne@example.org']);
    expect(member.code).toBe(1);
    expect(member.stderr).toContain(`looked in the home ${dir}`);
    const entry = await runCli(['--home', dir, 'queue', 'show', '1700000000.000000+0000000000000000000000000000000000000000']);
    expect(entry.code).toBe(1);
    expect(entry.stderr).toContain(`looked in the home ${dir}`);
  });

  it('permission denied says whose home it is and as whom to run, not a bare EACCES', async () => {
    await writeFile(join(dir, 'switchyard.toml'), '[mta]\npostmapCommand = ""\n');
    expect((await runCli(['--home', dir, 'lists', 'create', 'dev@example.org'])).code).toBe(0);
    // As installed: the home 0750, the configuration 0640, owned by root here (the test's user).
    await chmod(dir, 0o750);
    await chmod(join(dir, 'switchyard.toml'), 0o640);
    const asNobody = { uid: NOBODY, gid: NOBODY };
    const listed = await runCli(['--home', dir, 'lists', 'list'], {}, undefined, asNobody);
    expect(listed.code).toBe(1);
    expect(listed.stderr).not.toContain('EACCES: permission denied, open');
    expect(listed.stderr).toContain(`switchyard: SY_HOME_ACCESS: permission denied on ${join(dir, 'switchyard.toml')} (EACCES): the home ${dir} belongs to root, and this command runs as nobody; run it as that user (sudo -u root switchyard ...)`);
    const injected = await runCli(['--home', dir, 'inject', '--list', 'dev@example.org'], {}, 'Subject: x\n\nbody\n', asNobody);
    expect(injected.code).toBe(75);
    expect(injected.stderr).toMatch(/SY_HOME_ACCESS: temporary failure, the MTA will retry: permission denied on .*\(EACCES\): the home/);
    // The configuration readable, the store not: SQLite's own error is translated too.
    await chmod(dir, 0o755);
    await chmod(join(dir, 'switchyard.toml'), 0o644);
    await chmod(join(dir, 'switchyard.db'), 0o600);
    const store = await runCli(['--home', dir, 'members', 'list', 'dev@example.org'], {}, undefined, asNobody);
    expect(store.code).toBe(1);
    expect(store.stderr).toContain(`switchyard: SY_HOME_ACCESS: permission denied on ${join(dir, 'switchyard.db')} (SQLITE_CANTOPEN)`);
  });
});
