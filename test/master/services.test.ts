/**
 * Services beside queue runners under a real master: the LMTP listener is
 * supervised as a service (no queue, restarted after SIGKILL, its port
 * served again), and the scheduler service runs each shared job once when
 * two masters (two homes) share one list store (`[store] path`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import type { StatusReport } from '../../src/master/protocol.js';
import { freePort, serverGreeting } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, startMaster, testConfig, type LogLine, type MasterHandle } from './harness.js';

const masters: MasterHandle[] = [];
const homes: string[] = [];

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

afterEach(async () => {
  for (const handle of masters.splice(0)) await handle.stop();
  for (const dir of homes.splice(0)) await removeHome(dir);
});

/** These tests are about the services (LMTP, the scheduler): the built-in queue runners are off, each being seconds of module loading on a loaded machine. */
const OFF = builtInRunnersOff();

describe('services', () => {
  it('LMTP runs as a service (no queue, its own status table) and survives SIGKILL: restarted, its port served again', async () => {
    const port = await freePort();
    const dir = await home(testConfig(`[lmtp]\nport = ${port}\n\n${OFF}`));
    const m = await master(dir);
    await m.waitForLine((line) => line.msg === 'LMTP runner listening', 'LMTP listening');
    const before = (await m.status()).runners.find((r) => r.name === 'lmtp')!;
    expect(before).toMatchObject({ kind: 'service', queue: null, state: 'running', restarts: 0 });
    expect(await serverGreeting(port)).toMatch(/^220 /);

    const relistening = m.nextLine((line) => line.msg === 'LMTP runner listening' && line.pid !== before.pid, 'LMTP listening again');
    process.kill(before.pid!, 'SIGKILL');
    await relistening;
    expect(await serverGreeting(port)).toMatch(/^220 /);
    const after = (await m.status()).runners.find((r) => r.name === 'lmtp')!;
    expect(after).toMatchObject({ kind: 'service', state: 'running', restarts: 1 });
    expect(after.pid).not.toBe(before.pid);
    expect(after.lastError).toMatch(/SIGKILL/);

    const { code, stdout } = await runCli(['--home', dir, 'status']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\nSERVICE +PID +STATE/);
    expect(stdout).toMatch(new RegExp(`\\nlmtp +${after.pid} +running `));
    expect(stdout).not.toMatch(/^lmtp +0\/1/m);
  });

  it('two masters on one store: the scheduler runs each shared job once per scheduled run, and status --json shows each job', async () => {
    const a = await home('');
    const storeFile = join(a, 'switchyard.db');
    const store = openStore(a);
    const list = 'team@lists.example.org';
    await store.createList({ address: list, settings: { maxDaysToHold: 1 } });
    const held = await store.holdMessage({ list, sender: 'guest@example.com', subject: 'old', reason: 'post from a non-member', raw: Buffer.from('Subject: old\r\n\r\nx\r\n'), receivedAt: new Date(Date.now() - 3 * 86_400_000) });
    // A login link and a session that expired yesterday, on a site nobody logs into: the pending-requests job removes them.
    const [twoDaysAgo, yesterday] = [new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 86_400_000)];
    await store.addLoginLink({ hash: 'a'.repeat(64), address: 'guest@example.com', createdAt: twoDaysAgo, expiresAt: yesterday });
    await store.addWebSession({ hash: 'b'.repeat(64), address: 'guest@example.com', tokenId: null, createdAt: twoDaysAgo, expiresAt: yesterday });
    await store.close();
    // Every second, every shared job; local temp cleanup rarely.
    const toml = testConfig(`[cron]\nheldExpiry = "* * * * * *"\nbounceWarnings = "* * * * * *"\npendingRequests = "* * * * * *"\ndigests = "* * * * * *"\n\n[store]\npath = "${storeFile}"\n\n${OFF}`);
    await writeFile(join(a, 'switchyard.toml'), toml);
    const b = await home(toml);
    const ma = await master(a);
    const mb = await master(b);

    type Run = { host: 'a' | 'b'; outcome: string };
    const runsOf = (job: string): Map<string, Run[]> => {
      const runs = new Map<string, Run[]>();
      for (const [host, handle] of [['a', ma], ['b', mb]] as const) {
        for (const line of handle.lines) {
          if (line.job !== job || typeof line.runKey !== 'string' || typeof line.outcome !== 'string') continue;
          runs.set(line.runKey, [...(runs.get(line.runKey) ?? []), { host, outcome: line.outcome }]);
        }
      }
      return runs;
    };
    // Runs both schedulers have decided on; the first runs of each may fall before the other master started.
    const decided = (job: string): [string, Run[]][] => [...runsOf(job).entries()].filter(([, runs]) => runs.length === 2);
    const enough = (_line: LogLine): boolean => decided('held-expiry').length >= 3 && decided('bounce-warnings').length >= 3 && decided('pending-requests').length >= 3 && decided('digests').length >= 3;
    await Promise.race([ma.waitForLine(enough, 'three shared runs on both'), mb.waitForLine(enough, 'three shared runs on both')]);

    for (const job of ['held-expiry', 'bounce-warnings', 'pending-requests', 'digests']) {
      // Decided runs only: a run one host claimed and still works on (its first run loads the job's code)
      // has only the other host's `skipped` so far.
      for (const [runKey, runs] of decided(job)) {
        // Once per scheduled run, whichever host won it; never twice, never failed.
        expect({ job, runKey, ok: runs.filter((r) => r.outcome === 'ok').length }).toEqual({ job, runKey, ok: 1 });
        expect(runs.filter((r) => r.outcome === 'failed')).toEqual([]);
      }
    }
    const check = openStore(a);
    try {
      expect(await check.heldDecision(held.id)).toMatchObject({ decision: 'expire', decidedBy: 'expiry' });
      // Gone already: nothing expired is left for this call to remove.
      expect(await check.removeExpiredWebState(new Date())).toBe(0);
      expect((await check.jobLeases()).map((lease) => lease.job)).toEqual(['bounce-warnings', 'digests', 'held-expiry', 'pending-requests']);
    } finally {
      await check.close();
    }

    const { stdout } = await runCli(['--home', b, 'status', '--json']);
    const scheduler = (JSON.parse(stdout) as StatusReport).runners.find((r) => r.name === 'scheduler')!;
    expect(scheduler).toMatchObject({ kind: 'service', queue: null, state: 'running' });
    const jobs = (scheduler.info as { jobs: { name: string; shared: boolean; lastOutcome: string | null; lastRunAt: string | null }[] }).jobs;
    expect(jobs.map((job) => [job.name, job.shared])).toEqual([
      ['held-expiry', true],
      ['bounce-warnings', true],
      ['pending-requests', true],
      ['digests', true],
      ['temp-cleanup', false],
      ['list-refusals', false],
    ]);
    for (const job of jobs.filter((j) => j.shared)) {
      expect(['ok', 'skipped']).toContain(job.lastOutcome);
      expect(job.lastRunAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    }
  });

  it('status names the destinations refusing a list in the last 24 hours (text and --json), from the scheduler: the master opens no store', async () => {
    const dir = await home(testConfig(`[cron]\nlistRefusals = "* * * * * *"\n\n${OFF}`));
    const store = openStore(dir);
    const list = 'team@lists.example.org';
    await store.createList({ address: list });
    const now = new Date();
    for (let i = 0; i < 14; i++) await store.recordDomainBounce(list, { domain: 'gmail.com', reason: 'blocked', at: now, reply: '550 5.7.1 IP listed on a blocklist' });
    await store.recordDomainBounce(list, { domain: 'example.net', reason: 'spamdetected', at: now });
    // Two days ago: outside the window.
    await store.recordDomainBounce(list, { domain: 'old.example', reason: 'blocked', at: new Date(now.getTime() - 2 * 86_400_000) });
    await store.close();
    const m = await master(dir);
    await m.waitForLine((line) => line.job === 'list-refusals' && line.outcome === 'ok', 'a list-refusals run');
    const { stdout } = await runCli(['--home', dir, 'status', '--json']);
    const scheduler = (JSON.parse(stdout) as StatusReport).runners.find((r) => r.name === 'scheduler')!;
    expect((scheduler.info as { refusals: unknown[] }).refusals).toEqual([
      { list, domain: 'gmail.com', reason: 'blocked', count: 14, window: '24h' },
      { list, domain: 'example.net', reason: 'spamdetected', count: 1, window: '24h' },
    ]);
    expect(scheduler.detail).toContain(`gmail.com refused ${list} 14 times in 24h (blocked)`);
    const text = await runCli(['--home', dir, 'status']);
    expect(text.stdout).toMatch(new RegExp(`\\nscheduler: .*gmail\\.com refused ${list.replaceAll('.', '\\.')} 14 times in 24h \\(blocked\\)`));
    expect(text.stdout).not.toContain('old.example');
  });
});
