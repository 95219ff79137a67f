/**
 * The master: one per spool. It takes the lock, starts the supervisor (which
 * forks every queue runner slice and every service), answers `switchyard
 * status` on its socket, logs a stats line per process on `cron.stats`, and
 * relays signals. It does no mail work and never opens the list store: the
 * periodic jobs run in the scheduler service (runners/scheduler.ts).
 * Its log at info level is short on purpose: one "switchyard ready" line
 * saying what runs and where it listens (each runner's start is at debug),
 * a warning per queue nothing consumes, and one stats line per `cron.stats`.
 * Signals:
 *   HUP       reopen its own log and every runner's (the configuration is not reread);
 *   USR1      restart every runner (each finishes its entries first), as the
 *             socket's `restart` command does: only once switchyard.toml
 *             has been read and validated again; an invalid file is refused
 *             (logged at error level, shown in `status`) and the runners
 *             keep running the previous configuration (each runs the text
 *             the master validated last, see supervisor.ts); so is a change
 *             of which runners run or of their slices, which only a master
 *             start applies, and a `[dkim]` key file missing or unreadable
 *             (SY_DKIM_KEY), which would stop the outgoing runner;
 *   TERM/INT  stop every runner gracefully, then exit 0.
 *
 * Files: `master.lock` (created by the lock, rewritten when runner pids
 * change, removed at exit), `master.sock` (removed at exit), `logs/master.log`.
 * Killed outright: the lock stays with a dead pid and is taken over by the
 * next master, which also kills runners the dead master left behind; those
 * runners also stop by themselves when their IPC channel to it closes.
 */
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { Spool } from '../../queues/index.js';
import { SPOOL_OPTIONS, STANDARD_QUEUES } from '../../runners/queue-ids.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { loadConfiguredKeys } from '../mail/dkim/configured-keys.js';
import { DkimKeyError } from '../mail/dkim/errors.js';
import { accessError, ensureHome, homePaths } from '../home.js';
import { secretExposureWarning } from '../config/secret-exposure.js';
import { createLogger, logFilePath, type LogSetup } from '../logging.js';
import { acquireMasterLock, type MasterLock } from './lock.js';
import { configDigest, configDifferences, effectiveValues } from '../config/effective-values.js';
import type { MasterOptions, MasterStartMessage, RestartReply, RunningConfig, StatusReport } from './protocol.js';
import { StatusServer } from './status-server.js';
import { Supervisor } from './supervisor.js';
import { validatedConfigJson } from './supervisor-env.js';
import { errorCode } from '../errors.js';
import { BUILTIN_RUNNERS } from '../../runners/builtin.js';
import { unconsumedProblem, unconsumedQueues } from './unconsumed-queues.js';
import { countersLine, NOTHING_COUNTED } from '../work-counters.js';

const RUNNER_SCRIPT = fileURLToPath(new URL('./runner-process.js', import.meta.url));


function version(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function notifyParent(options: MasterOptions, message: MasterStartMessage): void {
  if (!options.notifyParent || !process.connected) return;
  process.send?.(message);
  process.disconnect();
}

export async function runMaster(options: MasterOptions): Promise<number> {
  let loaded: LoadedConfig;
  let logs: LogSetup;
  let toStdout = false;
  const paths = homePaths(options.home);
  try {
    await ensureHome(options.home);
    loaded = await loadConfig(paths.config);
    process.umask(loaded.config.queues.umask);
    const destination = loaded.config.logging.destination;
    toStdout = destination === 'stdout' || (destination === 'auto' && options.foreground);
    logs = await createLogger({
      destination: toStdout ? 'stdout' : logFilePath(paths.logs, 'master'),
      level: loaded.config.logging.level,
      base: { role: 'master' },
    });
  } catch (error) {
    const failure = accessError(error, options.home) ?? (error as Error);
    const reason = failure.message;
    notifyParent(options, { type: 'master-start-failed', reason });
    process.stderr.write(`switchyard: ${errorCode(failure)}: ${reason}\n`);
    return 1;
  }
  const log = logs.logger;
  const { config } = loaded;
  const exposure = await secretExposureWarning(paths.config, config);
  if (exposure !== undefined) log.warn({ file: paths.config }, exposure);

  let lock: MasterLock;
  try {
    lock = await acquireMasterLock(paths.lock, { force: options.force, log: (message: string) => log.warn(message) });
  } catch (error) {
    const reason = (error as Error).message;
    log.error(reason);
    notifyParent(options, { type: 'master-start-failed', reason });
    if (!options.notifyParent) process.stderr.write(`switchyard: ${errorCode(error)}: ${reason}\n`);
    return 1;
  }

  const startedAt = new Date();
  const spool = new Spool({ root: paths.queues, durability: config.queues.durability, ...SPOOL_OPTIONS });
  for (const queue of new Set<string>([...STANDARD_QUEUES, ...loaded.runners.filter((r) => r.kind === 'runner').map((r) => r.queue)])) {
    await mkdir(`${paths.queues}/${queue}`, { recursive: true, mode: 0o770 });
  }
  const supervisor = new Supervisor({
    home: options.home,
    runners: loaded.runners,
    master: config.master,
    watchdog: config.watchdog,
    runnerScript: RUNNER_SCRIPT,
    logToStdout: toStdout,
    logger: log,
    configText: loaded.text,
    configJson: validatedConfigJson(loaded),
  });
  // Each runner's progress while starting extends the deadline of the `start` waiting in the background too.
  supervisor.on('start-progress', (doing: string) => {
    if (options.notifyParent && process.connected) process.send?.({ type: 'master-starting', doing } satisfies MasterStartMessage);
  });
  supervisor.on('pids', (pids: number[]) => {
    lock.update(pids).catch((error: unknown) => log.error({ err: error }, 'could not record runner pids in the lock file'));
  });

  let running = runningConfig(loaded);
  // Validate first: an invalid file would crash-loop every runner it reached.
  const restartRunners = async (why: string): Promise<RestartReply> => {
    let next: LoadedConfig;
    try {
      next = await loadConfig(paths.config);
    } catch (error) {
      const reason = (accessError(error, options.home) ?? (error as Error)).message;
      running = { ...running, problem: `configuration in switchyard.toml is invalid, running the previous one: ${reason}` };
      log.error({ file: paths.config, code: (error as { code?: unknown }).code }, `${why}: runners NOT restarted: ${running.problem}`);
      return { ok: false, refused: running.problem! };
    }
    const changed = configDifferences(effectiveValues(next), running.values).map((d) => d.key);
    // The supervisor's slots are fixed at its start: a runner disabled or re-sliced in the file would be spawned for a slot it no longer has.
    const structural = changed.filter(isRunnerSetKey);
    if (structural.length > 0) {
      const refused = `${structural.join(', ')} changed: which runners run and their slices change only when the master starts (\`switchyard stop\`, then \`switchyard start\`)`;
      log.error({ keys: structural }, `${why}: runners NOT restarted: ${refused}`);
      // The file is valid now: an earlier "invalid" would be stale; `config show` lists what is not applied.
      running = { ...running, problem: null };
      return { ok: false, refused };
    }
    // A key file gone or unreadable would stop the outgoing runner after the restart: refused here, the running ones keep their keys.
    try {
      loadConfiguredKeys(next.config.dkim, options.home);
    } catch (error) {
      if (!(error instanceof DkimKeyError)) throw error;
      const problem = `${error.code}: ${error.message}; runners not restarted, still signing with the keys they read`;
      running = { ...running, problem };
      log.error({ code: error.code, file: error.file }, `${why}: runners NOT restarted: ${problem}`);
      return { ok: false, refused: problem };
    }
    const masterOnly = changed.filter(isMasterOnlyKey);
    if (masterOnly.length > 0) log.warn({ keys: masterOnly }, `${why}: these settings take effect only when the master itself is restarted (stop, start): ${masterOnly.join(', ')}`);
    running = runningConfig(next);
    supervisor.setConfig(next.text, validatedConfigJson(next));
    log.info({ digest: running.digest }, `${why}: configuration valid, restarting every runner`);
    supervisor.restartAll();
    return { ok: true, runners: supervisor.processCount };
  };

  const report = async (): Promise<StatusReport> => {
    const queues: Record<string, number> = {};
    for (const name of await spool.queueNames()) queues[name] = (await spool.count(name)).pck;
    const runners = supervisor.status();
    const unconsumed = unconsumedQueues(runners, queues);
    const problems = [...supervisor.problems(), ...(running.problem === null ? [] : [running.problem]), ...unconsumed.flatMap((queue) => unconsumedProblem(queue) ?? [])];
    return {
      at: new Date().toISOString(),
      master: {
        pid: process.pid,
        host: hostname(),
        home: options.home,
        startedAt: startedAt.toISOString(),
        uptime: Math.round((Date.now() - startedAt.getTime()) / 1000),
        version: version(),
      },
      runners,
      healthy: problems.length === 0,
      problems,
      unconsumed,
      queues,
      config: running,
      counters: supervisor.counters(),
    };
  };
  const statusServer = new StatusServer(paths.socket, report, () => restartRunners('restart requested'));

  let requestStop: (why: string) => void = () => undefined;
  const stopRequested = new Promise<string>((resolve) => (requestStop = resolve));
  const onTerm = (signal: string) => () => requestStop(signal);
  process.on('SIGTERM', onTerm('SIGTERM'));
  process.on('SIGINT', onTerm('SIGINT'));
  process.on('SIGHUP', () => {
    logs.reopen();
    supervisor.reopenLogs();
    log.info('SIGHUP: log files reopened');
  });
  process.on('SIGUSR1', () => {
    void restartRunners('SIGUSR1');
  });

  const tasks: ScheduledTask[] = [];
  try {
    await statusServer.listen();
    await supervisor.start();
  } catch (error) {
    const reason = (error as Error).message;
    log.error({ err: error }, `start failed: ${reason}`);
    await supervisor.stop();
    await statusServer.close();
    await lock.release();
    notifyParent(options, { type: 'master-start-failed', reason });
    if (!options.notifyParent) process.stderr.write(`switchyard: ${errorCode(error)}: start failed: ${reason}\n`);
    return 1;
  }
  const configFile = loaded.fromFile ? loaded.file : 'embedded defaults';
  log.debug({ home: options.home, runners: supervisor.processCount, config: configFile }, 'master started');
  const lmtp = loaded.runners.some((r) => r.module === BUILTIN_RUNNERS.lmtp?.module) ? `${config.lmtp.host}:${config.lmtp.port}` : null;
  const http = loaded.runners.some((r) => r.module === BUILTIN_RUNNERS.http?.module) ? `${config.http.listen}:${config.http.port}` : null;
  const ready = supervisor.readyReport();
  // What the runners found while starting (the smarthost answers) is part of the one ready line.
  log.info(
    { home: options.home, processes: supervisor.processCount, lmtp, http, config: configFile, notes: ready.notes },
    `switchyard ready: ${supervisor.processCount} runner process${supervisor.processCount === 1 ? '' : 'es'}, ${lmtp === null ? 'no lmtp listener' : `lmtp on ${lmtp}`}${http === null ? '' : `, http on ${http}`}, home ${options.home}${ready.notes.length === 0 ? '' : `; ${ready.notes.join('; ')}`}`,
  );
  for (const line of ready.degraded) log.error(`started, but ${line}`);
  for (const line of ready.warnings) log.warn(line);
  // Said at start, not only in `status`: a queue nothing takes from just grows.
  const warnings = (await report()).problems;
  for (const warning of warnings) log.warn(warning);
  notifyParent(options, { type: 'master-started', pid: process.pid, runners: supervisor.processCount, report: ready, ...(warnings.length > 0 ? { warnings } : {}) });

  // Supervision statistics only the master has; every job that touches mail or the store is the scheduler's.
  tasks.push(cron.schedule(config.cron.stats, () => logStats(report, log), { name: 'stats', noOverlap: true }));

  const why = await stopRequested;
  log.info({ why }, 'stopping every runner');
  for (const task of tasks) await task.destroy();
  await supervisor.stop();
  await statusServer.close();
  await lock.release();
  log.info('master stopped');
  logs.flush();
  return 0;
}

function runningConfig(loaded: LoadedConfig): RunningConfig {
  return { file: loaded.file, fromFile: loaded.fromFile, digest: configDigest(loaded), values: effectiveValues(loaded), loadedAt: new Date().toISOString(), problem: null };
}

/**
 * Settings the master itself reads at its start (supervision, its log, the
 * set of runners and their slices): a runner restart does not apply them.
 */
function isMasterOnlyKey(key: string): boolean {
  return /^(master|watchdog|logging)\./.test(key) || key === 'cron.stats' || key === 'queues.umask' || /^runner\.[^.]+\.watchdogTimeout$/.test(key);
}

/** Which runners run, as what and with how many slices: the supervisor's slots, fixed at its start. */
function isRunnerSetKey(key: string): boolean {
  return /^runner\.[^.]+(\.(enabled|instances|module|queue))?$/.test(key);
}

/**
 * One info line for the whole spool (a terminal or journal shows it as one
 * line), each process's counters at debug, and every problem again at error.
 */
async function logStats(report: () => Promise<StatusReport>, log: Logger): Promise<void> {
  let status: StatusReport;
  try {
    status = await report();
  } catch (error) {
    log.error({ err: error }, 'stats: could not count the queues');
    return;
  }
  const sum = (pick: (r: StatusReport['runners'][number]) => number): number => status.runners.reduce((total, r) => total + pick(r), 0);
  const running = status.runners.filter((r) => r.state === 'running').length;
  const waiting = Object.entries(status.queues)
    .filter(([, count]) => count > 0)
    .map(([queue, count]) => `${queue} ${count}`)
    .join(', ');
  // The work counters (recipients by reply class, posts by decision, ...) since the master started, when any moved.
  const counted = status.counters === undefined ? '' : countersLine(status.counters);
  const countedPart = counted === '' || counted === NOTHING_COUNTED ? '' : `; counted: ${counted}`;
  log.info(
    { processes: status.runners.length, running, processed: sum((r) => r.processed), failed: sum((r) => r.failed), inFlight: sum((r) => r.inFlight), ...(countedPart === '' ? {} : { counters: status.counters }) },
    `stats: ${running}/${status.runners.length} processes running, ${sum((r) => r.processed)} processed, ${sum((r) => r.failed)} failed, ${sum((r) => r.inFlight)} in flight; waiting: ${waiting === '' ? 'none' : waiting}${countedPart}`,
  );
  for (const runner of status.runners) log.debug({ stats: runner }, `stats ${runner.name} ${runner.slice}/${runner.numSlices}`);
  // Said again on every stats run, so a failed runner is not one log line lost among thousands.
  for (const problem of status.problems) log.error({ problem }, problem);
}
