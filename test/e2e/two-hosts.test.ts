/**
 * Two hosts, one kill: two switchyard hosts on one machine (two homes, two
 * spools, two masters with their own LMTP and HTTP ports on 127.0.0.1)
 * share one private PostgreSQL cluster, and one private real Postfix
 * delivers list mail to them over LMTP with the transport `switchyard
 * aliases` writes for `[hosts] lmtp = [A, B]` (`lmtp:[127.0.0.1]:A,[127.0.0.1]:B`:
 * A first, B when A refuses). Both hosts send to one counting SMTP sink
 * (a listener for each, so that every copy is known by its sender).
 *
 * The run: one list of 200 members, 200 posts into Postfix over SMTP.
 * Once host A has queued about 30% of them, its master and every one of its
 * runner processes are SIGKILLed at once (nothing shuts down cleanly); Postfix
 * falls over to B; once B has queued at least 50 more and its scheduler has
 * run a shared job, A is started again and recovers the `.bak` files of its
 * spool. Then every member must have every post, nothing may be in shunt or
 * bad on either host, no scheduled run may have been claimed twice (every
 * claim is recorded by a trigger on the lease table), and the duplicates the
 * kill caused stay within the bound derived below (the measured figure is
 * printed).
 *
 * SY_TWO_HOSTS_MEMBERS and SY_TWO_HOSTS_POSTS change the size (defaults 200
 * and 200: 60 posts before the kill, at least 50 during the outage, the rest
 * after A's restart; the kill, the failover and the bound do not depend on the number
 * of posts, only on there being posts before, during and after the outage). Skipped (loudly) when Postfix or a PostgreSQL server is not
 * installed or the tests do not run as root; CI has all three.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Switchboard } from '../../queues/index.js';
import { migratePostgres } from '../../src/store/postgres-migrate.js';
import { openStore, type Store } from '../../src/store/index.js';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { isAlive, makeHome, MASTER_WAIT_MS, removeHome, runCli, startMaster, testConfig, type LogLine, type MasterHandle } from '../master/harness.js';
import { PostfixInstance, postfixAvailable } from '../mta/postfix-instance.js';
import { freePort } from '../support/net.js';
import { postgresBinDir, startPostgres, type PostgresCluster } from '../support/postgres.js';

const AVAILABLE = postfixAvailable() && postgresBinDir() !== undefined;
if (!AVAILABLE) {
  process.stderr.write(
    `\n${'!'.repeat(78)}\n!!! SKIPPING test/e2e/two-hosts.test.ts: Postfix or the PostgreSQL server is not installed, or the tests do not run as root.\n!!! CI must run it: .ci/run installs postfix and postgresql.\n${'!'.repeat(78)}\n\n`,
  );
}

const MEMBERS = positive('SY_TWO_HOSTS_MEMBERS', 200);
const POSTS = positive('SY_TWO_HOSTS_POSTS', 200);
const LIST = 'crowd@lists.example.org';
const POSTER = 'm0@d0.example.net';
/** Host A is killed once it has queued this many posts (about 30%). */
const KILL_AT = Math.max(1, Math.round(POSTS * 0.3));
/** How long A's sink holds each reply at the end of DATA until A is killed: its outgoing runner is always mid-delivery. */
const HOLD_MS = 1_000;
/** Host B must queue this many posts after the kill before A comes back. */
const B_AFTER_KILL = Math.min(50, POSTS - KILL_AT);

/**
 * The figures the duplicate bound is made of; each is set in the
 * configuration below, so the bound follows from it.
 *
 * - LMTP: a post A had made durable and was about to answer 250 for when it
 *   died is delivered again by Postfix (to B): a whole post again, to every
 *   member. Postfix has at most `lmtp_destination_concurrency_limit` LMTP
 *   sessions open to the list's destination, each with one message in
 *   flight: at most POSTFIX_LMTP_CONCURRENCY posts.
 * - SMTP: a transaction the sink had accepted (it counts before its 250
 *   goes out) but whose acceptance A's outgoing runner had not yet written
 *   to its checkpoint journal is sent again after the restart: at most the
 *   transactions in flight, `[smtp] maxConnections` per outgoing process
 *   times `[runner.outgoing] instances`, each with at most
 *   min(`[smtp] maxRecipients`, members) recipients.
 * - Nothing else in the pipeline can send a member a post twice: the
 *   incoming runner moves the entry to `out` by one rename (never twice),
 *   and B is not killed.
 */
const POSTFIX_LMTP_CONCURRENCY = 10;
const SMTP_MAX_CONNECTIONS = 5;
const OUTGOING_INSTANCES = 1;
const SMTP_MAX_RECIPIENTS = 500;
const DUPLICATE_BOUND = POSTFIX_LMTP_CONCURRENCY * MEMBERS + OUTGOING_INSTANCES * SMTP_MAX_CONNECTIONS * Math.min(SMTP_MAX_RECIPIENTS, MEMBERS);

/** Ceilings for a loaded 2-core machine, not paces: every wait ends at its event. */
const PHASE_MS = 600_000;
const TEST_MS = 1_800_000;

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not ${process.env[name]}`);
  return value;
}

function member(i: number): string {
  return `m${i}@d${i % 5}.example.net`;
}

function post(n: number): Buffer {
  return Buffer.from(
    `From: M Zero <${POSTER}>\r\nTo: ${LIST}\r\nSubject: post ${n}\r\nMessage-ID: <two-hosts-${n}@example.net>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nPost number ${n}.\r\n`,
  );
}

type Host = 'A' | 'B';

/**
 * The counting sink: every (post, recipient) pair accepted, with how often
 * and from which host. One counter behind two SMTP listeners, one per host's
 * `[smtp] port`: the hosts are otherwise alike on the wire (same EHLO name,
 * same envelope), and knowing who sent a copy tells a post both hosts got
 * over LMTP from a transaction one host sent twice.
 */
class PairCounter {
  readonly pairs = new Map<string, Record<Host, number>>();
  accepted = 0;
  /** Transactions that carried none of our posts (a notice would): there should be none. */
  readonly foreign: string[] = [];

  record(host: Host, body: Buffer, recipients: readonly string[]): void {
    const end = body.indexOf('\r\n\r\n');
    const head = body.subarray(0, end < 0 ? body.length : end).toString('latin1');
    const number = /^message-id:\s*<two-hosts-(\d+)@example\.net>/im.exec(head)?.[1];
    if (number === undefined) {
      this.foreign.push(`${/^subject:(.*)$/im.exec(head)?.[1]?.trim() ?? '(no subject)'} to ${recipients.join(', ')} from host ${host}`);
      return;
    }
    for (const recipient of recipients) {
      const key = `${number} ${recipient}`;
      const seen = this.pairs.get(key) ?? { A: 0, B: 0 };
      seen[host]++;
      this.pairs.set(key, seen);
      this.accepted++;
    }
  }

  get duplicates(): number {
    return this.accepted - this.pairs.size;
  }

  /** Pairs both hosts delivered, and their posts: a post each host queued (Postfix delivered it again after a killed LMTP session). */
  crossHost(): { pairs: number; posts: number } {
    const posts = new Set<string>();
    let pairs = 0;
    for (const [key, seen] of this.pairs) {
      if (seen.A > 0 && seen.B > 0) {
        pairs++;
        posts.add(key.split(' ')[0]!);
      }
    }
    return { pairs, posts: posts.size };
  }

  /** Deliveries by `host` of a pair it had delivered already: a transaction sent again, or a post it queued twice. */
  repeats(host: Host): number {
    let repeats = 0;
    for (const seen of this.pairs.values()) repeats += Math.max(0, seen[host] - 1);
    return repeats;
  }
}

const isQueued = (line: LogLine): boolean => line.msg === 'LMTP message queued';
/** A run of one of `jobs` done (the scheduler's "job NAME ran: ..." line). */
const isRunOf =
  (jobs: ReadonlySet<string>) =>
  (line: LogLine): boolean =>
    typeof line.msg === 'string' && jobs.has(/^job (\S+) ran: /.exec(line.msg)?.[1] ?? '');

/** Resolves once `handle` has logged `count` lines matching `predicate` from line `from` on; their number. */
async function waitForCount(handle: MasterHandle, from: number, predicate: (line: LogLine) => boolean, count: number, what: string, timeoutMs = PHASE_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = handle.lines.slice(from).filter(predicate).length;
    if (seen >= count) return seen;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${seen} of ${count}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([handle.nextLine(predicate, what), new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))]).finally(() => clearTimeout(timer));
  }
}

/** Every live process started with `--home <home>`: a master and its runners. */
function processesOf(home: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const at = argv.indexOf('--home');
    if (at >= 0 && argv[at + 1] === home && isAlive(Number(name))) pids.push(Number(name));
  }
  return pids;
}

/** The ids of the `.bak` files (entries in flight) in a spool, by queue. */
async function inFlight(home: string): Promise<string[]> {
  const root = join(home, 'queues');
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.bak')).map((entry) => entry.name.slice(0, -'.bak'.length));
}

async function queueFiles(home: string, queue: string): Promise<string[]> {
  return new Switchboard({ root: join(home, 'queues'), name: queue }).files();
}

let dir: string;
let cluster: PostgresCluster;
let url: string;
/** The counting sink's two listeners: host A sends to the first, B to the second. */
let sinks: Record<Host, SmtpSink>;
let postfix: PostfixInstance;
let homeA: string;
let homeB: string;
let store: Store;
const counter = new PairCounter();
const masters: MasterHandle[] = [];
/** Hosts A and B starting, in that order (beforeAll); afterAll waits for it so that a set-up failing meanwhile leaves no master running. */
let mastersStarting: Promise<MasterHandle[]> | undefined;

function hostConfig(lmtpPort: number, httpPort: number, sinkPort: number, hosts: string[]): string {
  // Info, not the harness's debug: 100,000 deliveries would otherwise flood the test process.
  return testConfig(
    [
      // A sink slow to answer on a loaded machine must not park the mail behind a backoff of minutes: the kill is what is tested.
      `[smtp]\nport = ${sinkPort}\nmaxConnections = ${SMTP_MAX_CONNECTIONS}\nmaxRecipients = ${SMTP_MAX_RECIPIENTS}\ndestinationBackoff = "1s"\ndestinationBackoffMax = "5s"`,
      `[runner.outgoing]\ninstances = ${OUTGOING_INSTANCES}`,
      // No bounce and no email command reaches either host: two node processes fewer at each of the three master starts.
      '[runner.bounces]\nenabled = false\n\n[runner.command]\nenabled = false',
      `[lmtp]\nport = ${lmtpPort}`,
      `[http]\nport = ${httpPort}`,
      `[store]\nurl = "${url}"`,
      `[hosts]\nlmtp = [${hosts.map((host) => `"${host}"`).join(', ')}]`,
      // Two shared jobs due every second on both hosts, so claims race all through the run; a lease
      // the killed host held unfinished keeps the other hosts from later runs of that job for 5 s only.
      // The test waits for the restarted host A to win a run: each second is a race it may win, and a
      // lease it died holding frees that job after 5 s (15 s was often the longest wait of the run).
      '[cron]\nheldExpiry = "* * * * * *"\nbounceWarnings = "* * * * * *"\nleaseTimeout = "5s"',
      // Verification of DKIM/SPF/DMARC is not what this test is about, and costs each post DNS lookups.
      '[auth]\nverify = false',
      '[retry]\ninitialDelay = "1s"\nmaxDelay = "5s"',
    ].join('\n\n'),
  ).replace('level = "debug"', 'level = "info"');
}

beforeAll(async () => {
  if (!AVAILABLE) return;
  dir = await mkdtemp(join(tmpdir(), 'sy-two-hosts-'));
  cluster = await startPostgres();
  url = await cluster.database();
  await migratePostgres(url);
  await recordLeaseClaims(url);
  const listener = (host: Host): Promise<SmtpSink> =>
    SmtpSink.start({
      record: false,
      script: {
        message: (body, _from, recipients) => {
          counter.record(host, body, recipients);
          return undefined;
        },
      },
    });
  sinks = { A: await listener('A'), B: await listener('B') };
  const [lmtpA, lmtpB, httpA, httpB, smtpPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const hosts = [`127.0.0.1:${lmtpA}`, `127.0.0.1:${lmtpB}`];
  homeA = await makeHome(hostConfig(lmtpA, httpA, sinks.A.port, hosts));
  homeB = await makeHome(hostConfig(lmtpB, httpB, sinks.B.port, hosts));

  // The two masters start (sixteen runner processes) while the list is made and Postfix set up and
  // started: none of that needs the other, and no mail moves before the test begins.
  mastersStarting = Promise.all([startMaster(homeA), startMaster(homeB)]);
  mastersStarting.catch(() => undefined); // awaited below (and by afterAll); a failed start must not go unhandled meanwhile

  // One list in the shared store, made through host A's CLI (which writes A's Postfix maps); the members through the store.
  const created = await runCli(['--home', homeA, 'lists', 'create', LIST]);
  expect(created.code, created.stderr).toBe(0);
  store = openStore(homeA, { url });
  await store.addMembers(LIST, Array.from({ length: MEMBERS }, (_, i) => ({ address: member(i) })));
  const aliases = await runCli(['--home', homeA, 'aliases']);
  expect(aliases.code, aliases.stderr).toBe(0);

  postfix = new PostfixInstance(dir, smtpPort);
  await postfix.configure(
    [
      'recipient_delimiter = +',
      `relay_domains = hash:${homeA}/postfix_domains`,
      `relay_recipient_maps = hash:${homeA}/postfix_lmtp`,
      `transport_maps = hash:${homeA}/postfix_lmtp`,
      'lmtp_destination_recipient_limit = 500',
      `lmtp_destination_concurrency_limit = ${POSTFIX_LMTP_CONCURRENCY}`,
      // Postfix's default of 1 marks the whole destination ([A],[B]) dead when one
      // cohort of sessions fails, which they all do at once when A dies: delivery to
      // B would be suspended too, until the next queue run.
      'lmtp_destination_concurrency_failed_cohort_limit = 10',
      // Mail deferred by the kill comes back in seconds, not at the instance's hourly default.
      'queue_run_delay = 1s',
      'minimal_backoff_time = 1s',
      'maximal_backoff_time = 10s',
    ].join('\n'),
    '',
  );
  await postfix.start();
  masters.push(...(await mastersStarting));
}, MASTER_WAIT_MS * 3);

afterAll(async () => {
  if (!AVAILABLE) return;
  if (process.env.SY_DEBUG) process.stderr.write(`Postfix log:\n${await postfix?.logTail(80)}\n`);
  if (masters.length === 0) masters.push(...((await mastersStarting?.catch(() => undefined)) ?? []));
  // Postfix's stop (a second or more of its own) while the masters stop theirs.
  await Promise.all([
    postfix?.stop(),
    ...masters.map(async (master) => master.stop().catch(() => undefined)),
  ]);
  await store?.close();
  for (const sink of Object.values(sinks ?? {})) await sink.close();
  await cluster?.destroy();
  for (const home of [homeA, homeB]) if (home) await removeHome(home);
  if (dir) await rm(dir, { recursive: true, force: true });
}, MASTER_WAIT_MS * 2);

/**
 * Every claim of a scheduled run, as committed: a trigger on the lease table
 * (one row per job, rewritten by each claim) appends (job, run, holder) to
 * `lease_claims`. A claim whose transaction is rolled back (a serialization
 * failure, retried) leaves no row.
 */
async function recordLeaseClaims(databaseUrl: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`
      CREATE TABLE lease_claims (id BIGSERIAL PRIMARY KEY, job TEXT NOT NULL, run_key TEXT NOT NULL, holder TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
      CREATE FUNCTION record_lease_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' OR NEW.run_key IS DISTINCT FROM OLD.run_key OR NEW.holder IS DISTINCT FROM OLD.holder THEN
          INSERT INTO lease_claims (job, run_key, holder) VALUES (NEW.job, NEW.run_key, NEW.holder);
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER record_lease_claim AFTER INSERT OR UPDATE ON job_leases FOR EACH ROW EXECUTE FUNCTION record_lease_claim();
    `);
  } finally {
    await client.end();
  }
}

async function leaseClaims(): Promise<{ job: string; run_key: string; holder: string }[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ job: string; run_key: string; holder: string }>('SELECT job, run_key, holder FROM lease_claims ORDER BY id')).rows;
  } finally {
    await client.end();
  }
}

it.skipIf(!AVAILABLE)(
  `two hosts, one kill: ${POSTS} posts to ${MEMBERS} members through Postfix, host A SIGKILLed and restarted; every member gets every post, nothing shunted, each scheduled run claimed once, duplicates within the bound`,
  async () => {
    const started = Date.now();
    /** When each phase ended, in seconds from the start: printed with the figures. */
    const phases: string[] = [];
    const phase = (name: string): void => void phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const [hostA, hostB] = masters as [MasterHandle, MasterHandle];

    // The jobs that take a lease in the store, as the scheduler reports them (the others run on every host).
    const scheduler = (await hostB.status()).runners.find((runner) => runner.name === 'scheduler');
    const shared = new Set((scheduler?.info?.jobs as { name: string; shared: boolean }[]).filter((job) => job.shared).map((job) => job.name));
    expect(shared).toContain('held-expiry');
    const isSharedRun = isRunOf(shared);

    // The transport Postfix uses is the one `switchyard aliases` wrote: A, then B.
    const transport = (await readFile(join(homeA, 'postfix_lmtp'), 'utf8')).split('\n').find((line) => line.startsWith(`${LIST} `));
    expect(transport).toMatch(/ lmtp:\[127\.0\.0\.1\]:\d+,\[127\.0\.0\.1\]:\d+$/);

    // Every post into Postfix over SMTP, in the background while the rest happens, kept at most
    // SUBMIT_AHEAD posts ahead of what the hosts have queued (so the kill comes in the middle of the
    // stream, not after Postfix has handed everything to A), and paused while A is down once B has
    // shown it takes the mail, so that A gets posts again after its restart.
    // A's sink holds its replies at the end of DATA until the kill, so that A surely dies holding
    // deliveries (.bak entries): without it, an idle moment of A's runners at the kill (a quiet machine)
    // left nothing in flight, and the recovery below would be checked on nothing. The held
    // transactions are counted when their delay ends, after the kill: the re-sends that follow are
    // the in-flight duplicates the bound allows. (Set before the stream, not at the kill: waiting
    // for a hold there let A take the rest of the posts before it died.)
    sinks.A.dataDelayMs = HOLD_MS;
    const submitted = submitPosts();
    submitted.catch(() => undefined); // awaited below; a refusal must not go unhandled meanwhile

    // A takes everything while it is up (first destination); at about 30% it dies.
    await waitForCount(hostA, 0, isQueued, KILL_AT, `host A to queue ${KILL_AT} posts`);
    // No more posts until the kill is done: on a loaded machine the status request below can take
    // seconds, and A took every post meanwhile, leaving none for B to show it takes over.
    const resumeAfterKill = pauseSubmission();
    const statusPids = (await hostA.status()).runners.map((runner) => runner.pid).filter((pid): pid is number => pid !== null);
    // A's deliveries were slowed from the start (HOLD_MS at the end of each DATA), so its outgoing
    // runner is in the middle of some whenever it dies: checked here, before the kill.
    await until(async () => (await inFlight(homeA)).length > 0, 'host A to hold entries in flight');
    const bLinesAtKill = hostB.lines.length;
    // The master, the runners its lock file names, the ones its status named, and anything else running on its home: all at once.
    const lock = JSON.parse(readFileSync(join(homeA, 'master.lock'), 'utf8')) as { pid: number; runners: number[] };
    const victims = [...new Set([hostA.child.pid!, lock.pid, ...lock.runners, ...statusPids, ...processesOf(homeA)])];
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile (a runner being replaced)
      }
    }
    phase('A killed');
    sinks.A.dataDelayMs = 0;
    resumeAfterKill();
    expect(await hostA.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The lock file named every runner the master reported, and none of them outlived the kill.
    expect(lock.runners).toEqual(expect.arrayContaining(statusPids));
    await until(async () => processesOf(homeA).length === 0 && victims.every((pid) => !isAlive(pid)), 'every process of host A gone');
    // What its runners wrote before they died may still be in the pipe: read to its end before counting.
    if (!hostA.child.stdout!.readableEnded) await once(hostA.child.stdout!, 'end');
    const aQueuedBeforeKill = hostA.lines.filter(isQueued).length;

    // Postfix falls over to B; B takes at least 50 more posts and runs a shared scheduled job, as A is down.
    const bQueued = await waitForCount(hostB, bLinesAtKill, isQueued, B_AFTER_KILL, `host B to queue ${B_AFTER_KILL} posts after the kill`);
    phase(`B took ${B_AFTER_KILL}`);
    const reopen = pauseSubmission();
    const submittedBeforeRestart = submittedCount;
    await waitForCount(hostB, bLinesAtKill, isSharedRun, 1, 'host B to run a shared scheduled job after the kill');

    // A comes back and recovers what its spool had in flight.
    const bakBefore = await inFlight(homeA);
    // Killed in the middle of the stream, its incoming and outgoing runners held entries.
    expect(bakBefore.length).toBeGreaterThan(0);
    const hostA2 = await startMaster(homeA);
    masters.push(hostA2);
    phase('A restarted');
    reopen();
    const recovered = hostA2.lines.filter((line) => line.msg === 'recovered entries left in flight by a previous crash').map((line) => JSON.stringify(line));
    for (const id of bakBefore) expect(recovered.some((line) => line.includes(id)), `${id}.bak recovered`).toBe(true);

    // Both hosts claim shared runs: A's scheduler races B's for each one after
    // A's restart (before the kill it may have run too briefly for a claim).
    // Awaited with the deliveries, not after them: its runs, one a second, go on meanwhile.
    const aRanShared = waitForCount(hostA2, 0, isSharedRun, 1, 'host A to run a shared scheduled job after its restart');
    aRanShared.then(() => phase('A ran a shared job'), () => undefined); // awaited below; a failure must not go unhandled meanwhile
    await submitted;
    await untilEveryPair();
    phase('every pair delivered');
    await aRanShared;

    // Both spools drain: nothing waits, nothing is in flight, and nothing went to shunt or bad.
    for (const host of [hostA2, hostB]) {
      await host.statusWhen(
        (status) => Object.entries(status.queues).every(([queue, waiting]) => queue === 'shunt' || queue === 'bad' || waiting === 0),
        `the queues of ${host.home} empty`,
        PHASE_MS,
      );
    }
    for (const home of [homeA, homeB]) {
      await until(async () => (await inFlight(home)).length === 0, `no entry in flight in ${home}`);
      expect(await queueFiles(home, 'shunt'), `shunt of ${home}`).toEqual([]);
      expect(await queueFiles(home, 'bad'), `bad of ${home}`).toEqual([]);
    }
    expect((await postfix.queue()).length).toBe(0);
    phase('spools drained');

    // Every member got every post; nothing else went out.
    for (let n = 0; n < POSTS; n++) for (let i = 0; i < MEMBERS; i++) if (!counter.pairs.has(`${n} ${member(i)}`)) expect.fail(`post ${n} never reached ${member(i)}`);
    expect(counter.pairs.size).toBe(POSTS * MEMBERS);
    expect(counter.foreign).toEqual([]);
    // Both hosts sent posts out.
    expect(sinks.A.acceptedTransactions).toBeGreaterThan(0);
    expect(sinks.B.acceptedTransactions).toBeGreaterThan(0);

    // Each scheduled run was claimed once, whichever host ran it; both hosts claimed runs.
    const claims = await leaseClaims();
    const claimed = new Map<string, string[]>();
    for (const claim of claims) claimed.set(`${claim.job} ${claim.run_key}`, [...(claimed.get(`${claim.job} ${claim.run_key}`) ?? []), claim.holder]);
    const twice = [...claimed].filter(([, holders]) => holders.length > 1);
    expect(twice).toEqual([]);
    expect(claims.some((claim) => claim.holder.endsWith(` ${homeB}`))).toBe(true);
    expect(claims.some((claim) => claim.holder.endsWith(` ${homeA}`))).toBe(true);
    // And each run a host logged as done was that host's claim, and no run was logged done twice.
    const runs = new Map<string, number>();
    for (const [host, home] of [[hostA, homeA], [hostA2, homeA], [hostB, homeB]] as const) {
      for (const line of host.lines.filter(isSharedRun)) {
        const key = `${/^job (\S+) ran/.exec(line.msg!)![1]} ${String(line.runKey)}`;
        runs.set(key, (runs.get(key) ?? 0) + 1);
        expect(claimed.get(key)?.[0], `the claim of ${key}`).toMatch(new RegExp(` ${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      }
    }
    expect([...runs].filter(([, count]) => count > 1)).toEqual([]);
    expect(runs.size).toBeGreaterThan(0);

    // Duplicates: what the kill may cause at most (DUPLICATE_BOUND, derived above), measured.
    const aQueuedAfterRestart = hostA2.lines.filter(isQueued).length;
    const bQueuedTotal = hostB.lines.filter(isQueued).length;
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const crossHost = counter.crossHost();
    process.stdout.write(
      `two hosts, one kill: ${POSTS} posts x ${MEMBERS} members in ${seconds} s (${phases.join(', ')}); host A queued ${aQueuedBeforeKill} posts before the kill ` +
        `(${victims.length} processes SIGKILLed, ${bakBefore.length} entries in flight recovered) and ${aQueuedAfterRestart} after its restart, ` +
        `host B ${bQueuedTotal} (at least ${bQueued} while A was down); ${claims.length} scheduled runs claimed, none twice; ` +
        `duplicates: ${counter.duplicates} (post, member) pairs of ${counter.accepted} delivered, bound ${DUPLICATE_BOUND}: ` +
        `${crossHost.pairs} pairs of ${crossHost.posts} posts both hosts queued, ${counter.repeats('A')} repeated by host A, ${counter.repeats('B')} by host B\n`,
    );
    expect(aQueuedBeforeKill + aQueuedAfterRestart + bQueuedTotal).toBeGreaterThanOrEqual(POSTS);
    // Posts submitted after A came back went to A again: it is the first destination, and Postfix tries it first.
    if (submittedBeforeRestart < POSTS) expect(aQueuedAfterRestart).toBeGreaterThan(0);
    expect(counter.duplicates).toBeLessThanOrEqual(DUPLICATE_BOUND);
    // Its parts: a post reaches both hosts only through a killed LMTP session; B, never killed, repeats nothing.
    expect(crossHost.posts).toBeLessThanOrEqual(POSTFIX_LMTP_CONCURRENCY);
    expect(counter.repeats('B')).toBe(0);
  },
  TEST_MS,
);

/** Resolves once the sink has every (post, member) pair; woken by each transaction either listener accepts. */
function untilEveryPair(): Promise<void> {
  const expected = POSTS * MEMBERS;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (counter.pairs.size < expected) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${PHASE_MS} ms waiting for every (post, member) pair: ${counter.pairs.size} of ${expected}`));
    }, PHASE_MS);
    const done = (): void => {
      clearTimeout(timer);
      for (const sink of Object.values(sinks)) sink.off('change', check);
    };
    for (const sink of Object.values(sinks)) sink.on('change', check);
    check();
  });
}

/** How far the submission may run ahead of the posts the hosts have queued. */
const SUBMIT_AHEAD = 2 * POSTFIX_LMTP_CONCURRENCY;
let submissionPaused: Promise<void> | undefined;
/** Posts handed to Postfix so far. */
let submittedCount = 0;

/** Holds the submission until the function returned is called. */
function pauseSubmission(): () => void {
  let resume!: () => void;
  submissionPaused = new Promise((resolve) => (resume = resolve));
  return () => {
    submissionPaused = undefined;
    resume();
  };
}

const queuedCounts = new Map<MasterHandle, { seen: number; queued: number }>();

/** Posts queued by every host so far (a post a killed session left behind counts twice). */
function queuedTotal(): number {
  let total = 0;
  for (const master of masters) {
    const count = queuedCounts.get(master) ?? { seen: 0, queued: 0 };
    for (; count.seen < master.lines.length; count.seen++) if (isQueued(master.lines[count.seen]!)) count.queued++;
    queuedCounts.set(master, count);
    total += count.queued;
  }
  return total;
}

/** The next post any live host queues (or a second: the count is looked at again either way). */
async function nextQueued(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const live = masters.filter((master) => master.child.exitCode === null && master.child.signalCode === null);
  await Promise.race([...live.map((master) => master.nextLine(isQueued).catch(() => undefined)), new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
  clearTimeout(timer);
}

async function submitPosts(): Promise<void> {
  const submitter = nodemailer.createTransport({ host: '127.0.0.1', port: postfix.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 4, maxMessages: Infinity, logger: false });
  const sends: Promise<void>[] = [];
  try {
    for (let n = 0; n < POSTS; n++) {
      for (;;) {
        if (submissionPaused !== undefined) await submissionPaused;
        else if (n - queuedTotal() >= SUBMIT_AHEAD) await nextQueued();
        else break;
      }
      sends.push(submitter.sendMail({ envelope: { from: POSTER, to: [LIST] }, raw: post(n) }).then((info) => expect(info.accepted).toEqual([LIST])));
      submittedCount = n + 1;
    }
    await Promise.all(sends);
  } finally {
    submitter.close();
  }
}

/** Polls `probe` (the exit of processes that are not our children, files settling) until it holds, for at most PHASE_MS. */
async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + PHASE_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
