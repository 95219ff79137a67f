import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Spool, Switchboard } from '../../queues/index.js';
import type { StatusReport } from '../../src/master/protocol.js';
import { builtInRunnersOff, isAlive, makeHome, removeHome, runCli, runnerModule, schedulerOff, startMaster, testConfig, waitForEntries, type MasterHandle } from './harness.js';

const masters: MasterHandle[] = [];
const homes: string[] = [];

async function home(toml: string): Promise<string> {
  const dir = await makeHome(toml);
  homes.push(dir);
  return dir;
}

async function master(dir: string, args: string[] = []): Promise<MasterHandle> {
  const handle = await startMaster(dir, args);
  masters.push(handle);
  return handle;
}

afterEach(async () => {
  for (const handle of masters.splice(0)) await handle.stop();
  for (const dir of homes.splice(0)) await removeHome(dir);
});

function relay(name: string, queue: string, to: string, instances = 1, extra = ''): string {
  return `[runner.${name}]\nmodule = "${runnerModule('relay')}"\nqueue = "${queue}"\ninstances = ${instances}\n${extra}\n[runner.${name}.options]\nto = "${to}"\n`;
}

function gate(options: string, runnerExtra = '', name = 'gate', queue = 'gated'): string {
  return `[runner.${name}]\nmodule = "${runnerModule('gate')}"\nqueue = "${queue}"\n${runnerExtra}\n[runner.${name}.options]\n${options}\n`;
}

/** The attempts the gate runners of `dir` recorded for entry `id` (all of them write to one file). */
async function attemptsOf(dir: string, id: string): Promise<string[]> {
  return (await readFile(join(dir, 'attempts'), 'utf8'))
    .trim()
    .split('\n')
    .filter((line) => line.startsWith(`${id} `));
}

async function enqueue(dir: string, queue: string, count: number): Promise<string[]> {
  const switchboard = new Switchboard({ root: join(dir, 'queues'), name: queue });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await switchboard.enqueue(`Subject: ${i}\r\n\r\nbody ${i}\r\n`, { seq: i }));
  return ids;
}

async function filesIn(dir: string, suffix: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(join(path, entry.name));
      else if (entry.name.endsWith(suffix)) found.push(join(path, entry.name));
    }
  };
  await walk(join(dir, 'queues'));
  return found;
}

describe('master: checks that share one master (4 hop slices and retry)', () => {
  // A master start is several node processes loading their modules: these checks leave the master
  // serving as they found it, so they take turns on one. The restart check comes next to last (it
  // restarts every runner), the stop check last (it stops the master).
  // A stop timeout no loaded machine reaches: at the stop, the runners must stop by themselves, never be killed for it.
  let dir: string;
  let m: MasterHandle;
  beforeAll(async () => {
    dir = await makeHome(testConfig(`${relay('hop', 'q1', 'done', 4, 'concurrency = 4')}\n${builtInRunnersOff(['retry'])}\n${schedulerOff()}`, { stopTimeout: '"100s"' }));
    m = await startMaster(dir);
  });
  afterAll(async () => {
    await m?.stop();
    if (dir !== undefined) await removeHome(dir);
  });

  it('starts every configured runner x slice, each owning its slice, and they process the queue', async () => {
    const status = await m.status();
    const hops = status.runners.filter((r) => r.name === 'hop');
    expect(hops.map((r) => r.slice).sort()).toEqual([0, 1, 2, 3]);
    expect(hops.every((r) => r.numSlices === 4 && r.state === 'running' && r.pid !== null && isAlive(r.pid))).toBe(true);
    expect(new Set(hops.map((r) => r.pid)).size).toBe(4);
    expect(status.runners.some((r) => r.name === 'retry' && r.state === 'running')).toBe(true);
    expect(status.master.pid).toBe(m.child.pid);

    await enqueue(dir, 'q1', 40);
    const done = await waitForEntries(dir, 'done', 40);
    expect(done).toHaveLength(40);
    const after = await m.status();
    expect(after.runners.filter((r) => r.name === 'hop').reduce((sum, r) => sum + r.processed, 0)).toBe(40);
    expect(after.queues.q1).toBe(0);
    expect(after.queues.done).toBe(40);
  });

  it('refuses a second master on the same spool, naming the running one', async () => {
    const second = await runCli(['--home', dir, 'start', '--foreground']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(String(m.child.pid));
    expect((await m.status()).master.pid).toBe(m.child.pid);
  });

  it('USR1 (switchyard restart) restarts every runner at once, without counting a crash', async () => {
    const before = (await m.status()).runners;
    const ups = Promise.all(before.map((r) => m.nextLine((line) => line.msg === 'runner up' && line.runner === r.name && line.slice === r.slice && line.runnerPid !== r.pid)));
    const restart = await runCli(['--home', dir, 'restart']);
    expect(restart.code).toBe(0);
    await ups;
    const after = (await m.status()).runners;
    for (const runner of after) {
      const old = before.find((r) => r.name === runner.name && r.slice === runner.slice)!;
      expect(runner.pid).not.toBe(old.pid);
      expect(runner.restarts).toBe(1);
      expect(runner.state).toBe('running');
      expect(runner.lastError).toBeNull();
    }
  });

  it('SIGTERM stops every runner within the timeout, finishing entries in flight: nothing lost, no .bak left', async () => {
    const pids = (await m.status()).runners.map((r) => r.pid!);
    const settled = m.nextLine((line) => line.msg === 'entry settled', 'some progress');
    const ids = await enqueue(dir, 'q1', 300);
    await settled;
    const fromStop = m.lines.length;
    const { code } = await m.stop();
    expect(code).toBe(0);
    const stopLines = m.lines.slice(fromStop);
    // Stopped by themselves after finishing their entries, not killed at the stop timeout.
    expect(m.lines.filter((line) => typeof line.msg === 'string' && line.msg.includes('after TERM: killed'))).toEqual([]);
    expect(stopLines.filter((line) => line.msg === 'runner stopped (exited with code 0)')).toHaveLength(pids.length);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(await filesIn(dir, '.bak')).toEqual([]);
    const spool = new Spool({ root: join(dir, 'queues') });
    const left = (await spool.count('q1')).pck;
    const done = (await spool.count('done')).pck;
    // The 40 entries of the first check are in done too.
    expect(left + done).toBe(ids.length + 40);
    expect(existsSync(join(dir, 'master.lock'))).toBe(false);
    expect(existsSync(join(dir, 'master.sock'))).toBe(false);
  });
});

describe('master: supervision checks that share one master (a crash loop, a gate, a stuck gate and retry)', () => {
  // Each check watches a runner of its own (its restarts, its entries, its log lines), which the others leave
  // alone: they take turns on one master rather than start one each. The crash loop runs from the start; the
  // SIGKILL check goes before the watchdog one, whose entry is held (.bak) until the watchdog kills its runner.
  let dir: string;
  let m: MasterHandle;
  beforeAll(async () => {
    const loop = `[runner.loop]\nmodule = "${runnerModule('crash-after-ready')}"\nqueue = "q1"\n`;
    const held = gate('to = "done"');
    const stuck = gate('to = "done2"\nneverProgress = true\nholdOnlyFirstAttempt = true', 'watchdogTimeout = "1s"', 'stuck', 'stuckq');
    dir = await makeHome(testConfig(`${loop}\n${held}\n${stuck}\n${builtInRunnersOff(['retry'])}\n${schedulerOff()}`, { maxRestarts: 3, restartWindow: '"1m"' }));
    m = await startMaster(dir);
  });
  afterAll(async () => {
    await m?.stop();
    if (dir !== undefined) await removeHome(dir);
  });

  it('stops restarting a crash-looping runner; status says it failed, flags it, exits 4, and the log says it at error level', async () => {
    const fatal = await m.waitForLine((line) => typeof line.msg === 'string' && line.msg.includes('NOT restarting'), 'crash-loop verdict');
    expect(fatal.msg).toContain('crashed 3 times');
    expect(fatal.msg).toContain('loop');
    expect(fatal.level).toBe(50);
    const loop = (await m.status()).runners.find((r) => r.name === 'loop')!;
    expect(loop.state).toBe('failed');
    expect(loop.pid).toBeNull();
    expect(loop.restarts).toBe(2);
    expect(loop.lastError).toMatch(/failed: crashed 3 times/);
    const { code, stdout } = await runCli(['--home', dir, 'status']);
    expect(code).toBe(4);
    expect(stdout).toMatch(/loop.*failed/);
    expect(stdout.split('\n')[0]).toBe('1 runner FAILED:');
    expect(stdout).toContain('loop 0/1 FAILED');
    const json = await runCli(['--home', dir, 'status', '--json']);
    expect(json.code).toBe(4);
    const report = JSON.parse(json.stdout) as { healthy: boolean; problems: string[] };
    expect(report.healthy).toBe(false);
    expect(report.problems).toEqual([expect.stringMatching(/^loop 0\/1 FAILED.*crashed 3 times/)]);
    // The other runners are unaffected.
    const others = (await m.status()).runners.filter((r) => r.name !== 'loop');
    expect(others.map((r) => r.name).sort()).toEqual(['gate', 'retry', 'stuck']);
    expect(others.every((r) => r.state === 'running' && r.restarts === 0)).toBe(true);
  });

  it('restarts a runner killed with SIGKILL, and the entry it held is processed again', async () => {
    const [id] = await enqueue(dir, 'gated', 1);
    await m.waitForLine((line) => line.runner === 'gate' && line.entry === id, 'the entry is dequeued');
    const before = (await m.status()).runners.find((r) => r.name === 'gate')!;
    const restarted = m.nextLine((line) => line.msg === 'runner up' && line.runner === 'gate' && line.runnerPid !== before.pid);
    process.kill(before.pid!, 'SIGKILL');
    await restarted;
    await writeFile(join(dir, 'gate'), '');
    const done = await waitForEntries(dir, 'done', 1);
    expect(done[0]!.endsWith(id!.split('+')[1]!)).toBe(true);
    expect(await attemptsOf(dir, id!)).toEqual([`${id} 0`, `${id} 1`]);
    const after = (await m.status()).runners.find((r) => r.name === 'gate')!;
    expect(after.restarts).toBe(1);
    expect(after.pid).not.toBe(before.pid);
    expect(after.lastError).toMatch(/SIGKILL/);
    expect(await filesIn(dir, '.bak')).toEqual([]);
  });

  it('the watchdog kills a runner holding an entry without progress, and the entry is recovered', async () => {
    const [id] = await enqueue(dir, 'stuckq', 1);
    const verdict = await m.waitForLine((line) => line.runner === 'stuck' && typeof line.msg === 'string' && line.msg.includes('no progress'), 'watchdog');
    expect(verdict.watchdogTimeout).toBe(1000);
    const done = await waitForEntries(dir, 'done2', 1);
    expect(done).toHaveLength(1);
    expect(await attemptsOf(dir, id!)).toEqual([`${id} 0`, `${id} 1`]);
    const stuckStatus = (await m.status()).runners.find((r) => r.name === 'stuck')!;
    expect(stuckStatus.restarts).toBe(1);
    expect(stuckStatus.lastError).toMatch(/watchdog/);
  });
});

describe('master', () => {
  it('a slow start that reports progress is waited for past startTimeout; one silent for startTimeout fails, saying what it was doing', async () => {
    // Only this runner, so the machine's load does not decide the outcome.
    const others = `${builtInRunnersOff()}\n${schedulerOff()}`;
    const slow = (options: string) => `${others}\n[runner.slow]\nmodule = "${runnerModule('slow-start')}"\nqueue = "q1"\n\n[runner.slow.options]\n${options}\n`;
    // Five steps of 1 s: 5 s of starting, past the 4 s start timeout, each step well inside it.
    const patient = await home(testConfig(slow('steps = 5\nstepMs = 1000'), { startTimeout: '"4s"' }));
    // The failed start stops the stuck runner, which sleeps through its TERM (it never reaches its loop) and is
    // killed at stopTimeout: 1 s, not testConfig's 10 s, which this test would otherwise wait out.
    const stuck = await home(testConfig(slow('steps = 2\nstepMs = 100\nsilentMs = 60000'), { startTimeout: '"4s"', stopTimeout: '"1s"' }));
    // The two homes are independent: both starts run at once (their waits are timers, not CPU).
    const patientStart = async (): Promise<void> => {
      const m = await master(patient);
      expect((await m.status()).runners.find((r) => r.name === 'slow')!.state).toBe('running');
      await m.stop();
    };
    const [, { code, stderr }] = await Promise.all([patientStart(), runCli(['--home', stuck, 'start'])]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no progress for 4000 ms \(master.startTimeout\) from slow 0\/1 \(starting: waiting on something that never answers\)/);
    expect(existsSync(join(stuck, 'master.lock'))).toBe(false);
  });


  it('takes over the lock of a master killed with SIGKILL, and its runners do not outlive it', async () => {
    const dir = await home(testConfig(`${relay('hop', 'q1', 'done', 2)}\n${builtInRunnersOff()}\n${schedulerOff()}`));
    const first = await master(dir);
    const runnerPids = (await first.status()).runners.map((r) => r.pid!);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(join(dir, 'master.lock'))).toBe(true);
    const second = await master(dir);
    const status = await second.status();
    expect(status.master.pid).toBe(second.child.pid);
    for (const pid of runnerPids) expect(isAlive(pid)).toBe(false);
    await enqueue(dir, 'q1', 5);
    expect(await waitForEntries(dir, 'done', 5)).toHaveLength(5);
  });

  it('a stop never shunts the entry in flight: past the stop timeout it stays .bak and is recovered next start', async () => {
    const dir = await home(testConfig(`${gate('to = "done"')}\n${builtInRunnersOff()}\n${schedulerOff()}`, { stopTimeout: '"1s"' }));
    const m = await master(dir);
    const [id] = await enqueue(dir, 'gated', 1);
    await m.waitForLine((line) => line.runner === 'gate' && line.entry === id, 'the entry is held');
    const { code } = await m.stop();
    expect(code).toBe(0);
    const spool = new Spool({ root: join(dir, 'queues') });
    expect((await spool.count('shunt')).pck).toBe(0);
    expect((await spool.count('gated')).bak).toBe(1);
    await writeFile(join(dir, 'gate'), '');
    await master(dir);
    const done = await waitForEntries(dir, 'done', 1);
    expect(done).toHaveLength(1);
    expect((await readFile(join(dir, 'attempts'), 'utf8')).trim().split('\n')).toEqual([`${id} 0`, `${id} 1`]);
  });

  it('fails to start with a clear reason when a runner module is broken', async () => {
    // One other runner (retry) that the failed start has to stop again; the rest of the built-in ones only add start-up work.
    const dir = await home(testConfig(`[runner.broken]\nmodule = "${runnerModule('broken-module')}"\nqueue = "q1"\n\n${builtInRunnersOff(['retry'])}\n${schedulerOff()}`));
    const result = await runCli(['--home', dir, 'start', '--foreground']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/broken.*no default export extending Runner/);
    expect(existsSync(join(dir, 'master.lock'))).toBe(false);
  });

  it('a home directory too long for its control socket is refused with the reason, and no lock is left behind', async () => {
    const base = await home(testConfig(''));
    const deep = join(base, 'x'.repeat(60), 'y'.repeat(40));
    await mkdir(deep, { recursive: true });
    const result = await runCli(['--home', deep, 'start', '--foreground']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/control socket .*master\.sock is \d+ bytes long; unix sockets allow 107: use a shorter home directory/);
    expect(existsSync(join(deep, 'master.lock'))).toBe(false);
  });

  it('bad configuration and a missing home directory give clear errors', async () => {
    const dir = await home('[master]\nmaxRestarts = -1\n[runner.retry]\ninstances = 3\n');
    const bad = await runCli(['--home', dir, 'start', '--foreground']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('master.maxRestarts');
    expect(bad.stderr).toContain('runner.retry.instances');
    expect(bad.stderr).toMatch(/power of two/);
    const missing = await runCli(['--home', join(dir, 'nope'), 'start', '--foreground']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/SY_HOME_MISSING: no switchyard home at .*nope: pass --home/);
  });
});

describe('master: heartbeats and the periodic tasks, on one master (hop and the scheduler)', () => {
  // The scheduler's tasks run every second from the start and leave the runners alone; the heartbeat check then
  // stops and restarts hop: they take turns on one master rather than start one each.
  let dir: string;
  let m: MasterHandle;
  let stale: string;
  beforeAll(async () => {
    // tempMaxAge is the default 1 h: the stale file below is older, a live writer's temp file never is.
    dir = await makeHome(
      `${testConfig(`${relay('hop', 'q1', 'done')}\n${builtInRunnersOff()}`)}\n[watchdog]\nheartbeatInterval = "100ms"\nheartbeatTimeout = "3s"\n\n[cron]\nstats = "* * * * * *"\ntempCleanup = "* * * * * *"\n\n[queues]\ntempMaxAge = "1h"\n`,
    );
    // A temp file a crashed writer left two hours ago, in a queue no runner consumes.
    stale = join(dir, 'queues', 'parked', 'ab', '1700000000.000000+ab00000000000000000000000000000000000000.pck.0123456789ab.tmp');
    await mkdir(join(stale, '..'), { recursive: true });
    await writeFile(stale, 'partial');
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(stale, old, old);
    m = await startMaster(dir);
  });
  afterAll(async () => {
    await m?.stop();
    if (dir !== undefined) await removeHome(dir);
  });

  it('node-cron runs the configured tasks: a stats line per runner, and stale temp files removed', async () => {
    const stats = await m.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('stats hop'), 'stats line');
    expect(stats.stats).toMatchObject({ name: 'hop', slice: 0, state: 'running' });
    const cleaned = await m.waitForLine((line) => line.msg === 'removed temp files left by crashed writers', 'temp cleanup');
    expect(cleaned.removed).toBe(1);
    expect(existsSync(stale)).toBe(false);
  });

  it('a runner that stops sending heartbeats (SIGSTOP while idle) is killed and restarted, the reason in status --json', async () => {
    const before = (await m.status()).runners.find((r) => r.name === 'hop')!;
    expect(before.state).toBe('running');
    expect(before.restarts).toBe(0);
    const restarted = m.nextLine((line) => line.msg === 'runner up' && line.runner === 'hop' && line.runnerPid !== before.pid, 'the restarted runner');
    process.kill(before.pid!, 'SIGSTOP');
    const verdict = await m.nextLine((line) => line.runner === 'hop' && typeof line.msg === 'string' && line.msg.includes('sent no heartbeat'), 'the heartbeat verdict');
    expect(verdict.level).toBe(50);
    expect(verdict.runnerPid).toBe(before.pid);
    await restarted;
    const { code, stdout } = await runCli(['--home', dir, 'status', '--json']);
    expect(code).toBe(0);
    const hop = (JSON.parse(stdout) as StatusReport).runners.find((r) => r.name === 'hop')!;
    expect(hop.state).toBe('running');
    expect(hop.restarts).toBe(1);
    expect(hop.pid).not.toBe(before.pid);
    expect(hop.lastError).toMatch(/^watchdog: no heartbeat for \d+ ms \(watchdog.heartbeatTimeout 3000 ms\): process stopped or its event loop blocked; killed/);
    expect(isAlive(before.pid!)).toBe(false);
    // The new process serves the slice.
    await enqueue(dir, 'q1', 3);
    expect(await waitForEntries(dir, 'done', 3)).toHaveLength(3);
  });
});

describe('logs', () => {
  it('HUP reopens every log file: after logrotate renames them, new files are written', async () => {
    // One built-in runner (retry) and the scheduler service beside the fixture runner: a file each is what is checked,
    // and the other built-in runners are only more node processes to start (and stop) for it.
    const dir = await home(testConfig(`${relay('hop', 'q1', 'done')}\n${builtInRunnersOff(['retry'])}`).replace('destination = "stdout"', 'destination = "files"'));
    const { code, stdout } = await runCli(['--home', dir, 'start']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/master started \(pid \d+/);
    try {
      const logs = join(dir, 'logs');
      // One file per runner and service process (the built-in ones' too) and the master's.
      expect((await readdir(logs)).sort()).toEqual(['hop-0of1.log', 'master.log', 'retry-0of1.log', 'scheduler-0of1.log']);
      for (const name of ['master.log', 'hop-0of1.log']) await rename(join(logs, name), join(logs, `${name}.1`));
      const { watch } = await import('node:fs');
      const reopened = new Promise<void>((resolve) => {
        const watcher = watch(logs, () => {
          if (existsSync(join(logs, 'master.log')) && existsSync(join(logs, 'hop-0of1.log'))) {
            watcher.close();
            resolve();
          }
        });
      });
      expect((await runCli(['--home', dir, 'reopen'])).code).toBe(0);
      await reopened;
      await enqueue(dir, 'q1', 1);
      await waitForEntries(dir, 'done', 1);
      const { watch: watchFile } = await import('node:fs');
      await new Promise<void>((resolve) => {
        const check = async () => {
          if ((await readFile(join(logs, 'hop-0of1.log'), 'utf8')).includes('entry settled')) {
            watcher.close();
            resolve();
          }
        };
        const watcher = watchFile(join(logs, 'hop-0of1.log'), () => void check());
        void check();
      });
      expect(await readFile(join(logs, 'master.log'), 'utf8')).toContain('log files reopened');
      expect(await readFile(join(logs, 'hop-0of1.log.1'), 'utf8')).toContain('runner ready');
    } finally {
      expect((await runCli(['--home', dir, 'stop'])).code).toBe(0);
    }
    await appendFile(join(dir, 'done-marker'), '');
  });
});
