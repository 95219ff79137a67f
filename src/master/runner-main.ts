/**
 * The body of one supervised process (runner-process.ts, which the master
 * forks once per queue runner per slice, and once per service:
 * runners/service.ts, no queue, one slice), run from the runner's bundle
 * when there is a fresh one, else from this module:
 *
 *     node runner-process.js --home DIR --runner NAME --slice S --slices N --heartbeat MS [--stdout]
 *
 * It parses the configuration the master validated (passed in its
 * environment, see supervisor.ts; the file itself only when there is none),
 * imports the runner's module, and runs it. Supervision lives here, not
 * in runners/: signals, the IPC messages for the master's watchdogs (a
 * liveness heartbeat every --heartbeat ms from the first moment, progress
 * while starting, entry progress, and the runner's status detail and work
 * counters, sent when they change), exit codes.
 *
 * SIGTERM, SIGINT: take no new entry, finish those in flight, exit 0. A second
 *   one: in-flight entries give up and are released (`.bak` back to `.pck`).
 * SIGUSR1: the same, then exit RUNNER_EXIT_RESTART so the master restarts it.
 * SIGHUP: reopen the log file.
 * The master's IPC channel closing (the master died): stop as on SIGTERM, so
 * no orphan keeps a slice that a new master's runner will own.
 * Killed outright: whatever is in flight stays `.bak` and is recovered by the
 * next process of this slice.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { ResolvedRunner } from '../config/load.js';
import type { Runner, RunnerOptions } from '../../runners/runner.js';
import type { Service, ServiceOptions } from '../../runners/service.js';
import { RUNNER_EXIT_RESTART, type ReadyReport, type RunnerMessage } from './protocol.js';
import { CONFIG_DEFAULTS_ENV, CONFIG_JSON_ENV, CONFIG_TEXT_ENV, type ValidatedConfig } from './supervisor-env.js';
import type { Config } from '../config/schema.js';
import type { CounterCounts } from '../work-counters.js';
// Everything else is imported in runnerProcessMain(), after the first heartbeat: loading it takes seconds on a
// loaded machine, and the master should hear from this process from the start.

/** At most one state report per this many ms for progress and counts (entry start and end: at once). */
const REPORT_INTERVAL_MS = 100;

type Loaded = { kind: 'runner'; Impl: new (options: RunnerOptions) => Runner } | { kind: 'service'; Impl: new (options: ServiceOptions) => Service };

function send(message: RunnerMessage): void {
  if (process.connected) process.send?.(message);
}

/**
 * How the runner's module is loaded, given its specifier (a file URL, or a
 * package name): runner-process.ts passes import(), or for the module its
 * bundle holds, the bundle's copy. Not an import() here: in a bundle that
 * would be an import() of a variable, which a bundle run by node:vm cannot do.
 */
export type RunnerModuleLoader = (specifier: string) => Promise<unknown>;

async function loadRunnerClass(runner: ResolvedRunner, loadModule: RunnerModuleLoader): Promise<Loaded> {
  const { Runner } = await import('../../runners/runner.js');
  const { Service } = await import('../../runners/service.js');
  const { RunnerSetupError } = await import('../../runners/errors.js');
  const specifier = runner.module.startsWith('/') ? pathToFileURL(runner.module).href : runner.module;
  const loaded = (await loadModule(specifier)) as { default?: unknown };
  const candidate = loaded.default;
  if (typeof candidate === 'function' && candidate.prototype instanceof Runner) return { kind: 'runner', Impl: candidate as new (options: RunnerOptions) => Runner };
  if (typeof candidate === 'function' && candidate.prototype instanceof Service) return { kind: 'service', Impl: candidate as new (options: ServiceOptions) => Service };
  throw new RunnerSetupError(`runner ${runner.name}: module ${runner.module} has no default export extending Runner or Service`);
}

/** The process's work, from its arguments (process.argv) to its exit code. */
export async function runnerProcessMain(loadModule: RunnerModuleLoader): Promise<number> {
  const { values } = parseArgs({
    options: {
      home: { type: 'string' },
      runner: { type: 'string' },
      slice: { type: 'string' },
      slices: { type: 'string' },
      heartbeat: { type: 'string' },
      stdout: { type: 'boolean', default: false },
    },
  });
  if (!values.home || !values.runner || values.slice === undefined || values.slices === undefined) {
    throw new Error('usage: runner-process --home DIR --runner NAME --slice S --slices N [--heartbeat MS]');
  }
  const heartbeatMs = Number(values.heartbeat);
  if (Number.isFinite(heartbeatMs) && heartbeatMs > 0) {
    // Sent from the event loop: a stopped process or a loop blocked in a system call misses it, and the master
    // notices. Unref'd: it must not keep a finished runner alive.
    setInterval(() => send({ type: 'heartbeat' }), heartbeatMs).unref();
  }
  send({ type: 'starting', doing: 'loading its code and configuration' });
  const { homePaths } = await import('../home.js');
  const { createLogger, logFilePath } = await import('../logging.js');
  const { RunnerSetupError } = await import('../../runners/errors.js');
  const { TaskPool } = await import('../../runners/task-pool.js');
  const paths = homePaths(values.home);
  // The configuration the master validated (see supervisor.ts), not the file as it is now; read by hand only when run outside a master.
  const masterJson = process.env[CONFIG_JSON_ENV];
  const masterText = process.env[CONFIG_TEXT_ENV];
  const masterDefaults = process.env[CONFIG_DEFAULTS_ENV] === '1';
  delete process.env[CONFIG_JSON_ENV];
  delete process.env[CONFIG_TEXT_ENV];
  delete process.env[CONFIG_DEFAULTS_ENV];
  // The TOML parser and zod (load.js) only when the master did not hand over the validated result.
  const validate = async (): Promise<ValidatedConfig<Config, ResolvedRunner>> => {
    const { loadConfig, parseConfig, resolveRunners, withBuiltinDefaults } = await import('../config/load.js');
    const { configSchema } = await import('../config/schema.js');
    if (masterText !== undefined) return parseConfig(masterText, paths.config);
    if (!masterDefaults) return loadConfig(paths.config);
    const defaults = configSchema.parse(withBuiltinDefaults({}));
    return { config: defaults, runners: resolveRunners(defaults, paths.config) };
  };
  const { config, runners } = masterJson !== undefined ? (JSON.parse(masterJson) as ValidatedConfig<Config, ResolvedRunner>) : await validate();
  process.umask(config.queues.umask);
  const resolved = runners.find((r) => r.name === values.runner);
  if (!resolved) throw new RunnerSetupError(`no enabled runner named ${values.runner} in ${paths.config}`);
  const slice = Number(values.slice);
  const numSlices = Number(values.slices);

  const logs = await createLogger({
    destination: values.stdout ? 'stdout' : logFilePath(paths.logs, resolved.name, slice, numSlices),
    level: config.logging.level,
    base: { runner: resolved.name, slice, numSlices },
  });
  const log = logs.logger;
  send({ type: 'starting', doing: `loading ${resolved.module}` });
  const loaded = await loadRunnerClass(resolved, loadModule);
  if (loaded.kind === 'service' && numSlices !== 1) {
    throw new RunnerSetupError(`${resolved.name} is a service: instances must be 1 (it owns something, a port or the schedule, that one process holds)`);
  }
  const runner: Runner | Service =
    loaded.kind === 'service'
      ? new loaded.Impl({
          name: resolved.name,
          home: values.home,
          spoolRoot: paths.queues,
          durability: config.queues.durability,
          logger: log,
          options: resolved.options,
          config,
        })
      : new loaded.Impl({
    name: resolved.name,
    queue: resolved.queue,
    slice,
    numSlices,
    spoolRoot: paths.queues,
    concurrency: resolved.concurrency,
    durability: config.queues.durability,
    maxRestores: resolved.maxRestores,
    rescanIntervalMs: config.queues.rescanInterval,
    tempMaxAgeMs: config.queues.tempMaxAge,
    retry: {
      initialDelayMs: config.retry.initialDelay,
      maxDelayMs: config.retry.maxDelay,
      jitter: config.retry.jitter,
      lifetimeMs: config.retry.maximalQueueLifetime,
    },
    logger: log,
    pool: new TaskPool({ maxThreads: config.pool.maxThreads, taskTimeoutMs: config.pool.taskTimeout }),
    options: resolved.options,
    config,
    home: values.home,
  });

  let progressAt = Date.now();
  let detail: string | undefined;
  let info: string | undefined;
  const infoOf = (): Record<string, unknown> | undefined => ('statusInfo' in runner ? runner.statusInfo() : undefined);
  let reportedAt = 0;
  let reportTimer: NodeJS.Timeout | undefined;
  const report = (): void => {
    clearTimeout(reportTimer);
    reportTimer = undefined;
    reportedAt = Date.now();
    detail = runner.statusDetail();
    const current = infoOf();
    info = current === undefined ? undefined : JSON.stringify(current);
    send({
      type: 'state',
      inFlight: runner.stats.inFlight,
      processed: runner.stats.processed,
      failed: runner.stats.failed,
      retried: runner.stats.retried,
      progressAt,
      ...(runner.stats.lastError ? { lastError: runner.stats.lastError } : {}),
      ...(detail !== undefined ? { detail } : {}),
      ...(current !== undefined ? { info: current } : {}),
      ...counted(),
    });
  };
  // The work counters travel with every report; a count made between entries
  // (an LMTP session, a refused recipient) and progress within an entry (an
  // SMTP transaction: thousands a second for a VERP post) are sent at most
  // once per REPORT_INTERVAL_MS, so a burst is one report, not one each (one
  // JSON message over IPC per transaction was an eighth of the outgoing
  // runner's CPU). The watchdog's clock is seconds at the least.
  const counted = (): { counters?: CounterCounts } => {
    const counts = runner.counters.counts();
    return Object.keys(counts).length === 0 ? {} : { counters: counts };
  };
  const reportSoon = (): void => {
    reportTimer ??= setTimeout(report, Math.max(0, reportedAt + REPORT_INTERVAL_MS - Date.now()));
  };
  runner.on('counters', reportSoon);
  const onEntry = (): void => {
    progressAt = Date.now();
    report();
  };
  runner.on('entry-start', onEntry);
  runner.on('entry-end', onEntry);
  runner.on('progress', () => {
    progressAt = Date.now();
    reportSoon();
  });
  // Not progress: the watchdog's clock (progressAt) is left alone.
  runner.on('status', () => {
    const current = infoOf();
    if (runner.statusDetail() !== detail || (current === undefined ? undefined : JSON.stringify(current)) !== info) report();
  });
  runner.on('starting', (doing: string) => send({ type: 'starting', doing }));
  runner.once('ready', (readyReport?: ReadyReport) => {
    // Debug: at info level the master's one "switchyard ready" line says it for every process.
    if (loaded.kind === 'service') log.debug('service ready');
    else log.debug({ queue: resolved.queue, concurrency: resolved.concurrency }, 'runner ready');
    send({ type: 'ready', kind: loaded.kind, ...(readyReport === undefined ? {} : { report: readyReport }) });
    // What it learnt while starting (a listen failure, the smarthost check) is in `status` from the first moment.
    if (runner.statusDetail() !== undefined || infoOf() !== undefined) report();
  });

  let exitCode = 0;
  let stopRequests = 0;
  const stop = (why: string, code: number): void => {
    stopRequests++;
    if (stopRequests === 1) {
      exitCode = code;
      log.info({ why }, 'stopping: finishing entries in flight');
      void runner.stop();
    } else {
      log.warn({ why }, 'stopping now: releasing entries in flight');
      runner.abort();
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  // Ctrl-C in a terminal reaches the whole process group; under a master the
  // master decides (it sends TERM), so a second stop request does not turn a
  // graceful stop into an abort.
  process.on('SIGINT', () => {
    if (!process.connected) stop('SIGINT', 0);
  });
  process.on('SIGUSR1', () => stop('SIGUSR1: restart requested', RUNNER_EXIT_RESTART));
  process.on('SIGHUP', () => {
    logs.reopen();
    log.info('log file reopened');
  });
  process.on('disconnect', () => stop('the master went away', 0));

  try {
    await runner.run();
  } catch (error) {
    log.fatal({ err: error }, 'runner failed');
    logs.flush();
    return 1;
  }
  // Counts not yet reported are not lost with the process.
  if (reportTimer !== undefined) report();
  log.debug({ exitCode, processed: runner.stats.processed, failed: runner.stats.failed }, 'runner stopped');
  logs.flush();
  return exitCode;
}
