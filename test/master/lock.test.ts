/**
 * The master lock against real processes: holders are child processes
 * (test/fixtures/lock-holder.ts, built by tsc), killed with SIGKILL; orphan
 * runners are child processes whose argv says `runner-process`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForeignLockError, MasterRunningError } from '../../src/master/errors.js';
import { acquireMasterLock, holderState, readMasterLock, type MasterLock } from '../../src/master/lock.js';
import { isAlive } from '../../src/master/proc.js';
import type { LockInfo } from '../../src/master/protocol.js';

const HOLDER = fileURLToPath(new URL('../../dist/test/fixtures/lock-holder.js', import.meta.url));

let dir: string;
let lockPath: string;
const children: ChildProcess[] = [];
const locks: MasterLock[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-lock-'));
  lockPath = join(dir, 'master.lock');
});

afterEach(async () => {
  for (const lock of locks.splice(0)) await lock.release();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** A lock-holder child; resolves with its first line: `locked PID` or `refused CODE ...`. */
async function holder(extra: string[] = []): Promise<{ child: ChildProcess; first: string; lines: string[] }> {
  const child = spawn(process.execPath, [HOLDER, 'switchyard', 'start', lockPath, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('locked') || line.startsWith('refused')) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code}) without a verdict: ${lines.join('\n')}`)));
  });
  return { child, first, lines };
}

/** A long-lived process whose command line carries `args` (e.g. `runner-process`). */
async function dummy(...args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return child;
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await exited(child);
  return child.pid!;
}

async function acquire(options: { force?: boolean } = {}, log: string[] = []): Promise<MasterLock> {
  const lock = await acquireMasterLock(lockPath, { force: options.force ?? false, log: (message) => log.push(message) });
  locks.push(lock);
  return lock;
}

async function writeLock(info: Partial<LockInfo>): Promise<void> {
  const full: LockInfo = { host: hostname(), pid: 1, startedAt: '2026-01-01T00:00:00.000Z', runners: [], ...info };
  await writeFile(lockPath, `${JSON.stringify(full)}\n`);
}

describe('master lock', () => {
  it('records host, pid and start time; update rewrites the runner pids; release removes the file', async () => {
    const lock = await acquire();
    expect(await readMasterLock(lockPath)).toEqual({ host: hostname(), pid: process.pid, startedAt: lock.info.startedAt, runners: [] });
    await Promise.all([lock.update([11, 12]), lock.update([21, 22, 23])]);
    expect((await readMasterLock(lockPath))?.runners).toEqual([21, 22, 23]);
    expect(lock.info.runners).toEqual([21, 22, 23]);
    await lock.release();
    expect(existsSync(lockPath)).toBe(false);
    await lock.release();
    const again = await acquire();
    expect((await readMasterLock(lockPath))?.startedAt).toBe(again.info.startedAt);
  });

  it('refuses a second acquire from the process that already holds the lock', async () => {
    await acquire();
    await expect(acquire()).rejects.toBeInstanceOf(MasterRunningError);
    expect((await readMasterLock(lockPath))?.pid).toBe(process.pid);
  });

  it('refuses while a live master holds the lock, naming its pid, host and start time', async () => {
    const first = await holder();
    expect(first.first).toBe(`locked ${first.child.pid}`);
    const before = await readFile(lockPath, 'utf8');
    const error = await acquire().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MasterRunningError);
    const running = error as MasterRunningError;
    expect(running.code).toBe('SY_MASTER_RUNNING');
    expect(running.message).toContain(`pid ${first.child.pid} on host ${hostname()}`);
    expect(running.message).toContain(dir);
    expect(running.message).toContain('switchyard stop');
    expect(await readFile(lockPath, 'utf8')).toBe(before);
    expect(holderState((await readMasterLock(lockPath))!)).toBe('alive');
  });

  it('takes over the lock of a holder killed with SIGKILL', async () => {
    const first = await holder();
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect((await readMasterLock(lockPath))?.pid).toBe(first.child.pid);
    const log: string[] = [];
    const lock = await acquire({}, log);
    expect((await readMasterLock(lockPath))?.pid).toBe(process.pid);
    expect(lock.info.pid).toBe(process.pid);
    expect(log.join('\n')).toMatch(new RegExp(`pid ${first.child.pid} .*which is gone`));
  });

  it('a lock from another host needs --force, and its runner pids are left alone', async () => {
    const runner = await dummy('runner-process');
    await writeLock({ host: 'elsewhere.example', pid: 4242, runners: [runner.pid!] });
    const error = await acquire().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ForeignLockError);
    expect((error as ForeignLockError).code).toBe('SY_MASTER_FOREIGN_LOCK');
    expect((error as Error).message).toMatch(/host elsewhere\.example.*--force/);
    expect((await readMasterLock(lockPath))?.host).toBe('elsewhere.example');

    const log: string[] = [];
    await acquire({ force: true }, log);
    expect((await readMasterLock(lockPath))?.host).toBe(hostname());
    expect(log.join('\n')).toMatch(/elsewhere\.example.*--force/);
    // A pid on another host names some unrelated process here.
    expect(isAlive(runner.pid!)).toBe(true);
  });

  it.each([
    ['unparseable', '{"host": "vm", "pid": '],
    ['empty', ''],
    ['not a lock record', '{"host": 42}'],
  ])('a corrupt (%s) lock is taken over and logged', async (_kind, content) => {
    await writeFile(lockPath, content);
    expect(await readMasterLock(lockPath)).toBeUndefined();
    const log: string[] = [];
    await acquire({}, log);
    expect((await readMasterLock(lockPath))?.pid).toBe(process.pid);
    expect(log.join('\n')).toMatch(/corrupt/);
  });

  it('kills the runner processes a dead master left behind, and nothing else it listed', async () => {
    const orphans = [await dummy('runner-process', 'retry', '0'), await dummy('runner-process', 'out', '1')];
    const bystander = await dummy('something-else');
    const deaths = orphans.map(exited);
    await writeLock({ pid: await deadPid(), runners: [...orphans.map((c) => c.pid!), bystander.pid!] });
    const log: string[] = [];
    await acquire({}, log);
    for (const death of await Promise.all(deaths)) expect(death.signal).toBe('SIGKILL');
    for (const orphan of orphans) expect(isAlive(orphan.pid!)).toBe(false);
    expect(isAlive(bystander.pid!)).toBe(true);
    expect(log.join('\n')).toMatch(/killing 2 runner process/);
  });

  it('a live pid that is not a master (the pid was reused) does not hold the lock', async () => {
    const unrelated = await dummy('not-a-master');
    await writeLock({ pid: unrelated.pid! });
    expect(holderState((await readMasterLock(lockPath))!)).toBe('reused');
    const log: string[] = [];
    await acquire({}, log);
    expect((await readMasterLock(lockPath))?.pid).toBe(process.pid);
    expect(log.join('\n')).toMatch(/now runs something else/);
    expect(isAlive(unrelated.pid!)).toBe(true);
  });

  it('a lock naming our own pid that we do not hold is an earlier life of this pid', async () => {
    await writeLock({ pid: process.pid, startedAt: '2020-01-01T00:00:00.000Z' });
    const lock = await acquire();
    expect((await readMasterLock(lockPath))?.startedAt).toBe(lock.info.startedAt);
  });

  it('of several masters starting at once over a stale lock, exactly one wins', async () => {
    await writeLock({ pid: await deadPid() });
    const contenders = await Promise.all(Array.from({ length: 8 }, () => holder()));
    const winners = contenders.filter((c) => c.first.startsWith('locked'));
    expect(winners).toHaveLength(1);
    for (const loser of contenders.filter((c) => c !== winners[0])) expect(loser.first).toMatch(/^refused SY_MASTER_RUNNING /);
    expect((await readMasterLock(lockPath))?.pid).toBe(winners[0]!.child.pid);
    // Takeovers are serialized: the stale lock was removed once, by whichever contender got there first.
    expect(contenders.flatMap((c) => c.lines).filter((line) => line.includes('stale lock taken over'))).toHaveLength(1);
    expect(existsSync(`${lockPath}.takeover`)).toBe(false);
  });

  it('clears a takeover lock and leftovers of a master that died while taking over', async () => {
    const orphan = await dummy('runner-process');
    const dead = await deadPid();
    await writeFile(`${lockPath}.takeover`, JSON.stringify({ host: hostname(), pid: dead, startedAt: 'x', runners: [] }));
    await writeFile(`${lockPath}.stale-${dead}`, JSON.stringify({ host: hostname(), pid: dead, startedAt: 'x', runners: [orphan.pid] }));
    await writeFile(`${lockPath}.tmp-${dead}-3`, 'half');
    await writeLock({ pid: dead });
    const log: string[] = [];
    await acquire({}, log);
    expect((await readMasterLock(lockPath))?.pid).toBe(process.pid);
    expect((await exited(orphan)).signal).toBe('SIGKILL');
    for (const leftover of ['.takeover', `.stale-${dead}`, `.tmp-${dead}-3`]) expect(existsSync(`${lockPath}${leftover}`)).toBe(false);
    expect(log.join('\n')).toMatch(/died while taking over/);
  });

  it('a holder that stops cleanly removes its lock', async () => {
    const first = await holder();
    first.child.kill('SIGTERM');
    expect((await exited(first.child)).code).toBe(0);
    expect(existsSync(lockPath)).toBe(false);
  });
});
