/**
 * What an operator reads of a real master: its log at start (one ready line
 * naming the LMTP address, ISO-8601 times, one stats line per run), the LAST
 * ERROR of `status` (the reason; "(recovered ...)" once the runner succeeds
 * again), and a queue no runner consumes (`command`, its runner turned off), at start and in
 * `status`. A real master of the built CLI on a temp home.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Switchboard } from '../../queues/index.js';
import { freePort, serverGreeting } from '../support/net.js';
import { builtInRunnersOff, isReadyLine, makeHome, MASTER_WAIT_MS, removeHome, runCli, runnerModule, schedulerOff, startMaster, stopDaemon, testConfig, waitForEntries, type LogLine, type MasterHandle } from './harness.js';

const masters: MasterHandle[] = [];
const homes: string[] = [];

afterEach(async () => {
  for (const handle of masters.splice(0)) await handle.stop();
  for (const dir of homes.splice(0)) await removeHome(dir);
});

async function home(toml: string): Promise<string> {
  const dir = await makeHome(toml);
  homes.push(dir);
  return dir;
}

async function master(dir: string): Promise<MasterHandle> {
  const handle = await startMaster(dir);
  masters.push(handle);
  return handle;
}

/** pino's levels: 30 info, 40 warn, 50 error. */
const INFO = 30;
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('the log of a foreground master', () => {
  it('at start: a handful of info lines, exactly one "switchyard ready" naming the LMTP address; times are ISO-8601; stats are one info line per run', async () => {
    const lmtpPort = await freePort();
    const smtpPort = await freePort();
    // The built-in runners as shipped, at the level operators run (info), with stats every second.
    const dir = await home(
      `[logging]\ndestination = "stdout"\nlevel = "info"\n\n[master]\nstartTimeout = "120s"\n\n[lmtp]\nport = ${lmtpPort}\n\n[smtp]\nport = ${smtpPort}\n\n[cron]\nstats = "* * * * * *"\n\n[http]\nenabled = false\n`,
    );
    const m = await master(dir);
    // The stats lines (every second here) are checked below: on a loaded machine the first may come before this look.
    const atStart = m.lines.filter((line) => typeof line.level === 'number' && line.level >= INFO && !String(line.msg).startsWith('stats: '));
    const ready = atStart.filter(isReadyLine);
    expect(ready).toHaveLength(1);
    expect(ready[0]!.msg).toMatch(new RegExp(`^switchyard ready: \\d+ runner processes, lmtp on 127\\.0\\.0\\.1:${lmtpPort}, home ${escape(dir)}$`));
    expect(ready[0]).toMatchObject({ lmtp: `127.0.0.1:${lmtpPort}`, home: dir });
    // Eight processes start; their ready lines are debug. Left at info: the ready line and the LMTP listener's
    // (what the start found, such as whether the smarthost answers, is part of the ready line; a smarthost
    // that does not answer, as here, is a warning of its own).
    const infoOnly = atStart.filter((line) => line.level === INFO);
    expect(infoOnly.map((line) => line.msg), 'info lines at start').toHaveLength(infoOnly.filter((line) => line.msg === 'LMTP runner listening').length + 1);
    expect(atStart.filter((line) => line.level !== INFO).every((line) => /smarthost/.test(String(line.msg))), 'warnings at start').toBe(true);
    expect(infoOnly.length).toBeLessThanOrEqual(3);
    for (const line of m.lines) {
      expect(line.time, JSON.stringify(line)).toMatch(ISO_8601);
      expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
    }

    // A stats run before any counter moved: one info line, the processes' own counters only at debug (not logged at info).
    const first = await m.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('stats: '), 'a stats line');
    expect(first.msg).toMatch(/^stats: 9\/9 processes running, 0 processed, 0 failed, 0 in flight; waiting: none$/);
    // Once a counter moves (an LMTP session here), the line says so: what the site did, not only what waits.
    // The run that says it is a later one than the first: the check of per-process lines below spans two runs or more.
    await serverGreeting(lmtpPort);
    const counting = await m.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('stats: ') && line.msg.includes('; counted: '), 'a stats line with counters');
    expect(counting.msg).toMatch(/; waiting: none; counted: lmtp sessions 1$/);
    expect(counting).toMatchObject({ counters: { lmtpSessions: 1 } });
    expect(m.lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('stats: ')).length).toBeGreaterThanOrEqual(2);
    expect(m.lines.filter((line) => typeof line.msg === 'string' && /^stats \S+ \d+\/\d+$/.test(line.msg))).toEqual([]);
    const stopped = await m.stop();
    expect(stopped.code).toBe(0);
  });
});

describe('status', () => {
  it('LAST ERROR gives the reason, and once the runner succeeds again "(recovered ...)" with the error kept whole in --json', async () => {
    // Only the fixture runner whose errors status shows: the built-in runners and the scheduler take no part.
    const dir = await home(testConfig(`[runner.picky]\nmodule = "${runnerModule('picky')}"\nqueue = "picky"\n\n${builtInRunnersOff()}\n${schedulerOff()}`));
    const m = await master(dir);
    const picky = new Switchboard({ root: join(dir, 'queues'), name: 'picky' });
    const failing = await picky.enqueue('fail', {});
    await waitForEntries(dir, 'shunt', 1);
    const failed = await m.statusWhen((s) => s.runners.some((r) => r.name === 'picky' && r.lastErrorInfo !== null && r.lastErrorInfo !== undefined), 'the error in status');
    const info = failed.runners.find((r) => r.name === 'picky')!.lastErrorInfo!;
    expect(info).toMatchObject({ entry: failing, recoveredAt: null, successesSince: 0 });
    expect(info.reason).toBe('Error: refused: fail, as this test runner refuses every entry that says so');
    const shown = await runCli(['--home', dir, 'status'], { COLUMNS: '500' });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`\\npicky +0/1 .* Error: refused: fail, as this test runner refuses every entry that says so \\(\\d+s ago, entry ${escape(failing)}\\)\\n`));

    await picky.enqueue('fine', {});
    await waitForEntries(dir, 'done', 1);
    const recovered = await m.statusWhen((s) => s.runners.find((r) => r.name === 'picky')?.lastErrorInfo?.recoveredAt != null, 'the recovery in status');
    const after = recovered.runners.find((r) => r.name === 'picky')!.lastErrorInfo!;
    expect(after).toMatchObject({ entry: failing, reason: info.reason, successesSince: 1 });
    expect(Date.parse(after.recoveredAt!)).toBeGreaterThanOrEqual(Date.parse(after.at));
    const again = await runCli(['--home', dir, 'status'], { COLUMNS: '500' });
    expect(again.stdout).toMatch(/\npicky +0\/1 .* \(recovered \d+s ago\) Error: refused: fail/);
  });

  it('entries waiting in `command` with its runner turned off: a warning at start (log and `start`), "no runner for queue command" in status, exit 4', async () => {
    const smtpPort = await freePort();
    // The other built-in runners and the scheduler off too: what is checked is the queue nobody takes from, not them.
    const dir = await home(
      `[runner.lmtp]\nenabled = false\n\n[http]\nenabled = false\n\n[runner.command]\nenabled = false\n\n[smtp]\nport = ${smtpPort}\n\n[master]\nstartTimeout = "120s"\n\n${builtInRunnersOff(['command'])}\n${schedulerOff()}`,
    );
    const command = new Switchboard({ root: join(dir, 'queues'), name: 'command' });
    await command.enqueue('Subject: subscribe\r\n\r\n', { listId: 'dev@lists.example.org', command: 'join' });
    await command.enqueue('Subject: help\r\n\r\n', { listId: 'dev@lists.example.org', command: 'request' });

    const start = await runCli(['--home', dir, 'start']);
    try {
      expect(start.code, start.stderr).toBe(0);
      expect(start.stdout).toMatch(/^switchyard: master started/);
      const problem = 'no runner for queue command: 2 entries waiting that nothing takes (configure a runner with queue = "command", or move them with `switchyard queue move`)';
      expect(start.stderr).toBe(`switchyard: warning: ${problem}\n`);

      const status = await runCli(['--home', dir, 'status']);
      expect(status.code).toBe(4);
      expect(status.stdout.startsWith(`${problem}\n`)).toBe(true);
      expect(status.stdout).toMatch(/\ncommand +2 +NO RUNNER: nothing takes these\n/);
      const json = JSON.parse((await runCli(['--home', dir, 'status', '--json'])).stdout) as { healthy: boolean; problems: string[]; unconsumed: Array<{ queue: string; waiting: number }> };
      expect(json.healthy).toBe(false);
      expect(json.problems).toEqual([problem]);
      expect(json.unconsumed).toContainEqual({ queue: 'command', waiting: 2 });
      // The master's own log says it at start too, at warn level.
      const { readFile } = await import('node:fs/promises');
      const log = (await readFile(join(dir, 'logs', 'master.log'), 'utf8')).trim().split('\n').map((text) => JSON.parse(text) as LogLine);
      expect(log.filter((line) => line.level === 40 && line.msg === problem)).toHaveLength(1);
      expect(log.filter(isReadyLine)).toHaveLength(1);
      expect(log.filter(isReadyLine)[0]!.msg).toContain('no lmtp listener');
    } finally {
      await stopDaemon(dir);
    }
  }, MASTER_WAIT_MS + 60_000);
});
