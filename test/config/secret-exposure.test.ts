/**
 * A world-readable switchyard.toml holding smtp.password (issue 11 §6): the
 * check on real files and modes, and the warning as `start` gives it, in
 * the foreground master's log (warn level) and in background `start`'s output.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { secretExposureWarning } from '../../src/config/secret-exposure.js';
import { makeHome, removeHome, runCli, startMaster, testConfig, type MasterHandle } from '../master/harness.js';

let dir: string;
let master: MasterHandle | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-secret-'));
});

afterEach(async () => {
  await master?.stop();
  master = undefined;
  await rm(dir, { recursive: true, force: true });
});

const withPassword = configSchema.parse({ smtp: { password: 's3cret' } });
const without = configSchema.parse({});

describe('secretExposureWarning', () => {
  it('warns only when the file holds a secret and every local user can read it (file o+r, home o+x)', async () => {
    const file = join(dir, 'switchyard.toml');
    await writeFile(file, '[smtp]\npassword = "s3cret"\n');
    await chmod(dir, 0o755);
    await chmod(file, 0o644);
    expect(await secretExposureWarning(file, withPassword)).toBe(
      `${file} holds smtp.password and every local user can read it (file 0644, home 0755): chmod 0640 ${file} (and chmod 0750 ${dir})`,
    );
    expect(await secretExposureWarning(file, without)).toBeUndefined();
    await chmod(file, 0o640);
    expect(await secretExposureWarning(file, withPassword)).toBeUndefined();
    await chmod(file, 0o644);
    await chmod(dir, 0o750);
    expect(await secretExposureWarning(file, withPassword)).toBeUndefined();
    expect(await secretExposureWarning(join(dir, 'none.toml'), withPassword)).toBeUndefined();
  });
});

describe('at start', () => {
  async function exposedHome(): Promise<string> {
    const home = await makeHome(testConfig('[smtp]\npassword = "s3cret"\n'));
    await chmod(home, 0o755);
    await chmod(join(home, 'switchyard.toml'), 0o644);
    return home;
  }

  it('the master logs the warning at warn level and starts anyway', async () => {
    const home = await exposedHome();
    try {
      master = await startMaster(home);
      const line = await master.waitForLine((l) => typeof l.msg === 'string' && l.msg.includes('holds smtp.password'), 'the exposure warning');
      expect(line.level).toBe(40);
      expect(line.msg).toContain('chmod 0640');
      await master.stop();
      master = undefined;
    } finally {
      await removeHome(home);
    }
  });

  it('background `start` prints the warning in its own output', async () => {
    const home = await exposedHome();
    try {
      const started = await runCli(['--home', home, 'start']);
      expect(started.code).toBe(0);
      expect(started.stderr).toContain(`switchyard: warning: ${join(home, 'switchyard.toml')} holds smtp.password and every local user can read it`);
      expect(started.stdout).toContain('master started');
      expect((await runCli(['--home', home, 'stop'])).code).toBe(0);
    } finally {
      await removeHome(home);
    }
  });
});
