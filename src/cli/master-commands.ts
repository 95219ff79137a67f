/**
 * `switchyard start | stop | restart | reopen | status`: run the master, or
 * talk to the running one through its lock (pid, for signals) and its socket
 * (status, and learning of its exit). master.ts and the configuration
 * (zod) are imported in the actions that use them, so that `status`,
 * `restart` and `reopen` load neither the supervisor, pino and node-cron
 * nor zod.
 *
 * Background start: the CLI re-executes itself as `start --daemon`, detached
 * (own session, so a closing terminal does not HUP it), and waits for the
 * one MasterStartMessage the master sends over IPC once every runner is up
 * or the start has failed. These commands write nothing to the spool.
 */
import { spawn } from 'node:child_process';
import { Command, Option } from 'commander';
import { homePaths, resolveHome } from '../home.js';
import { MasterAccessError, MasterNotRunningError, MasterRunningError } from '../master/errors.js';
import { holderState, readMasterLock } from '../master/lock.js';
import { isAlive } from '../master/proc.js';
import type { LockInfo, MasterStartMessage, ReadyReport, StatusReport } from '../master/protocol.js';
import { requestRestart, requestStatus, watchMaster } from '../master/status-client.js';
import { CliError, EXIT_ERROR, EXIT_NOT_RUNNING, EXIT_UNHEALTHY } from './exit-codes.js';
import { existingHome, homeCliError } from './home-option.js';
import { renderStatus } from './status-view.js';

export { formatAge } from './status-view.js';

/** Beyond the configured startTimeout: the master reports a slow start itself, this only catches a hung one. */
const START_REPORT_GRACE_MS = 30_000;
/**
 * Beyond the configured stopTimeout, after which the master kills what is left
 * and exits: `stop` gives up waiting then, so a hung master cannot hang it.
 * As long as the stop timeout itself, between 1 s and 10 s: killing and reaping
 * the runners takes the master far less than its runners were given to finish,
 * and a short stop timeout (tests set 1 s) does not make `stop` wait 10 s more.
 */
const STOP_REPORT_GRACE_MIN_MS = 1_000;
const STOP_REPORT_GRACE_MAX_MS = 10_000;

export function stopReportGraceMs(stopTimeoutMs: number): number {
  return Math.min(STOP_REPORT_GRACE_MAX_MS, Math.max(STOP_REPORT_GRACE_MIN_MS, stopTimeoutMs));
}
/** After the socket closes the master only releases its lock and flushes: this is ample. */
const EXIT_AFTER_CLOSE_MS = 10_000;
/** When there is no socket to watch (a master still starting), how long `stop` waits for the pid to go. */
const EXIT_WITHOUT_SOCKET_MS = 120_000;

export function masterCommands(): Command[] {
  return [startCommand(), stopCommand(), restartCommand(), reopenCommand(), statusCommand()];
}

/** The home of stop, restart, reopen and status: it must exist (only start creates one). */
function homeOf(command: Command): string {
  return existingHome(command);
}

function startCommand(): Command {
  return new Command('start')
    .description('start the master and every runner; in the background unless --foreground')
    .option('--foreground', 'stay attached, logging to stdout (systemd, npm start); TERM or Ctrl-C stops it')
    .option('--force', "take over a lock held by a master on another host (only when that host's master is really gone)")
    .option('--allow-degraded', 'exit 0 even when the master started degraded (say, the LMTP port is taken); the output still says so')
    .addOption(new Option('--daemon', 'the background master itself, spawned by `start`').hideHelp())
    .addHelpText(
      'after',
      '\nIt prints what the runners found while starting: whether the smarthost ([smtp]) answers (a warning when not:' +
        '\nmail then waits in retry), and anything that does not work ("started, but lmtp is not listening on ...").' +
        '\n\nExit codes: 0 started (or, with --foreground, stopped cleanly), 1 the start failed (the message says why),' +
        '\n4 the master runs but degraded (something does not work; the output says what) unless --allow-degraded.',
    )
    .action(async (options: { foreground?: boolean; force?: boolean; daemon?: boolean; allowDegraded?: boolean }, command: Command) => {
      const home = resolveHome(command.optsWithGlobals<{ home?: string }>().home);
      const force = options.force === true;
      if (options.foreground || options.daemon) {
        // Nobody reads the daemon's stderr once `start` has returned: a late write must not kill it with EPIPE.
        if (options.daemon) process.stderr.on('error', () => undefined);
        // The parent `start` checked the store already; `start --foreground` (systemd, npm start) checks it here,
        // so an old PostgreSQL schema is refused with the command to run rather than every runner failing.
        if (options.foreground) await refuseUnusableStore(home);
        const { runMaster } = await import('../master/master.js');
        process.exitCode = await runMaster({ home, foreground: options.foreground === true, notifyParent: options.daemon === true, force });
        return;
      }
      await startInBackground(home, force, options.allowDegraded === true);
    });
}

/** `start --foreground`: SY_STORE_MIGRATE / SY_STORE_SCHEMA as a CliError; a bad configuration is left to the master, which reports it. */
async function refuseUnusableStore(home: string): Promise<void> {
  const { loadConfig } = await import('../config/load.js');
  let config: Awaited<ReturnType<typeof loadConfig>>['config'];
  try {
    ({ config } = await loadConfig(homePaths(home).config));
  } catch {
    return;
  }
  try {
    const warning = await (await import('../app/store-admin.js')).checkHomeStore(home, config);
    if (warning !== undefined) process.stderr.write(`switchyard: warning: ${warning}\n`);
  } catch (error) {
    throw homeCliError(error, home) ?? CliError.of(error, (error as Error).message);
  }
}

async function startInBackground(home: string, force: boolean, allowDegraded: boolean): Promise<void> {
  const paths = homePaths(home);
  const holder = await readMasterLock(paths.lock);
  if (holder && holderState(holder) === 'alive') {
    const running = new MasterRunningError(home, holder);
    throw CliError.of(running, running.message);
  }
  const script = process.argv[1];
  if (script === undefined) throw new CliError('cannot tell which script to run the master with (process.argv[1] is missing)');
  // A bad configuration fails here at once; the master would only report the same later.
  let startTimeout: number;
  let exposure: string | undefined;
  try {
    const [{ loadConfig }, { secretExposureWarning }] = await Promise.all([import('../config/load.js'), import('../config/secret-exposure.js')]);
    const { config } = await loadConfig(paths.config);
    startTimeout = config.master.startTimeout;
    exposure = await secretExposureWarning(paths.config, config);
    // A PostgreSQL store older than this switchyard: refused here, with the command to run, rather than every runner failing.
    const storeWarning = await (await import('../app/store-admin.js')).checkHomeStore(home, config);
    if (storeWarning !== undefined) process.stderr.write(`switchyard: warning: ${storeWarning}\n`);
  } catch (error) {
    throw homeCliError(error, home) ?? CliError.of(error, (error as Error).message);
  }
  // The master logs it too, but into a file nobody is watching now.
  if (exposure !== undefined) process.stderr.write(`switchyard: warning: ${exposure}\n`);

  const child = spawn(process.execPath, [script, '--home', home, 'start', '--daemon', ...(force ? ['--force'] : [])], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: process.env,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  type Outcome = MasterStartMessage | { type: 'gone'; why: string } | { type: 'timeout' };
  let lastProgress: string | undefined;
  const outcome = await new Promise<Outcome>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const done = (value: Outcome): void => {
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      clearTimeout(silence);
      resolve(value);
    };
    // The master fails a start whose runners say nothing for startTimeout; this only catches a master that says nothing at all.
    let silence = setTimeout(() => done({ type: 'timeout' }), startTimeout + START_REPORT_GRACE_MS);
    child.on('message', (message: MasterStartMessage) => {
      if (message.type === 'master-starting') {
        lastProgress = message.doing;
        clearTimeout(silence);
        silence = setTimeout(() => done({ type: 'timeout' }), startTimeout + START_REPORT_GRACE_MS);
        return;
      }
      done(message);
    });
    child.once('error', (error) => done({ type: 'gone', why: `could not be run (${error.message})` }));
    // 'close' rather than 'exit': by then its stderr has been read to the end.
    child.once('close', (code, signal) => done({ type: 'gone', why: `exited with ${signal ?? `code ${code}`}` }));
    child.once('disconnect', () => {
      // Once decided (its report, or our own disconnect() below after it), nothing is left to wait for: a timer
      // armed then would keep this process alive 2 s after its answer.
      if (settled) return;
      // Its last message, if any, is emitted before 'disconnect'; give the exit that normally follows a moment to show its stderr.
      timers.push(setTimeout(() => done({ type: 'gone', why: 'closed its IPC channel' }), 2_000));
    });
  });

  // Detach for good: neither the IPC channel nor the stderr pipe may keep this process alive.
  if (child.connected) child.disconnect();
  child.stderr?.destroy();
  child.unref();

  switch (outcome.type) {
    case 'master-started': {
      process.stdout.write(`switchyard: master started (pid ${outcome.pid}, ${outcome.runners} runner process${outcome.runners === 1 ? '' : 'es'})\n`);
      process.stdout.write(renderReadyReport(outcome.report ?? {}));
      const degraded = outcome.report?.degraded ?? [];
      if (degraded.length > 0 && !allowDegraded) {
        process.stderr.write(`switchyard: the master runs degraded (${degraded.length} problem${degraded.length === 1 ? '' : 's'} above): exit ${EXIT_UNHEALTHY}; \`start --allow-degraded\` accepts that\n`);
        process.exitCode = EXIT_UNHEALTHY;
      }
      // What needs an operator already (a queue nothing consumes): said here too, since nobody reads the log yet.
      for (const warning of outcome.warnings ?? []) process.stderr.write(`switchyard: warning: ${warning}\n`);
      return;
    }
    case 'master-start-failed':
      throw new CliError(`the master did not start: ${outcome.reason}`, EXIT_ERROR, { code: 'SY_START_FAILED' });
    case 'timeout':
      throw new CliError(
        `the master (pid ${child.pid}) has reported nothing for ${Math.round((startTimeout + START_REPORT_GRACE_MS) / 1000)}s` +
          `${lastProgress ? ` (last: ${lastProgress})` : ''}; see ${paths.logs}/master.log`,
      );
    case 'gone':
      throw new CliError(`the master ${outcome.why} before reporting its start${stderr.trim() ? `:\n${stderr.trimEnd()}` : ''}`);
  }
}

/** What the runners found while starting, one line each: degraded first. */
export function renderReadyReport(report: ReadyReport): string {
  return [
    ...(report.degraded ?? []).map((line) => `switchyard: started, but ${line}\n`),
    ...(report.warnings ?? []).map((line) => `switchyard: warning: ${line}\n`),
    ...(report.notes ?? []).map((line) => `switchyard: ${line}\n`),
  ].join('');
}

/** The live master of `home` on this host; CliError (exit 3) when there is none. */
async function runningMaster(home: string): Promise<LockInfo> {
  const holder = await readMasterLock(homePaths(home).lock);
  if (holder === undefined) throw notRunning(home);
  const state = holderState(holder);
  if (state === 'foreign') throw notRunning(home, `master.lock names host ${holder.host}: run this there`);
  if (state === 'reused') throw notRunning(home, `master.lock names pid ${holder.pid}, which now runs something else`);
  if (state !== 'alive') throw notRunning(home, `master.lock names pid ${holder.pid}, which is gone`);
  return holder;
}

function notRunning(home: string, detail?: string): CliError {
  const missing = new MasterNotRunningError(home, detail);
  return CliError.of(missing, missing.message, EXIT_NOT_RUNNING);
}

function signalMaster(home: string, master: LockInfo, signal: NodeJS.Signals): void {
  try {
    process.kill(master.pid, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw notRunning(home);
    if (code === 'EPERM') throw new CliError(`not permitted to signal the master (pid ${master.pid}): run this as the user it runs as`, EXIT_ERROR);
    throw error;
  }
}

function stopCommand(): Command {
  return new Command('stop')
    .description('stop the master: runners finish their entries (up to master.stopTimeout), then everything exits')
    .addHelpText('after', '\nExit codes: 0 stopped, 1 error, 3 no master was running.')
    .action(async (_options: unknown, command: Command) => {
      const home = homeOf(command);
      const master = await runningMaster(home);
      // A configuration that no longer loads must not keep anyone from stopping the master: the default then.
      const [{ loadConfig }, { configSchema }] = await Promise.all([import('../config/load.js'), import('../config/schema.js')]);
      const stopTimeout = await loadConfig(homePaths(home).config).then(
        ({ config }) => config.master.stopTimeout,
        () => configSchema.parse({}).master.stopTimeout,
      );
      // Watch first, then signal: the exit cannot slip between the two.
      const watch = await watchMaster(homePaths(home).socket).catch((error: unknown) => {
        if (error instanceof MasterNotRunningError) return undefined;
        throw error;
      });
      signalMaster(home, master, 'SIGTERM');
      if (watch) {
        const grace = stopReportGraceMs(stopTimeout);
        const limit = stopTimeout + grace;
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = await Promise.race([
          watch.exited.then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limit))),
        ]);
        clearTimeout(timer);
        if (gaveUp) {
          watch.close();
          throw new CliError(
            `the master (pid ${master.pid}) has not exited ${Math.round(limit / 1000)} s after TERM (master.stopTimeout + ${Math.round(grace / 1000)} s); see ${homePaths(home).logs}/master.log; \`kill -KILL ${master.pid}\` ends it, and its runners' entries are recovered at the next start`,
          );
        }
      }
      // No socket yet (still starting) or it just closed it: the pid going away is the exit.
      if (!(await pidGone(master.pid, watch ? EXIT_AFTER_CLOSE_MS : EXIT_WITHOUT_SOCKET_MS))) {
        throw new CliError(`the master (pid ${master.pid}) has not exited yet; see ${homePaths(home).logs}/master.log`);
      }
      process.stdout.write('switchyard: master stopped\n');
    });
}

/** Bounded poll, only for the last moments of an exit the socket cannot report. */
async function pidGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function signalCommand(name: string, signal: NodeJS.Signals, description: string, done: string): Command {
  return new Command(name)
    .description(description)
    .addHelpText('after', '\nExit codes: 0 signalled, 1 error, 3 no master is running.')
    .action(async (_options: unknown, command: Command) => {
      const home = homeOf(command);
      const master = await runningMaster(home);
      signalMaster(home, master, signal);
      process.stdout.write(`switchyard: ${done} (${signal} to pid ${master.pid})\n`);
    });
}

/**
 * Validate switchyard.toml here first (the clearest error, before anything
 * happens), then ask the master over its socket, which validates again (the
 * file may change in between, and SIGUSR1 reaches it without this check) and
 * answers whether it restarted the runners or refused.
 */
function restartCommand(): Command {
  return new Command('restart')
    .description('restart every runner (each finishes its entries first) on the current switchyard.toml; the master stays. An invalid switchyard.toml is refused: the runners keep running the previous configuration')
    .option('--json', 'print the outcome as JSON: {"restarted": true, "runners": N, "pid": P} or {"restarted": false, "refused": "..."}')
    .addHelpText('after', '\nExit codes: 0 runners restarting, 1 refused (switchyard.toml is invalid; the message says why) or another error, 3 no master is running.')
    .action(async (options: { json?: boolean }, command: Command) => {
      const home = homeOf(command);
      const master = await runningMaster(home);
      const paths = homePaths(home);
      const refuse = (reason: string): never => {
        const error = new CliError(`not restarting: ${reason}`, EXIT_ERROR, { reportedAsJson: options.json === true });
        if (options.json) {
          const { code, message, temporary } = error;
          process.stdout.write(`${JSON.stringify({ restarted: false, refused: reason, pid: master.pid, error: { code, message, temporary } })}\n`);
        }
        throw error;
      };
      // Loaded here, not at the top: `status` and `reopen` need no zod.
      const { loadConfig } = await import('../config/load.js');
      try {
        await loadConfig(paths.config);
      } catch (error) {
        const access = homeCliError(error, home);
        if (access !== undefined) throw access;
        refuse(`configuration in switchyard.toml is invalid, the runners keep running the previous one: ${(error as Error).message}`);
      }
      let reply: Awaited<ReturnType<typeof requestRestart>>;
      try {
        reply = await requestRestart(paths.socket);
      } catch (error) {
        if (error instanceof MasterNotRunningError) throw notRunning(home);
        if (error instanceof MasterAccessError) throw new CliError(error.message, EXIT_ERROR);
        throw error;
      }
      if (!reply.ok) refuse(reply.refused);
      else if (options.json) process.stdout.write(`${JSON.stringify({ restarted: true, runners: reply.runners, pid: master.pid })}\n`);
      else process.stdout.write(`switchyard: runners restarting (${reply.runners} process${reply.runners === 1 ? '' : 'es'}, master pid ${master.pid})\n`);
    });
}

function reopenCommand(): Command {
  return signalCommand('reopen', 'SIGHUP', 'reopen every log file (after logrotate has renamed them)', 'log files reopened');
}

function statusCommand(): Command {
  return new Command('status')
    .description('the master, every runner slice (pid, state, restarts, processed, failed), queue depths and work counters')
    .option('--json', 'print the status report as JSON')
    .addHelpText(
      'after',
      '\nLAST ERROR: the reason, how long ago and the entry, cut to the terminal width (whole in --json, `lastErrorInfo`);' +
        '\nonce the runner succeeds again it reads "(recovered 3m ago) ..." for an hour, then is left out.' +
        '\ncounted since the master started: recipients by SMTP reply class, bounces, LMTP sessions and rejects, ...' +
        '\n(`counters` in --json; /metrics serves them as Prometheus counters).' +
        '\nExit codes: 0 ok, 1 error, 3 no master is running, 4 the master runs but something needs an operator' +
        '\n(a runner failed, or entries wait in a queue no runner consumes; see "problems").',
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const home = homeOf(command);
      let report: StatusReport;
      try {
        report = await requestStatus(homePaths(home).socket);
      } catch (error) {
        if (error instanceof MasterNotRunningError) throw notRunning(home);
        if (error instanceof MasterAccessError) throw CliError.of(error, error.message, EXIT_ERROR);
        throw error;
      }
      const width = process.stdout.columns ?? (Number(process.env.COLUMNS) || undefined);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report, { width, dim: process.stdout.isTTY === true }));
      if (report.healthy === false) process.exitCode = EXIT_UNHEALTHY;
    });
}
