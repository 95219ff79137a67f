/**
 * A restart never takes the server down on an invalid switchyard.toml: a real
 * master (the built CLI, foreground, temp home) is asked to restart, by
 * `switchyard restart` and by SIGUSR1, after the file was broken. It refuses,
 * its runners keep their pids, and `status` says why; a runner that crashes
 * meanwhile is restarted on the configuration the master validated, not on
 * the broken file. `config show` says when
 * the file differs from what the master runs, with both values.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/master/protocol.js';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, isAlive, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, type MasterHandle } from './harness.js';

const masters: MasterHandle[] = [];
const homes: string[] = [];

afterEach(async () => {
  for (const handle of masters.splice(0)) await handle.stop();
  for (const dir of homes.splice(0)) await removeHome(dir);
});

/** The config of a master with the built-in runners in `keep` (the others and the scheduler off: each is seconds of module loading on a loaded machine, at every start and restart); the smarthost a closed loopback port (the start's check is then quick). */
function configKeeping(smtpPort: number, keep: readonly string[]): string {
  return testConfig(`[smtp]\nport = ${smtpPort}\n\n${builtInRunnersOff(keep)}\n${schedulerOff()}`);
}

/** A master of its own for one test, stopped and removed after it. */
async function running(smtpPort: number, keep: readonly string[]): Promise<{ dir: string; m: MasterHandle; toml: string }> {
  const toml = configKeeping(smtpPort, keep);
  const dir = await makeHome(toml);
  homes.push(dir);
  const m = await startMaster(dir);
  masters.push(m);
  return { dir, m, toml };
}

function pids(report: StatusReport): Record<string, number | null> {
  return Object.fromEntries(report.runners.map((r) => [`${r.name} ${r.slice}`, r.pid]));
}

const INVALID = '\n[queues]\ndurability = "sometimes"\n';

/**
 * One master for the checks that leave it running the file they found, in this order: the refused
 * change of runners (restarts still 0), the invalid file (ending with the restart that goes
 * through) and `config show` (ending with a restart). A master start is several node processes
 * loading their modules: they take turns on one. Each restart's check compares pids with the
 * status it read first, so the restarts before it do not matter.
 */
describe('one master asked to restart', () => {
  let port: number;
  let dir: string;
  let m: MasterHandle;
  let toml: string;
  beforeAll(async () => {
    port = await freePort();
    toml = configKeeping(port, ['retry', 'outgoing']);
    dir = await makeHome(toml);
    m = await startMaster(dir);
  });
  afterAll(async () => {
    await m?.stop();
    if (dir !== undefined) await removeHome(dir);
  });

  describe('restart with a valid file that changes which runners run', () => {
    it('is refused (exit 1) naming the keys: only a master start applies them; the runners keep their pids', async () => {
      const before = await m.status();
      await writeFile(join(dir, 'switchyard.toml'), `${toml}\n[runner.outgoing]\nenabled = false\n`);
      const refused = await runCli(['--home', dir, 'restart']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('not restarting: runner.outgoing.enabled');
      expect(refused.stderr).toContain('changed: which runners run and their slices change only when the master starts (`switchyard stop`, then `switchyard start`)');
      const after = await m.status();
      expect(pids(after)).toEqual(pids(before));
      expect(after.runners.every((r) => r.state === 'running' && r.restarts === 0)).toBe(true);
      expect(after.healthy).toBe(true);
      // Left as found for the next check: the file the master runs.
      await writeFile(join(dir, 'switchyard.toml'), toml);
    }, 120_000);
  });

  describe('restart with an invalid switchyard.toml', () => {
    it('`switchyard restart` exits 1 with the error, the runners keep their pids, status says the previous configuration runs (exit 4); fixed, the restart goes through', async () => {
      const before = await m.status();
      await appendFile(join(dir, 'switchyard.toml'), INVALID);

      const refused = await runCli(['--home', dir, 'restart']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('not restarting: configuration in switchyard.toml is invalid');
      expect(refused.stderr).toContain('queues.durability');
      expect(refused.stdout).not.toContain('restarting (');

      const json = await runCli(['--home', dir, 'restart', '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ restarted: false, pid: before.master.pid });

      const after = await m.status();
      expect(pids(after)).toEqual(pids(before));
      for (const runner of after.runners) {
        expect(runner.state).toBe('running');
        expect(runner.restarts).toBe(0);
        expect(isAlive(runner.pid!)).toBe(true);
      }
      expect(m.lines.some((line) => line.msg === 'runner restarting on request')).toBe(false);

      // The master itself is asked too (a CLI that skipped its own check, or a file broken in between).
      await writeFile(join(dir, 'switchyard.toml'), toml + INVALID);
      const { requestRestart } = await import('../../src/master/status-client.js');
      const reply = await requestRestart(join(dir, 'master.sock'));
      expect(reply.ok).toBe(false);
      const status = await runCli(['--home', dir, 'status']);
      expect(status.code).toBe(4);
      expect(status.stdout).toMatch(/^1 problem:\n {2}configuration in switchyard\.toml is invalid, running the previous one: .*queues\.durability/);
      const statusJson = JSON.parse((await runCli(['--home', dir, 'status', '--json'])).stdout) as StatusReport;
      expect(statusJson.healthy).toBe(false);
      expect(statusJson.config?.problem).toMatch(/^configuration in switchyard\.toml is invalid, running the previous one: /);
      expect(pids(await m.status())).toEqual(pids(before));

      await writeFile(join(dir, 'switchyard.toml'), toml);
      const ups = Promise.all(before.runners.map((r) => m.nextLine((line) => line.msg === 'runner up' && line.runner === r.name && line.runnerPid !== r.pid, `${r.name} restarted`)));
      const ok = await runCli(['--home', dir, 'restart']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`switchyard: runners restarting (${before.runners.length} processes, master pid ${before.master.pid})`);
      await ups;
      const restarted = await m.status();
      for (const runner of restarted.runners) expect(runner.pid).not.toBe(pids(before)[`${runner.name} ${runner.slice}`]);
      expect(restarted.healthy).toBe(true);
      expect(restarted.config?.problem).toBeNull();
    }, 120_000);
  });

  describe('config show beside a running master', () => {
    it('says the master runs an older configuration and shows both values of each key that differs; after a restart it does not', async () => {
      const pid = (await m.status()).master.pid;

      const same = await runCli(['--home', dir, 'config', 'show', '--json']);
      expect(same.code).toBe(0);
      expect(JSON.parse(same.stdout).$master).toEqual({ pid, upToDate: true });
      expect((await runCli(['--home', dir, 'config', 'show'])).stdout).not.toContain('older configuration');

      await writeFile(join(dir, 'switchyard.toml'), toml.replace(`port = ${port}`, `port = ${port + 1}`));
      const text = await runCli(['--home', dir, 'config', 'show']);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('# the running master uses an older configuration; restart to apply');
      expect(text.stdout).toContain(`#   smtp.port = ${port + 1} in the file; the master (pid ${pid}) runs ${port}`);
      expect(text.stdout).toContain(`\nport = ${port + 1}  #`);
      const json = JSON.parse((await runCli(['--home', dir, 'config', 'show', '--json'])).stdout);
      expect(json.smtp.port).toBe(port + 1);
      expect(json.$master).toMatchObject({ pid, upToDate: false, differences: [{ key: 'smtp.port', file: port + 1, running: port }] });

      expect((await runCli(['--home', dir, 'restart'])).code).toBe(0);
      const after = JSON.parse((await runCli(['--home', dir, 'config', 'show', '--json'])).stdout);
      expect(after.$master).toEqual({ pid, upToDate: true });
    }, 120_000);
  });
});

describe('restart with an invalid switchyard.toml', () => {
  it('SIGUSR1 to the master with an invalid file: refused, logged at error level, the runners left alone', async () => {
    const { dir, m } = await running(await freePort(), ['retry', 'outgoing']);
    const before = await m.status();
    await appendFile(join(dir, 'switchyard.toml'), INVALID);
    const refusal = m.nextLine((line) => typeof line.msg === 'string' && line.msg.startsWith('SIGUSR1: runners NOT restarted'), 'the refusal');
    process.kill(before.master.pid, 'SIGUSR1');
    const line = await refusal;
    expect(line.level).toBe(50);
    expect(line.msg).toContain('configuration in switchyard.toml is invalid, running the previous one:');
    const after = await m.status();
    expect(pids(after)).toEqual(pids(before));
    expect(after.runners.every((r) => r.state === 'running' && r.restarts === 0 && isAlive(r.pid!))).toBe(true);
    expect(after.problems).toContain(after.config?.problem);

    // A runner that crashes meanwhile comes back on the configuration the master validated, not on the broken file.
    const victim = after.runners.find((r) => r.name === 'retry')!;
    const back = m.nextLine((l) => l.msg === 'runner up' && l.runner === 'retry' && l.runnerPid !== victim.pid, 'retry restarted after SIGKILL');
    process.kill(victim.pid!, 'SIGKILL');
    await back;
    const retry = (await m.status()).runners.find((r) => r.name === 'retry')!;
    expect(retry).toMatchObject({ state: 'running', restarts: 1 });
    expect(retry.pid).not.toBe(victim.pid);
  }, 120_000);
});
