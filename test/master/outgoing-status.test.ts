/**
 * `switchyard status` shows the outgoing runner's smarthost backoff: a real
 * master whose `[smtp]` points at a closed port on loopback takes an `out`
 * entry, fails to connect, and the runner's status detail (down since when,
 * why, the next attempt) reaches the master's status report and the CLI's
 * table. Then an SMTP sink starts on that port: the entry comes back from
 * `retry`, is delivered, and the detail clears.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Switchboard } from '../../queues/index.js';
import { outMetadata } from '../../runners/outgoing/out-entry.js';
import type { RunnerStatus, StatusReport } from '../../src/master/protocol.js';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, MASTER_WAIT_MS, removeHome, runCli, schedulerOff, startMaster, testConfig, type MasterHandle } from './harness.js';

let master: MasterHandle | undefined;
let home: string | undefined;
let sink: SmtpSink | undefined;

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home) await removeHome(home);
});

/** The outgoing runner's status once `predicate` holds (MasterHandle.statusWhen: asked again on every log line). */
async function outgoingWhen(handle: MasterHandle, predicate: (status: RunnerStatus) => boolean, what: string): Promise<RunnerStatus> {
  const outgoing = (report: StatusReport): RunnerStatus | undefined => report.runners.find((r) => r.name === 'outgoing');
  const report = await handle.statusWhen((r) => {
    const status = outgoing(r);
    return status !== undefined && predicate(status);
  }, what);
  return outgoing(report)!;
}

it('status shows "smarthost HOST:PORT down since … (reason); next attempt …" while the outgoing runner backs off, and the detail clears once the smarthost is back and the entry delivered', async () => {
  // Free right now, so nothing listens on it.
  const port = await freePort();
  // Only outgoing and retry: the entry is enqueued on `out` directly; the other runners and the scheduler would be more processes to start.
  const config = testConfig(
    `[smtp]\nport = ${port}\nconnectionTimeout = "2s"\ndestinationBackoff = "3s"\ndestinationBackoffMax = "3s"\n\n[retry]\ninitialDelay = "1s"\nmaxDelay = "1s"\njitter = 0\n\n${builtInRunnersOff(['outgoing', 'retry'])}\n${schedulerOff()}`,
  );
  home = await makeHome(config);
  master = await startMaster(home);
  const started = Date.now();
  const out = new Switchboard({ root: join(home, 'queues'), name: 'out' });
  await out.enqueue(
    'From: poster@example.com\r\nTo: test@lists.example.org\r\nSubject: held back\r\n\r\nhello\r\n',
    outMetadata({ listId: 'test.lists.example.org', sender: 'test-bounces@lists.example.org', recipients: ['member@example.net'] }),
  );

  const down = await outgoingWhen(master, (r) => r.detail !== null, 'the backoff detail');
  const match = /^smarthost 127\.0\.0\.1:(\d+) down since (\S+) \((.+)\); next attempt (\S+)$/.exec(down.detail!);
  expect(match, down.detail!).not.toBeNull();
  expect(Number(match![1])).toBe(port);
  const since = Date.parse(match![2]!);
  const next = Date.parse(match![4]!);
  expect(since).toBeGreaterThanOrEqual(started - 1_000);
  // The next attempt is destinationBackoff (3 s) after the latest failure; on a loaded machine that may be a later one than the first.
  expect(next - since).toBeGreaterThanOrEqual(3_000);
  expect(match![3]).toMatch(/ECONNREFUSED/);

  // Each attempt renews "next attempt" (every 3 s): the CLI, slow to start on a busy machine, may show a later one.
  const table = await runCli(['--home', home, 'status']);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(new RegExp(`\\noutgoing 0/1: smarthost 127\\.0\\.0\\.1:${port} down since ${match![2]!.replace(/\./g, '\\.')} \\(.*ECONNREFUSED.*\\); next attempt \\S+\\n`));

  sink = await SmtpSink.start({ port });
  await sink.until(() => sink!.deliveries.has('member@example.net'), 'the held-back entry delivered', MASTER_WAIT_MS);
  const up = await outgoingWhen(master, (r) => r.detail === null, 'the detail cleared');
  expect(up.detail).toBeNull();
  expect(sink.deliveries.get('member@example.net')).toBe(1);
  // The runner learns of the delivery's 250 after the sink counted it: await its report, not a moment.
  await outgoingWhen(master, (r) => (r.info?.smarthost as { answers?: boolean } | undefined)?.answers === true, 'the smarthost known to answer');
  const after = (await runCli(['--home', home, 'status'])).stdout;
  expect(after).not.toContain('down since');
  // The delivery told it the smarthost answers (the start's check had found it closed).
  expect(after).toContain(`outgoing 0/1: smarthost 127.0.0.1:${port} answers (as of `);
}, 3 * MASTER_WAIT_MS);
