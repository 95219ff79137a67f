/**
 * The scheduler service: the periodic jobs, each on its `[cron]` schedule,
 * so the master itself does no mail work and never opens the list store.
 *
 *   held-expiry      discard held posts past their list's maxDaysToHold (shared)
 *   bounce-warnings  the bounce warnings pass; its notices go to `virgin` (shared)
 *   pending-requests remove lapsed membership requests, tell owners of waiting ones (shared)
 *   digests          send each list's digest when due (size or its digestSendPeriodic), finish
 *                    one a killed sender left (shared; src/app/digests.ts)
 *   temp-cleanup     remove temp files crashed writers left in this host's spool
 *   list-refusals    count the destinations that refused a list in the last 24 hours
 *                    (blocked, spamdetected, policyviolation, securityerror bounces),
 *                    for `switchyard status`: read only, on every host
 *
 * A shared job works on the list store, which several hosts may share
 * (`[store] path`): before each run it claims that run in the store
 * (Store.claimJobRun: a lease row keyed by the run's scheduled time, with an
 * expiry), so with several schedulers on one store each run happens once.
 * A job local to this host (temp-cleanup) takes no lease.
 *
 * Each job's last run and outcome (ok, failed, skipped: claimed elsewhere) is
 * this service's statusInfo(), shown by `switchyard status --json`; a failed
 * one is also its status detail and an error in the log. The last refusal
 * counts are in statusInfo() (`refusals`) and, as a problem an operator must
 * act on (a provider blocking the list), in the status detail too: the
 * master gets the figure from here and never opens the store itself. A job never takes
 * the service down: a busy store or a broken list fails that run, and the
 * next run tries again.
 *
 * Files: none of its own. Killed during a run: a shared run's lease stays
 * unfinished until `cron.leaseTimeout`, so no other host starts a later run
 * of that job before then; the work itself is per item (one store
 * transaction per held post or member, one enqueue per notice), so the next
 * run simply does what is left.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import cron, { type ScheduledTask, type TaskContext } from 'node-cron';
import { Spool, Switchboard } from '../queues/index.js';
// Each job's application code is imported when the job first runs (see the jobs' methods): an hourly or
// daily job need not sit in an idle scheduler's memory from its start.
import { openStore, storeOptions, type DomainRefusals, type Store } from '../src/store/index.js';
import { SPOOL_OPTIONS, SWITCHBOARD_OPTIONS, VIRGIN_QUEUE } from './queue-ids.js';
import { Service, type ServiceOptions } from './service.js';

/** How many destinations the status detail names; statusInfo() has them all. */
const REFUSALS_NAMED = 5;

export type JobOutcome = 'ok' | 'failed' | 'skipped';

export interface JobStatus {
  name: string;
  schedule: string;
  /** Runs once for all hosts on the store (takes a lease), or on every host. */
  shared: boolean;
  /** Runs done here (not counting skipped ones). */
  runs: number;
  /** The scheduled time of the last run considered, ISO. */
  lastRunAt: string | null;
  lastOutcome: JobOutcome | null;
  /** What it did, why it failed, or who ran it instead. */
  lastDetail: string;
}

interface Job {
  name: string;
  schedule: string;
  shared: boolean;
  /** Do the work for the run scheduled at `at`; a one-line summary of what was done. */
  run(at: Date): Promise<string>;
}

export default class SchedulerService extends Service {
  private readonly jobs: Job[];
  private readonly status = new Map<string, JobStatus>();
  private readonly holder: string;
  private readonly runsInFlight = new Set<Promise<void>>();
  private store: Store | undefined;
  /** The last list-refusals run's counts (window REFUSAL_WINDOW_MS), most first. */
  private refusals: DomainRefusals[] = [];

  constructor(options: ServiceOptions) {
    super(options);
    const { cron: schedules, queues } = options.config;
    this.holder = `${hostname()} pid ${process.pid} ${options.home}`;
    this.jobs = [
      { name: 'held-expiry', schedule: schedules.heldExpiry, shared: true, run: () => this.expireHeld() },
      { name: 'bounce-warnings', schedule: schedules.bounceWarnings, shared: true, run: () => this.bounceWarnings() },
      { name: 'pending-requests', schedule: schedules.pendingRequests, shared: true, run: () => this.pendingRequests() },
      { name: 'digests', schedule: schedules.digests, shared: true, run: (at) => this.digests(at) },
      { name: 'temp-cleanup', schedule: schedules.tempCleanup, shared: false, run: () => this.cleanTemps(queues.tempMaxAge) },
      { name: 'list-refusals', schedule: schedules.listRefusals, shared: false, run: () => this.countRefusals() },
    ];
    for (const job of this.jobs) {
      this.status.set(job.name, { name: job.name, schedule: job.schedule, shared: job.shared, runs: 0, lastRunAt: null, lastOutcome: null, lastDetail: '' });
    }
  }

  override statusInfo(): Record<string, unknown> {
    return { jobs: [...this.status.values()].map((job) => ({ ...job })), refusals: this.refusals.map((refusal) => ({ ...refusal, window: '24h' })) };
  }

  override statusDetail(): string | undefined {
    const failed = [...this.status.values()].filter((job) => job.lastOutcome === 'failed');
    const parts = failed.map((job) => `job ${job.name} failed (run of ${job.lastRunAt}): ${job.lastDetail}`);
    if (this.refusals.length > 0) {
      const named = this.refusals.slice(0, REFUSALS_NAMED).map((r) => `${r.domain} refused ${r.list} ${r.count} time${r.count === 1 ? '' : 's'} in 24h (${r.reason})`);
      const more = this.refusals.length > REFUSALS_NAMED ? `; and ${this.refusals.length - REFUSALS_NAMED} more` : '';
      parts.push(`destinations refusing lists: ${named.join('; ')}${more}; \`switchyard bounces LIST\` has the replies`);
    }
    return parts.length === 0 ? undefined : parts.join('; ');
  }

  protected async serve(): Promise<void> {
    const tasks: ScheduledTask[] = this.jobs.map((job) =>
      cron.schedule(job.schedule, (context: TaskContext) => this.tick(job, context.date), { name: `scheduler-${job.name}`, noOverlap: true }),
    );
    this.log.debug({ jobs: this.jobs.map(({ name, schedule, shared }) => ({ name, schedule, shared })) }, 'scheduler ready');
    this.ready();
    try {
      await this.stopRequested;
    } finally {
      for (const task of tasks) await task.destroy();
      await Promise.all(this.runsInFlight);
      await this.store?.close();
    }
  }

  /** One scheduled run: claim it if shared, run it, record the outcome. */
  private tick(job: Job, scheduledAt: Date): Promise<void> {
    const run = this.runOnce(job, scheduledAt).finally(() => this.runsInFlight.delete(run));
    this.runsInFlight.add(run);
    return run;
  }

  private async runOnce(job: Job, scheduledAt: Date): Promise<void> {
    if (this.stopping) return;
    // Every host computes the same key for the same scheduled run: its time, to the second.
    const runKey = new Date(Math.floor(scheduledAt.getTime() / 1000) * 1000).toISOString();
    const log = this.log.child({ job: job.name, runKey });
    try {
      if (job.shared) {
        const now = this.now();
        const claim = await this.openedStore().claimJobRun(job.name, {
          runKey,
          holder: this.holder,
          now: new Date(now),
          expiresAt: new Date(now + this.options.config.cron.leaseTimeout),
        });
        if (!claim.claimed) {
          const detail = claim.why === 'done' ? `run ${claim.runKey} claimed by ${claim.holder}` : `an earlier run (${claim.runKey}) is still held by ${claim.holder}`;
          this.record(job, runKey, 'skipped', detail);
          log.debug({ outcome: 'skipped', detail }, `job ${job.name} skipped: ${detail}`);
          return;
        }
      }
      const detail = await job.run(scheduledAt);
      this.record(job, runKey, 'ok', detail);
      this.stats.processed++;
      log.info({ outcome: 'ok', detail }, `job ${job.name} ran: ${detail}`);
      if (job.shared) await this.finish(job, runKey, 'ok', detail);
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.record(job, runKey, 'failed', detail);
      this.stats.failed++;
      this.stats.lastError = { message: `job ${job.name}: ${detail}`, at: new Date(this.now()).toISOString(), entry: '-' };
      log.error({ err: error, outcome: 'failed' }, `job ${job.name} failed; the next run tries again`);
      if (job.shared) await this.finish(job, runKey, 'failed', detail);
    }
    this.progress();
  }

  private async finish(job: Job, runKey: string, outcome: 'ok' | 'failed', detail: string): Promise<void> {
    try {
      await this.openedStore().finishJobRun(job.name, this.holder, runKey, { at: new Date(this.now()), outcome, detail });
    } catch (error) {
      // The lease then just runs out (cron.leaseTimeout); the work is done either way.
      this.log.warn({ err: error, job: job.name, runKey }, 'could not record the end of a job run in the store');
    }
  }

  private record(job: Job, runKey: string, outcome: JobOutcome, detail: string): void {
    const status = this.status.get(job.name)!;
    status.lastRunAt = runKey;
    status.lastOutcome = outcome;
    status.lastDetail = detail;
    if (outcome !== 'skipped') status.runs++;
    this.statusChanged();
  }

  /** Opened on the first shared job: a scheduler whose jobs never come due never touches the store. */
  private openedStore(): Store {
    this.store ??= openStore(this.options.home, storeOptions(this.options.config));
    return this.store;
  }

  private async expireHeld(): Promise<string> {
    const { expireHeldPosts } = await import('../src/app/moderation.js');
    const expired = await expireHeldPosts({ store: this.openedStore(), now: () => new Date(this.now()), log: this.log });
    return `${expired.length} held post${expired.length === 1 ? '' : 's'} expired`;
  }

  private async bounceWarnings(): Promise<string> {
    const virgin = new Switchboard({ root: this.options.spoolRoot, name: VIRGIN_QUEUE, durability: this.options.durability, ...SWITCHBOARD_OPTIONS });
    const { runWarningsPass } = await import('../src/bounce/warnings.js');
    const result = await runWarningsPass({
      store: this.openedStore(),
      now: this.now,
      enqueue: async (notice) => void (await virgin.enqueue(notice.message, notice.metadata)),
    });
    const level = result.warned.length + result.removed.length > 0 ? 'info' : 'debug';
    this.log[level]({ warned: result.warned, removed: result.removed, staleScoresReset: result.staleScoresReset, lists: result.lists }, 'bounce warnings pass');
    return `${result.warned.length} warned, ${result.removed.length} removed, ${result.staleScoresReset} stale scores reset`;
  }

  private async pendingRequests(): Promise<string> {
    const virgin = new Switchboard({ root: this.options.spoolRoot, name: VIRGIN_QUEUE, durability: this.options.durability, ...SWITCHBOARD_OPTIONS });
    const [{ runPendingRequestsPass }, { removeExpiredWebState }] = await Promise.all([import('../src/app/subscriptions.js'), import('../src/app/web-login.js')]);
    const ctx = { store: this.openedStore(), now: () => new Date(this.now()) };
    const result = await runPendingRequestsPass({ ...ctx, enqueue: (_queue, message, metadata) => virgin.enqueue(message, metadata), log: this.log });
    // Expired web login links and sessions too: otherwise only a login removes them.
    const webState = await removeExpiredWebState(ctx);
    return `${result.expired} lapsed request${result.expired === 1 ? '' : 's'} removed, owners told of ${result.ownersNotified}, ${webState} expired web login${webState === 1 ? '' : 's'} or session${webState === 1 ? '' : 's'} removed`;
  }

  private async digests(at: Date): Promise<string> {
    const [{ runDigestsPass }, { spoolDigestOutbox }] = await Promise.all([import('../src/app/digests.js'), import('../src/app/digest-outbox.js')]);
    const outbox = spoolDigestOutbox({ queues: this.options.spoolRoot, staging: join(this.options.home, 'digests') }, this.options.durability);
    const result = await runDigestsPass({ store: this.openedStore(), now: () => new Date(this.now()), log: this.log, outbox }, at, (expression, when) => this.cronMatches(expression, when));
    const posts = result.sent.reduce((sum, issue) => sum + issue.posts, 0);
    if (result.failed.length > 0) throw new Error(`digests of ${result.failed.join(', ')} failed (see the log); ${result.sent.length} sent`);
    return `${result.sent.length} digest issue${result.sent.length === 1 ? '' : 's'} sent (${posts} posts)`;
  }

  private readonly cronTasks = new Map<string, ScheduledTask | null>();

  /** Whether a list's cron expression fires in the minute of `at`; an invalid one never does (warned once). */
  private cronMatches(expression: string, at: Date): boolean {
    if (!this.cronTasks.has(expression)) {
      const valid = cron.validate(expression);
      if (!valid) this.log.warn({ expression }, 'a list setting holds an invalid cron expression: it never fires');
      this.cronTasks.set(expression, valid ? cron.createTask(expression, () => undefined) : null);
    }
    const task = this.cronTasks.get(expression);
    const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    return task != null && task.match(minute);
  }

  private async countRefusals(): Promise<string> {
    const { REFUSAL_WINDOW_MS } = await import('../src/app/bounces.js');
    const refusals = await this.openedStore().domainRefusals(new Date(this.now() - REFUSAL_WINDOW_MS));
    const changed = JSON.stringify(refusals) !== JSON.stringify(this.refusals);
    this.refusals = refusals;
    if (changed && refusals.length > 0) this.log.warn({ refusals }, 'destinations refusing lists in the last 24 hours');
    const total = refusals.reduce((sum, refusal) => sum + refusal.count, 0);
    return `${total} refusal${total === 1 ? '' : 's'} of lists by ${new Set(refusals.map((r) => r.domain)).size} destination(s) in 24h`;
  }

  private async cleanTemps(maxAgeMs: number): Promise<string> {
    const spool = new Spool({ root: this.options.spoolRoot, durability: this.options.durability, ...SPOOL_OPTIONS });
    let removed = 0;
    for (const name of await spool.queueNames()) removed += await spool.switchboard(name).removeStaleTemps(maxAgeMs);
    if (removed > 0) this.log.warn({ removed }, 'removed temp files left by crashed writers');
    return `${removed} stale temp file${removed === 1 ? '' : 's'} removed`;
  }
}
