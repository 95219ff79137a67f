/**
 * `switchyard start | stop | restart | reopen | status` as operators run them
 * (the built binary in a child process), without a real master: with none at
 * all, with the leftovers of a dead one, and with a stand-in (the lock-holder
 * fixture holding master.lock, and a socket served by this test). Tests of a
 * real master are in test/master/. Assumes `tsc` has run (`npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, runCli, runHomeCliInProcess } from '../support/cli.js';
import { switchyardUser } from '../ingress/harness.js';
import { formatAge, stopReportGraceMs } from '../../src/cli/master-commands.js';
import { MasterNotRunningError } from '../../src/master/errors.js';
import type { RestartReply, StatusReport } from '../../src/master/protocol.js';
import { requestStatus, waitForMasterExit } from '../../src/master/status-client.js';

const HOLDER = fileURLToPath(new URL('../../dist/test/fixtures/lock-holder.js', import.meta.url));

let home: string;
const children: ChildProcess[] = [];
const servers: Server[] = [];

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sy-cli-master-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  await rm(home, { recursive: true, force: true });
});

const cli = runCli;

/**
 * `switchyard --home HOME ARGS` in this process (program.ts run(), what the binary runs: the same exit
 * code, stdout and stderr) without a node start-up (~0.35 s of CPU): for the cases whose kind of outcome
 * a test here also checks through the built binary (cli): each exit code (0, 1, 3, 4), text and --json,
 * and whatever signals or waits on processes (stop, reopen) stay the built binary.
 */
const cliIn = (args: readonly string[]) => runHomeCliInProcess(home, args);

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** A stand-in master holding `<home>/master.lock` (its command line reads `switchyard start`). */
async function standInMaster(): Promise<ChildProcess & { nextLine(): Promise<string> }> {
  const child = spawn(process.execPath, [HOLDER, 'switchyard', 'start', join(home, 'master.lock')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const nextLine = () => new Promise<string>((resolve) => lines.once('line', resolve));
  expect(await nextLine()).toBe(`locked ${child.pid}`);
  return Object.assign(child, { nextLine });
}

/** Serve `<home>/master.sock` as the master would: `status` gets `report`, `restart` gets `restartReply`, `watch` is held open. */
async function fakeSocket(report: StatusReport, restartReply: RestartReply = { ok: true, runners: 3 }): Promise<{ watchers: Set<Socket>; watched: Promise<void> }> {
  const watchers = new Set<Socket>();
  let onWatch: () => void = () => undefined;
  const watched = new Promise<void>((resolve) => (onWatch = resolve));
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    socket.once('data', (line: string) => {
      const request = JSON.parse(line) as { command: string };
      if (request.command === 'status') socket.end(`${JSON.stringify(report)}\n`);
      else if (request.command === 'restart') socket.end(`${JSON.stringify(restartReply)}\n`);
      else {
        watchers.add(socket);
        socket.write('{"ok":true}\n');
        onWatch();
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(join(home, 'master.sock'), resolve));
  return { watchers, watched };
}

const REPORT: StatusReport = {
  master: { pid: 4321, host: 'mail.example', home: '/var/lib/switchyard', startedAt: '2026-11-01T10:00:00.000Z', uptime: 93_784, version: '0.1.0' },
  runners: [
    { name: 'out', kind: 'runner', queue: 'out', slice: 0, numSlices: 2, pid: 5001, state: 'running', uptime: 3_725, restarts: 1, processed: 1200, failed: 3, inFlight: 2, lastError: 'connect ECONNREFUSED 192.0.2.1:25\nat TCPConnectWrap', detail: 'smarthost 192.0.2.1:25 down since 2026-11-02T11:00:00.000Z (ECONNREFUSED); next attempt 2026-11-02T11:05:00.000Z', info: null },
    { name: 'out', kind: 'runner', queue: 'out', slice: 1, numSlices: 2, pid: null, state: 'failed', uptime: null, restarts: 5, processed: 0, failed: 0, inFlight: 0, lastError: 'failed: crashed 5 times within 1m', detail: null, info: null },
    { name: 'lmtp', kind: 'service', queue: null, slice: 0, numSlices: 1, pid: 5003, state: 'running', uptime: 120, restarts: 0, processed: 42, failed: 0, inFlight: 0, lastError: null, detail: 'not listening on 127.0.0.1:8024: EADDRINUSE; next attempt in 4s', info: null },
  ],
  healthy: false,
  problems: ['out 1/2 FAILED, not restarted until `switchyard restart`: failed: crashed 5 times within 1m'],
  queues: { out: 17, bad: 0, in: 2 },
};

const HEALTHY: StatusReport = { ...REPORT, runners: [REPORT.runners[0]!, REPORT.runners[2]!], healthy: true, problems: [] };

describe('with no master running', () => {
  it.each(['status', 'stop', 'restart', 'reopen'])('`%s` exits 3 saying no master is running for the home', async (command) => {
    // `status` through the built binary, the others in this process.
    const { code, stdout, stderr } = command === 'status' ? await cli(['--home', home, command]) : await cliIn([command]);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toBe(`switchyard: SY_MASTER_NOT_RUNNING: no master is running for ${home}\n`);
  });

  it('a lock and a socket left by a master killed outright still mean none is running', async () => {
    const dead = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(join(home, 'master.sock'))}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => createInterface({ input: dead.stdout! }).once('line', resolve));
    dead.kill('SIGKILL');
    await exited(dead);
    expect(existsSync(join(home, 'master.sock'))).toBe(true);
    await writeFile(join(home, 'master.lock'), JSON.stringify({ host: hostname(), pid: dead.pid, startedAt: '2026-01-01T00:00:00.000Z', runners: [] }));

    await expect(requestStatus(join(home, 'master.sock'))).rejects.toBeInstanceOf(MasterNotRunningError);
    const status = await cli(['--home', home, 'status']);
    expect(status.code).toBe(3);
    expect(status.stderr).toContain('no master is running');
    for (const command of ['stop', 'restart', 'reopen']) {
      const result = await cli(['--home', home, command]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`no master is running for ${home} (master.lock names pid ${dead.pid}, which is gone)`);
    }
  });

  it('a lock of another host: stop says to run it there, exit 3', async () => {
    await writeFile(join(home, 'master.lock'), JSON.stringify({ host: 'elsewhere.example', pid: 77, startedAt: '2026-01-01T00:00:00.000Z', runners: [] }));
    const { code, stderr } = await cli(['--home', home, 'stop']);
    expect(code).toBe(3);
    expect(stderr).toContain('master.lock names host elsewhere.example: run this there');
  });
});

describe('start', () => {
  it('--help describes --foreground and --force and exits 0', async () => {
    const { code, stdout } = await cli(['start', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--foreground');
    expect(stdout).toContain('--force');
    expect(stdout).not.toContain('--daemon');
  });

  it('refuses at once, naming the running master, when a live one holds the lock', async () => {
    const master = await standInMaster();
    const { code, stdout, stderr } = await cli(['--home', home, 'start']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`a master is already running for ${home} (pid ${master.pid} on host ${hostname()}`);
    expect(master.exitCode).toBeNull();
  });

  it('a bad configuration fails the background start with the key and the problem', async () => {
    await writeFile(join(home, 'switchyard.toml'), '[master]\nstopTimeout = "soon"\n');
    const { code, stderr } = await cli(['--home', home, 'start']);
    expect(code).toBe(1);
    expect(stderr).toContain('master.stopTimeout: invalid duration "soon"');
    expect(existsSync(join(home, 'master.lock'))).toBe(false);
  });
});

describe('with a master running', () => {
  it('status prints the master, a row per runner slice and the queue depths; a failed runner is flagged first and last, exit 4', async () => {
    await fakeSocket(REPORT);
    const { code, stdout } = await cli(['--home', home, 'status']);
    expect(code).toBe(4);
    const alarm = '1 runner FAILED:\n  out 1/2 FAILED, not restarted until `switchyard restart`: failed: crashed 5 times within 1m\n';
    expect(stdout.startsWith(alarm)).toBe(true);
    expect(stdout.endsWith(`\n${alarm}`)).toBe(true);
    const lines = stdout.slice(alarm.length + 1).split('\n');
    expect(lines[0]).toBe('master: pid 4321 on mail.example, up 1d2h (since 2026-11-01T10:00:00.000Z), switchyard 0.1.0');
    expect(stdout).toMatch(/RUNNER +SLICE +PID +STATE +UPTIME +RESTARTS +PROCESSED +FAILED +LAST ERROR/);
    expect(stdout).toMatch(/out +0\/2 +5001 +running +1h2m +1 +1200 +3 +connect ECONNREFUSED 192\.0\.2\.1:25 at TCPConnectWrap/);
    expect(stdout).toMatch(/out +1\/2 +- +failed +- +5 +0 +0 +failed: crashed 5 times within 1m/);
    expect(stdout).toMatch(/QUEUE +WAITING\nbad +0\nin +2\nout +17\n/);
    // Services in a table of their own, with no slice and no queue.
    expect(stdout).toMatch(/\nSERVICE +PID +STATE +UPTIME +RESTARTS +HANDLED +FAILED +LAST ERROR\nlmtp +5003 +running +2m +0 +42 +0 *\n/);
    expect(stdout).not.toMatch(/^lmtp +0\/1/m);
    expect(stdout).toContain('\nlmtp: not listening on 127.0.0.1:8024: EADDRINUSE; next attempt in 4s\n');
  });

  it('status of a healthy master exits 0 and flags nothing', async () => {
    await fakeSocket(HEALTHY);
    const { code, stdout } = await cliIn(['status']);
    expect(code).toBe(0);
    expect(stdout.startsWith('master: pid 4321')).toBe(true);
    expect(stdout).not.toMatch(/runners? FAILED:/);
  });

  it('status shows a runner\'s detail (a smarthost backing off) on a line of its own under the runners, none for a runner without one', async () => {
    await fakeSocket(REPORT);
    const { code, stdout } = await cliIn(['status']);
    expect(code).toBe(4);
    expect(stdout).toContain('\n\nout 0/2: smarthost 192.0.2.1:25 down since 2026-11-02T11:00:00.000Z (ECONNREFUSED); next attempt 2026-11-02T11:05:00.000Z\nlmtp: not listening on 127.0.0.1:8024: EADDRINUSE; next attempt in 4s\n\nQUEUE');
    expect(stdout).not.toContain('out 1/2:');
  });

  const user = process.getuid?.() === 0 ? switchyardUser() : undefined;
  it.skipIf(user === undefined)('status as a user without access to the home says who lacks permission and who owns it, not a bare EACCES', async () => {
    await fakeSocket(HEALTHY);
    // mkdtemp made the home 0700 root: the switchyard user cannot even reach the socket.
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, '--home', home, 'status'], { uid: user!.uid, gid: user!.gid, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`user switchyard (uid ${user!.uid}) lacks permission to reach the master's socket ${join(home, 'master.sock')} (EACCES)`);
    expect(result.stderr).toContain(`the home ${home} is owned by user root, group root, mode 0700`);
    expect(result.stderr).toContain('run this as user root');
  });

  describe('LAST ERROR', () => {
    const AT = '2026-11-02T12:00:00.000Z';
    const reason = 'SmtpDeliveryError: 550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown in virtual mailbox table';
    const row = (name: string, info: StatusReport['runners'][number]['lastErrorInfo']): StatusReport['runners'][number] => ({
      ...REPORT.runners[0]!,
      name,
      detail: null,
      lastError: info === null || info === undefined ? null : `${info.at} ${info.entry ?? '-'}: ${info.reason}`,
      lastErrorInfo: info,
    });
    const report = (runners: StatusReport['runners']): StatusReport => ({ ...HEALTHY, at: AT, runners });

    it('shows the reason first, then how long ago and the entry, and cuts the line to the terminal width', async () => {
      await fakeSocket(report([row('out', { at: '2026-11-02T11:57:00.000Z', entry: '1796473980656123-abc', reason, recoveredAt: null, successesSince: 0 })]));
      const wide = await cli(['--home', home, 'status'], { COLUMNS: '400' });
      expect(wide.code).toBe(0);
      expect(wide.stdout).toMatch(/out +0\/2 .* 3 +SmtpDeliveryError: 550 5\.1\.1 <ghost@example\.net>: Recipient address rejected: User unknown in virtual mailbox table \(3m ago, entry 1796473980656123-abc\)\n/);
      const narrow = await cli(['--home', home, 'status'], { COLUMNS: '100' });
      const line = narrow.stdout.split('\n').find((text) => text.startsWith('out '))!;
      expect(line).toHaveLength(100);
      expect(line).toMatch(/ SmtpDeliveryError: 550 5\.1\.1 .*…$/);
      for (const text of narrow.stdout.split('\n')) expect(text.length).toBeLessThanOrEqual(100);
      // --json keeps the whole of it.
      const json = JSON.parse((await cli(['--home', home, 'status', '--json'], { COLUMNS: '100' })).stdout) as StatusReport;
      expect(json.runners[0]!.lastErrorInfo!.reason).toBe(reason);
    });

    it('once the runner succeeded again: "(recovered ... ago)" for an hour, then no longer shown (--json keeps it)', async () => {
      await fakeSocket(
        report([
          row('fresh', { at: '2026-11-02T11:50:00.000Z', entry: null, reason: 'process killed by SIGKILL', recoveredAt: '2026-11-02T11:57:00.000Z', successesSince: 4 }),
          row('old', { at: '2026-11-02T09:00:00.000Z', entry: 'e1', reason: 'old trouble', recoveredAt: '2026-11-02T10:30:00.000Z', successesSince: 900 }),
        ]),
      );
      const { code, stdout } = await cli(['--home', home, 'status'], { COLUMNS: '400' });
      expect(code).toBe(0);
      expect(stdout).toMatch(/\nfresh .* \(recovered 3m ago\) process killed by SIGKILL \(10m ago\)\n/);
      expect(stdout).toMatch(/\nold +0\/2 +5001 +running +1h2m +1 +1200 +3\n/);
      expect(stdout).not.toContain('old trouble');
      const json = JSON.parse((await cli(['--home', home, 'status', '--json'])).stdout) as StatusReport;
      expect(json.runners[1]!.lastErrorInfo).toMatchObject({ reason: 'old trouble', recoveredAt: '2026-11-02T10:30:00.000Z' });
    });
  });

  it('a queue with entries and no runner: "no runner for queue command" first and last, marked in the queue table, exit 4', async () => {
    const problem = 'no runner for queue command: 3 entries waiting that nothing takes (configure a runner with queue = "command", or move them with `switchyard queue move`)';
    await fakeSocket({ ...HEALTHY, healthy: false, problems: [problem], unconsumed: [{ queue: 'command', waiting: 3 }, { queue: 'archive', waiting: 0 }], queues: { ...HEALTHY.queues, command: 3, archive: 0 } });
    const { code, stdout } = await cliIn(['status']);
    expect(code).toBe(4);
    expect(stdout.startsWith(`${problem}\n\nmaster: pid 4321`)).toBe(true);
    expect(stdout.endsWith(`\n\n${problem}\n`)).toBe(true);
    expect(stdout).not.toMatch(/runners? FAILED:/);
    expect(stdout).toMatch(/\narchive +0 +no runner\n/);
    expect(stdout).toMatch(/\ncommand +3 +NO RUNNER: nothing takes these\n/);
    expect(stdout).toMatch(/\nout +17\n/);
  });

  it('status --json prints the StatusReport exactly, exit 4 when it is not healthy', async () => {
    await fakeSocket(REPORT);
    const { code, stdout } = await cli(['--home', home, 'status', '--json']);
    expect(code).toBe(4);
    expect(JSON.parse(stdout)).toEqual(REPORT);
  });

  it('stop sends TERM, waits for the exit the socket reports, and says so', async () => {
    const master = await standInMaster();
    const socket = await fakeSocket({ ...REPORT, master: { ...REPORT.master, pid: master.pid! } });
    // The stand-in exits on TERM; the real master ends its watch connections as it exits.
    void exited(master).then(() => {
      for (const watcher of socket.watchers) watcher.destroy();
    });
    const stop = cli(['--home', home, 'stop']);
    await socket.watched;
    const { code, stdout } = await stop;
    expect(code).toBe(0);
    expect(stdout).toBe('switchyard: master stopped\n');
    expect(await exited(master)).toEqual({ code: 0, signal: null });
    expect(existsSync(join(home, 'master.lock'))).toBe(false);
  });

  it('stop gives up on a master that does not exit within master.stopTimeout and a grace as long (1 s to 10 s): exit 1, naming the pid and what to do', async () => {
    await writeFile(join(home, 'switchyard.toml'), '[master]\nstopTimeout = "1s"\n');
    const master = await standInMaster();
    const socket = await fakeSocket({ ...REPORT, master: { ...REPORT.master, pid: master.pid! } });
    // A hung master: TERM stays pending, the watch connection stays open.
    master.kill('SIGSTOP');
    const started = Date.now();
    const stop = cli(['--home', home, 'stop']);
    await socket.watched;
    const { code, stderr } = await stop;
    expect(code).toBe(1);
    expect(stderr).toContain(`the master (pid ${master.pid}) has not exited 2 s after TERM (master.stopTimeout + 1 s)`);
    expect(stderr).toContain(`kill -KILL ${master.pid}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(master.exitCode).toBeNull();
  });

  it('reopen sends SIGHUP to the master', async () => {
    const master = await standInMaster();
    const received = master.nextLine();
    const { code, stdout } = await cli(['--home', home, 'reopen']);
    expect(code).toBe(0);
    expect(stdout).toContain(`(SIGHUP to pid ${master.pid})`);
    expect(await received).toBe('signal SIGHUP');
  });

  it('restart asks the master over its socket and says how many processes restart', async () => {
    const master = await standInMaster();
    await fakeSocket({ ...REPORT, master: { ...REPORT.master, pid: master.pid! } });
    const { code, stdout } = await cliIn(['restart']);
    expect(code).toBe(0);
    expect(stdout).toBe(`switchyard: runners restarting (3 processes, master pid ${master.pid})\n`);
  });

  it('restart refused by the master: exit 1 with its reason; --json says so too', async () => {
    const master = await standInMaster();
    const refused = 'configuration in switchyard.toml is invalid, running the previous one: x';
    await fakeSocket({ ...REPORT, master: { ...REPORT.master, pid: master.pid! } }, { ok: false, refused });
    const text = await cli(['--home', home, 'restart']);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`not restarting: ${refused}`);
    const json = await cliIn(['restart', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ restarted: false, refused, pid: master.pid, error: { code: 'SY_COMMAND_FAILED', message: `not restarting: ${refused}`, temporary: false } });
  });

  it('restart with an invalid switchyard.toml exits 1 before asking the master', async () => {
    await standInMaster();
    await writeFile(join(home, 'switchyard.toml'), '[smtp]\nport = "twenty-five"\n');
    const { code, stderr } = await cliIn(['restart']);
    expect(code).toBe(1);
    expect(stderr).toContain('not restarting: configuration in switchyard.toml is invalid, the runners keep running the previous one:');
    expect(stderr).toContain('smtp.port');
  });
});

describe('status client', () => {
  it('waitForMasterExit resolves when the master closes the watch connection', async () => {
    const socket = await fakeSocket(REPORT);
    let done = false;
    const waiting = waitForMasterExit(join(home, 'master.sock')).then(() => (done = true));
    await socket.watched;
    expect(done).toBe(false);
    for (const watcher of socket.watchers) watcher.destroy();
    await waiting;
    expect(done).toBe(true);
  });

  it('no socket file is MasterNotRunningError with its code', async () => {
    const error = await waitForMasterExit(join(home, 'master.sock')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MasterNotRunningError);
    expect((error as MasterNotRunningError).code).toBe('SY_MASTER_NOT_RUNNING');
  });
});

describe('stopReportGraceMs', () => {
  it('is the stop timeout, but at least 1 s and at most 10 s', () => {
    expect([0, 500, 1_000, 4_000, 10_000, 30_000].map(stopReportGraceMs)).toEqual([1_000, 1_000, 1_000, 4_000, 10_000, 10_000]);
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [720, '12m'],
    [3_725, '1h2m'],
    [3_600, '1h'],
    [93_784, '1d2h'],
  ])('%d seconds read %s', (seconds, text) => {
    expect(formatAge(seconds)).toBe(text);
  });
});
