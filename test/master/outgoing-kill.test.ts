/**
 * No duplicate floods: a real master delivers one post to 10,000 members
 * through the built-in outgoing runner to a loopback SMTP sink, while the
 * test SIGKILLs the outgoing runner process 20 times, each time after a random
 * number (1 to 10) of further transactions were accepted, so kills land in
 * every phase (mid-transaction, between acceptance and checkpoint, during a
 * journal write, during recovery).
 *
 * Asserted: every member receives the post; a recipient is delivered twice
 * only when its first transaction was in flight at a kill or accepted just
 * before it with its checkpoint line not yet on disk (the last few the sink
 * accepted before that kill, or the ones it accepted from the dying process
 * just after): per kill at most maxConnections transactions plus fewer than
 * CHECKPOINT_WINDOW recipients (runners/outgoing.ts), and never one accepted
 * well before a kill. Bulk (transactions of 20) and VERP (one recipient
 * each, so the window, not the transactions in flight, is most of the bound).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Spool, Switchboard } from '../../queues/index.js';
import { CHECKPOINT_WINDOW } from '../../runners/outgoing.js';
import { outMetadata } from '../../runners/outgoing/out-entry.js';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, waitForDrained, type MasterHandle } from './harness.js';

const MEMBERS = Number(process.env.OUTGOING_KILL_MEMBERS ?? 10_000);
const VERP_MEMBERS = Number(process.env.OUTGOING_KILL_VERP_MEMBERS ?? 4_000);
const KILLS = Number(process.env.OUTGOING_KILL_KILLS ?? 20);
const MAX_CONNECTIONS = 4;
const MAX_RECIPIENTS = 20;
/** MTA latency while the test kills: each transaction stays in flight a while, so kills find some mid-transaction, and the delivery lasts long enough to be killed KILLS times. */
const KILL_PHASE_DATA_DELAY_MS = 5;

/*
 * One master and one sink for both tests: each test's post is drained (out
 * empty, every member delivered) before it ends, and the sink is reset
 * between them, so the second starts from the same state as on a master of
 * its own, without a second master start. The restarts it counts are the
 * ones after its own start.
 */
let master: MasterHandle;
let home: string;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await SmtpSink.start();
  const config = testConfig(
    // Only outgoing and retry: the post is enqueued on `out` directly, and every other runner (and the scheduler) is one more process to start.
    `[smtp]\nport = ${sink.port}\nmaxConnections = ${MAX_CONNECTIONS}\nmaxRecipients = ${MAX_RECIPIENTS}\nsocketTimeout = "10s"\n\n[runner.outgoing]\nmaxRestores = 1000\n\n${builtInRunnersOff(['outgoing', 'retry'])}\n${schedulerOff()}`,
    { maxRestarts: 1_000_000, restartBackoff: '"5ms"', restartBackoffMax: '"50ms"' },
  ).replace('level = "debug"', 'level = "info"');
  home = await makeHome(config);
  master = await startMaster(home);
}, 300_000);

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home) await removeHome(home);
});

it(`delivers a ${MEMBERS}-member post while the outgoing runner is SIGKILLed ${KILLS} times: everyone gets it, duplicates only from transactions in flight or not yet checkpointed at a kill`, async () => {
  await killedWhileDelivering('bulk', MEMBERS);
}, 300_000);

it(`VERP: delivers a ${VERP_MEMBERS}-member post one transaction per recipient while the outgoing runner is SIGKILLed ${KILLS} times: everyone gets it, duplicates only from transactions in flight or not yet checkpointed at a kill`, async () => {
  await killedWhileDelivering('verp', VERP_MEMBERS);
}, 300_000);

async function killedWhileDelivering(mode: 'bulk' | 'verp', members: number): Promise<void> {
  const perTransaction = mode === 'verp' ? 1 : MAX_RECIPIENTS;
  sink.reset();
  sink.dataDelayMs = KILL_PHASE_DATA_DELAY_MS;
  const restartsBefore = (await master.status()).runners.find((r) => r.name === 'outgoing')!.restarts;
  const root = join(home, 'queues');

  const recipients = Array.from({ length: members }, (_, i) => `member${i}@d${i % 37}.example`);
  const out = new Switchboard({ root, name: 'out' });
  await out.enqueue(
    'From: poster@example.com\r\nTo: big@lists.example.org\r\nSubject: to everyone\r\n\r\nhello\r\n',
    outMetadata({ listId: 'big.lists.example.org', sender: 'big-bounces@lists.example.org', recipients, ...(mode === 'verp' ? { verp: true, listPosting: 'big@lists.example.org' } : {}) }),
  );

  /** sink.accepted.length at each kill. */
  const marks: number[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    const runner = (await master.status()).runners.find((r) => r.name === 'outgoing' && r.state === 'running' && r.pid !== null);
    expect(runner, 'the outgoing runner is up').toBeDefined();
    const target = sink.acceptedTransactions + 1 + Math.floor(Math.random() * 10);
    await sink.until(() => sink.acceptedTransactions >= target, `transaction ${target}`);
    expect(sink.acceptedRecipients, 'the post is still being delivered when killed').toBeLessThan(members);
    const back = master.nextLine((line) => line.msg === 'runner up' && line.runner === 'outgoing' && line.runnerPid !== runner!.pid, 'outgoing restarted');
    process.kill(runner!.pid!, 'SIGKILL');
    marks.push(sink.accepted.length);
    await back;
  }
  // No kill lands in the rest of the delivery: it needs no latency, only to end with every member delivered.
  sink.dataDelayMs = 0;

  // Every recipient the sink accepted is a member: all members delivered once as many distinct ones were (checked one by one below).
  await sink.until(() => sink.deliveries.size >= members, 'every member delivered', 120_000);
  await waitForDrained(home, 'out');
  const spool = new Spool({ root });

  expect(recipients.filter((r) => !sink.deliveries.has(r))).toEqual([]);
  expect((await spool.count('bad')).psv).toBe(0);
  expect((await spool.count('shunt')).pck).toBe(0);
  expect((await spool.count('retry')).pck).toBe(0);

  // Which accepted transactions were sent again, later, in part or whole?
  const firstSeen = new Map<string, number>();
  const resent = new Set<number>();
  sink.accepted.forEach((transaction, index) => {
    for (const recipient of transaction.recipients) {
      const first = firstSeen.get(recipient);
      if (first === undefined) firstSeen.set(recipient, index);
      else resent.add(first);
    }
  });
  const duplicates = [...sink.duplicates().values()].reduce((sum, n) => sum + n - 1, 0);
  // Accepted and not yet on disk at a kill: fewer than CHECKPOINT_WINDOW recipients, this many transactions at most.
  const unsynced = Math.ceil(CHECKPOINT_WINDOW / perTransaction);
  // Each was in flight or not yet checkpointed at some kill: among the last transactions accepted before it, or accepted from the dying process after it.
  const unexplained = [...resent].filter((index) => !marks.some((mark) => index >= mark - 2 * MAX_CONNECTIONS - unsynced && index < mark + MAX_CONNECTIONS));
  expect(unexplained).toEqual([]);
  expect(resent.size).toBeLessThanOrEqual(KILLS * (MAX_CONNECTIONS + unsynced));
  expect(duplicates).toBeLessThanOrEqual(KILLS * (MAX_CONNECTIONS * perTransaction + CHECKPOINT_WINDOW - 1));
  const status = await master.status();
  expect(status.runners.find((r) => r.name === 'outgoing')!.restarts - restartsBefore).toBe(KILLS);
  console.log(`outgoing kill test (${mode}): ${members} members, ${KILLS} kills, ${sink.acceptedTransactions} transactions, ${resent.size} re-sent transactions, ${duplicates} duplicate deliveries`);
}
