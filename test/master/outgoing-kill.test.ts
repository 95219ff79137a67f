/**
 * No duplicate floods: a real master delivers two posts at once, one to
 * 10,000 members in bulk (transactions of 20) and one to 2,000 members by VERP
 * (one recipient each, so the window, not the transactions in flight, is most
 * of the bound), through the built-in outgoing runner to a loopback SMTP sink,
 * while the test SIGKILLs the outgoing runner process 20 times, each time
 * after a random number (1 to 10, drawn for each post) of further
 * transactions of each post were accepted, so kills land in every phase of
 * each post's delivery (mid-transaction, between acceptance and checkpoint,
 * during a journal write, during recovery).
 *
 * Asserted, for each post: every member receives it; a recipient is delivered
 * twice only when its first transaction was in flight at a kill or accepted
 * just before it with its checkpoint line not yet on disk (the last few of
 * that post's transactions the sink accepted before that kill, or the ones it
 * accepted from the dying process just after): per kill at most
 * maxConnections transactions plus fewer than CHECKPOINT_WINDOW recipients
 * (runners/outgoing.ts), and never one accepted well before a kill.
 *
 * Why both posts in one run: every kill is a runner restart (a node process
 * loading its bundle, most of this file's time), and each entry has its own
 * checkpoint journal and its own at most maxConnections transactions in
 * flight, so one kill tests both bounds at once. Each kill is asserted to
 * land while both posts are still being delivered, after transactions of
 * each in the new process, so each still sees 20. The sizes only need to
 * outlast the kills: those see one to two hundred transactions of each post
 * (the pool serves the two entries' transactions in turn, so neither runs
 * far past its number while the other reaches its own), a few hundred at
 * worst; the check at each kill fails loudly if a post ran out first.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Spool, Switchboard } from '../../queues/index.js';
import { CHECKPOINT_WINDOW } from '../../runners/outgoing.js';
import { outMetadata } from '../../runners/outgoing/out-entry.js';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, waitForDrained, type MasterHandle } from './harness.js';

const MEMBERS = Number(process.env.OUTGOING_KILL_MEMBERS ?? 10_000);
const VERP_MEMBERS = Number(process.env.OUTGOING_KILL_VERP_MEMBERS ?? 2_000);
const KILLS = Number(process.env.OUTGOING_KILL_KILLS ?? 20);
const MAX_CONNECTIONS = 4;
const MAX_RECIPIENTS = 20;
/** MTA latency while the test kills: each transaction stays in flight a while, so kills find some mid-transaction, and the delivery lasts long enough to be killed KILLS times. */
const KILL_PHASE_DATA_DELAY_MS = 5;

type Mode = 'bulk' | 'verp';

/** One post: its members (disjoint from the other post's) and what the sink accepted of it at each kill. */
interface Post {
  mode: Mode;
  recipients: string[];
  members: ReadonlySet<string>;
  /** The number of this post's transactions the sink had accepted at each kill. */
  marks: number[];
}

let master: MasterHandle;
let home: string;
let sink: SmtpSink;
/** The outgoing runner's restarts before the kills. */
let restartsBefore: number;
const posts: Record<Mode, Post> = { bulk: post('bulk', MEMBERS), verp: post('verp', VERP_MEMBERS) };
/** Both posts delivered under the kills, once, for both tests. */
let killed: Promise<void> | undefined;

function post(mode: Mode, members: number): Post {
  const recipients = Array.from({ length: members }, (_, i) => `${mode}${i}@d${i % 37}.example`);
  return { mode, recipients, members: new Set(recipients), marks: [] };
}

/** The transactions the sink accepted for `post`, in order (every transaction is for one post: the members are disjoint). */
function acceptedFor(post: Post): SinkTransaction[] {
  return sink.accepted.filter((transaction) => post.members.has(transaction.recipients[0]!));
}

beforeAll(async () => {
  sink = await SmtpSink.start();
  const config = testConfig(
    // Only outgoing and retry: the posts are enqueued on `out` directly, and every other runner (and the scheduler) is one more process to start.
    // concurrency 2: both posts are delivered at once, so every kill lands in both.
    `[smtp]\nport = ${sink.port}\nmaxConnections = ${MAX_CONNECTIONS}\nmaxRecipients = ${MAX_RECIPIENTS}\nsocketTimeout = "10s"\n\n[runner.outgoing]\nconcurrency = 2\nmaxRestores = 1000\n\n${builtInRunnersOff(['outgoing', 'retry'])}\n${schedulerOff()}`,
    // The real restart path, without the backoff growing to tens of ms over the consecutive crashes.
    { maxRestarts: 1_000_000, restartBackoff: '"5ms"', restartBackoffMax: '"5ms"' },
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
  await (killed ??= killWhileDelivering());
  await checkPost(posts.bulk);
}, 300_000);

it(`VERP: delivers a ${VERP_MEMBERS}-member post one transaction per recipient while the outgoing runner is SIGKILLed ${KILLS} times: everyone gets it, duplicates only from transactions in flight or not yet checkpointed at a kill`, async () => {
  await (killed ??= killWhileDelivering());
  await checkPost(posts.verp);
}, 300_000);

/** Both posts enqueued, KILLS kills while both are being delivered, then every member of both delivered and `out` drained. */
async function killWhileDelivering(): Promise<void> {
  sink.dataDelayMs = KILL_PHASE_DATA_DELAY_MS;
  restartsBefore = (await master.status()).runners.find((r) => r.name === 'outgoing')!.restarts;
  const out = new Switchboard({ root: join(home, 'queues'), name: 'out' });
  const message = (list: string): string => `From: poster@example.com\r\nTo: ${list}@lists.example.org\r\nSubject: to everyone\r\n\r\nhello\r\n`;
  await out.enqueue(message('big'), outMetadata({ listId: 'big.lists.example.org', sender: 'big-bounces@lists.example.org', recipients: posts.bulk.recipients }));
  await out.enqueue(
    message('verp'),
    outMetadata({ listId: 'verp.lists.example.org', sender: 'verp-bounces@lists.example.org', recipients: posts.verp.recipients, verp: true, listPosting: 'verp@lists.example.org' }),
  );

  for (let kill = 0; kill < KILLS; kill++) {
    const runner = (await master.status()).runners.find((r) => r.name === 'outgoing' && r.state === 'running' && r.pid !== null);
    expect(runner, 'the outgoing runner is up').toBeDefined();
    // Each post's delivery under way in this process: 1 to 10 more of its transactions accepted (the other post's may run past its own number meanwhile).
    const targets = Object.values(posts).map((post) => ({ post, target: acceptedFor(post).length + 1 + Math.floor(Math.random() * 10) }));
    await sink.until(() => targets.every(({ post, target }) => acceptedFor(post).length >= target), `transactions ${targets.map(({ post, target }) => `${target} of ${post.mode}`).join(', ')}`);
    for (const post of Object.values(posts)) {
      const accepted = acceptedFor(post).reduce((sum, transaction) => sum + transaction.recipients.length, 0);
      expect(accepted, `the ${post.mode} post is still being delivered when killed`).toBeLessThan(post.recipients.length);
    }
    const back = master.nextLine((line) => line.msg === 'runner up' && line.runner === 'outgoing' && line.runnerPid !== runner!.pid, 'outgoing restarted');
    process.kill(runner!.pid!, 'SIGKILL');
    for (const post of Object.values(posts)) post.marks.push(acceptedFor(post).length);
    await back;
  }
  // No kill lands in the rest of the deliveries: they need no latency, only to end with every member delivered.
  sink.dataDelayMs = 0;

  // Every recipient the sink accepted is a member: all members delivered once as many distinct ones were (checked one by one in checkPost()).
  await sink.until(() => sink.deliveries.size >= MEMBERS + VERP_MEMBERS, 'every member of both posts delivered', 120_000);
  await waitForDrained(home, 'out');
  const spool = new Spool({ root: join(home, 'queues') });
  expect((await spool.count('bad')).psv).toBe(0);
  expect((await spool.count('shunt')).pck).toBe(0);
  expect((await spool.count('retry')).pck).toBe(0);
  const status = await master.status();
  expect(status.runners.find((r) => r.name === 'outgoing')!.restarts - restartsBefore).toBe(KILLS);
}

/** Every member of `post` delivered, and its re-sent transactions each explained by a kill (see the module comment). */
async function checkPost({ mode, recipients, members, marks }: Post): Promise<void> {
  const perTransaction = mode === 'verp' ? 1 : MAX_RECIPIENTS;
  expect(marks).toHaveLength(KILLS);
  expect(recipients.filter((r) => !sink.deliveries.has(r))).toEqual([]);
  const accepted = acceptedFor(posts[mode]);
  expect(accepted.every((transaction) => transaction.recipients.every((r) => members.has(r))), `every ${mode} transaction holds only ${mode} members`).toBe(true);

  // Which accepted transactions were sent again, later, in part or whole?
  const firstSeen = new Map<string, number>();
  const resent = new Set<number>();
  accepted.forEach((transaction, index) => {
    for (const recipient of transaction.recipients) {
      const first = firstSeen.get(recipient);
      if (first === undefined) firstSeen.set(recipient, index);
      else resent.add(first);
    }
  });
  const duplicates = [...sink.duplicates()].filter(([recipient]) => members.has(recipient)).reduce((sum, [, n]) => sum + n - 1, 0);
  // Accepted and not yet on disk at a kill: fewer than CHECKPOINT_WINDOW recipients, this many transactions at most.
  const unsynced = Math.ceil(CHECKPOINT_WINDOW / perTransaction);
  // Each was in flight or not yet checkpointed at some kill: among the post's last transactions accepted before it, or accepted from the dying process after it.
  const unexplained = [...resent].filter((index) => !marks.some((mark) => index >= mark - 2 * MAX_CONNECTIONS - unsynced && index < mark + MAX_CONNECTIONS));
  expect(unexplained).toEqual([]);
  expect(resent.size).toBeLessThanOrEqual(KILLS * (MAX_CONNECTIONS + unsynced));
  expect(duplicates).toBeLessThanOrEqual(KILLS * (MAX_CONNECTIONS * perTransaction + CHECKPOINT_WINDOW - 1));
  console.log(`outgoing kill test (${mode}): ${recipients.length} members, ${KILLS} kills, ${accepted.length} transactions (${marks.at(-1)} before the last kill), ${resent.size} re-sent transactions, ${duplicates} duplicate deliveries`);
}
