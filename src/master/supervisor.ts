/**
 * The supervisor: one child process per runner per slice, kept alive.
 *
 * - A child's death is known at once (its `exit` event, from SIGCHLD).
 * - A crash, whatever the exit code or signal, is followed by a restart after
 *   an exponential backoff; a slot that crashed `maxRestarts` times within
 *   `restartWindow` is left down, logged loudly and shown `failed` (as
 *   Postfix's master throttles a crashing service). Exit RUNNER_EXIT_RESTART
 *   (the runner's answer to SIGUSR1) is a requested restart: immediate, not
 *   a crash.
 * - Watchdog: a child reporting entries in flight and no progress for its
 *   runner's `watchdogTimeout` is SIGKILLed; the restart recovers its `.bak`.
 *   Those timers exist only while entries are in flight.
 * - Heartbeat: every child sends one every `watchdog.heartbeatInterval` from
 *   its event loop; one that is silent for `watchdog.heartbeatTimeout`
 *   (SIGSTOPped, or its loop blocked in a system call) is SIGKILLed and
 *   restarted like a crash. One timer per child, re-armed only when it fires
 *   (a message just records the time), so an idle master wakes once per
 *   timeout per child.
 * - Start: a child still starting gets `startTimeout` from its last sign of
 *   progress (spawn, then each `starting` message), so a slow start under
 *   load is not failed while it reports what it is doing; one that says
 *   nothing for that long fails the start, which names what it was doing.
 * - Configuration: every child runs the configuration the master validated
 *   last (the validated result in the child's environment, CONFIG_JSON_ENV,
 *   or the text when that is too large, CONFIG_TEXT_ENV), not whatever
 *   switchyard.toml holds when it starts: a runner restarted after a crash
 *   while the file is being edited (or was left invalid by a refused
 *   `restart`) must not crash-loop on it. `setConfig()` changes it for
 *   the next spawns (a validated restart).
 * - stop(): TERM every child, SIGKILL those still alive after `stopTimeout`.
 *   Entries they held stay `.bak` and are recovered at the next start.
 * - Last error: each slot keeps its latest (an entry's, as the runner reports
 *   it, or the master's own: a crash, a watchdog kill) with the count of
 *   entries processed then; once that count grows the slot has recovered
 *   (`recoveredAt`), which `status` shows as such and later leaves out.
 * - Work counters (src/work-counters.ts): each process reports its own since
 *   it started; a slot keeps the sum of its processes that exited, so a
 *   restart (the new process counts from 0) never takes a total back down.
 */
import { SwitchyardError } from '../errors.js';
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ResolvedRunner } from '../config/load.js';
import { CONFIG_DEFAULTS_ENV, CONFIG_JSON_ENV, CONFIG_TEXT_ENV } from './supervisor-env.js';
import { addCounts, sumCounts, zeroCounters, type CounterCounts, type CounterValues } from '../work-counters.js';
import { RUNNER_EXIT_RESTART, type LastErrorInfo, type ProcessKind, type ReadyReport, type RunnerMessage, type RunnerState, type RunnerStatus } from './protocol.js';

export interface SupervisorOptions {
  home: string;
  runners: readonly ResolvedRunner[];
  master: Config['master'];
  watchdog: Config['watchdog'];
  /** Absolute path of runner-process.js. */
  runnerScript: string;
  /** Runners log to the master's stdout instead of their own files. */
  logToStdout: boolean;
  logger: Logger;
  /** The validated switchyard.toml text the runners get; undefined: none (the embedded defaults). */
  configText?: string;
  /** The same configuration validated, `{config, runners}` as JSON (validatedConfigJson()): what a runner reads first. */
  configJson?: string;
}

/** Linux limits one environment string to 128 KiB: a larger file is read by the child itself. */
const MAX_ENV_TEXT = 120 * 1024;

const STDERR_TAIL_LINES = 20;

class Slot {
  child: ChildProcess | undefined;
  state: RunnerState = 'starting';
  startedAt = 0;
  everReady = false;
  restarts = 0;
  crashTimes: number[] = [];
  processed = 0;
  failed = 0;
  inFlight = 0;
  /** Counters of processes that already exited. */
  processedBefore = 0;
  failedBefore = 0;
  /** The running process's work counters, as it last reported them. */
  counts: CounterCounts = {};
  /** The work counters of this slot's processes that exited, summed. */
  countsBefore: CounterValues = zeroCounters();
  /** The last error (see LastErrorInfo in protocol.ts); undefined when none. */
  error: SlotError | undefined;
  /** The runner-reported error last taken in (its time, entry and message), so the same report resent is not news. */
  reportedError = '';
  /** The running process's status detail; cleared when it exits. */
  detail: string | null = null;
  stderrTail: string[] = [];
  watchdog: NodeJS.Timeout | undefined;
  backoff: NodeJS.Timeout | undefined;
  heartbeat: NodeJS.Timeout | undefined;
  /** When the running process last said anything (any IPC message). */
  lastHeard = 0;
  heardFrom = false;
  /** While starting: when it last reported progress, and what it said it was doing. */
  startProgressAt = 0;
  doing: string | null = null;
  /** From the configuration (built-ins), then from what the process says it is. */
  kind: ProcessKind;
  /** A service's structured state; kept after it exits (the scheduler's last job runs stay visible). */
  info: Record<string, unknown> | null = null;
  /** What the process reported when it became ready (ReadyReport), for `start` to print. */
  readyReport: ReadyReport | undefined;

  constructor(readonly runner: ResolvedRunner, readonly slice: number) {
    this.kind = runner.kind;
  }

  get numSlices(): number {
    return this.runner.instances;
  }

  get label(): string {
    return `${this.runner.name} ${this.slice}/${this.numSlices}`;
  }

  /** Everything this slot has processed, over all its processes. */
  get processedTotal(): number {
    return this.processedBefore + this.processed;
  }

  get lastError(): string | null {
    return this.error?.text ?? null;
  }

  /** Record an error: it is the last one, and not recovered from until the slot succeeds again. */
  setError(reason: string, options: { at?: number; entry?: string | null; text?: string } = {}): void {
    this.error = {
      at: options.at ?? Date.now(),
      entry: options.entry ?? null,
      reason,
      text: options.text ?? reason,
      mark: this.processedTotal,
      recoveredAt: null,
    };
  }

  /** After the counters moved: a success since the last error means the slot has recovered from it. */
  noteProgress(now: number): void {
    if (this.error !== undefined && this.error.recoveredAt === null && this.processedTotal > this.error.mark) this.error.recoveredAt = now;
  }

  errorInfo(): LastErrorInfo | null {
    const error = this.error;
    if (error === undefined) return null;
    return {
      at: new Date(error.at).toISOString(),
      entry: error.entry,
      reason: error.reason,
      recoveredAt: error.recoveredAt === null ? null : new Date(error.recoveredAt).toISOString(),
      successesSince: Math.max(0, this.processedTotal - error.mark),
    };
  }
}

interface SlotError {
  at: number;
  entry: string | null;
  reason: string;
  /** The one-line form `lastError` has always had. */
  text: string;
  /** processedTotal when it happened: more since means a success. */
  mark: number;
  recoveredAt: number | null;
}

export class StartFailedError extends SwitchyardError {
  constructor(message: string) {
    super('SY_START_FAILED', message);
  }
}

export class Supervisor extends EventEmitter {
  private readonly slots: Slot[] = [];
  private stopping = false;
  private starting = false;
  private startFailure: ((error: Error) => void) | undefined;
  private readyCheck: (() => void) | undefined;
  private startProgress: (() => void) | undefined;
  private stoppedCheck: (() => void) | undefined;
  private configText: string | undefined;
  private configJson: string | undefined;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.configText = options.configText;
    this.configJson = options.configJson;
    for (const runner of options.runners) {
      for (let slice = 0; slice < runner.instances; slice++) this.slots.push(new Slot(runner, slice));
    }
  }

  get processCount(): number {
    return this.slots.length;
  }

  pids(): number[] {
    return this.slots.flatMap((slot) => (slot.child?.pid === undefined ? [] : [slot.child.pid]));
  }

  /** Fork every slot; resolves when all are ready, rejects if one dies first or the start times out. */
  async start(): Promise<void> {
    this.starting = true;
    try {
      await new Promise<void>((resolve, reject) => {
        const { startTimeout } = this.options.master;
        let timer: NodeJS.Timeout | undefined;
        // One timer, at the earliest deadline of the slots still starting; re-armed on their progress.
        const arm = (): void => {
          clearTimeout(timer);
          const waiting = this.slots.filter((slot) => slot.state !== 'running');
          if (waiting.length === 0) return;
          const first = Math.min(...waiting.map((slot) => slot.startProgressAt + startTimeout));
          timer = setTimeout(() => {
            const now = Date.now();
            const silent = waiting.filter((slot) => slot.state !== 'running' && now - slot.startProgressAt >= startTimeout);
            if (silent.length === 0) return arm();
            const others = this.slots.filter((slot) => slot.state !== 'running' && !silent.includes(slot));
            const describe = (slot: Slot): string => `${slot.label} (${slot.state}${slot.doing ? `: ${slot.doing}` : ''})`;
            reject(
              new StartFailedError(
                `no progress for ${startTimeout} ms (master.startTimeout) from ${silent.map(describe).join(', ')}` +
                  (others.length > 0 ? `; still starting: ${others.map(describe).join(', ')}` : ''),
              ),
            );
          }, Math.max(0, first - Date.now()));
        };
        this.startFailure = (error) => {
          clearTimeout(timer);
          reject(error);
        };
        this.startProgress = arm;
        this.readyCheck = () => {
          if (this.slots.every((slot) => slot.state === 'running')) {
            clearTimeout(timer);
            resolve();
          } else {
            arm();
          }
        };
        for (const slot of this.slots) this.spawn(slot);
        this.readyCheck();
      });
    } finally {
      this.starting = false;
      this.startFailure = undefined;
      this.readyCheck = undefined;
      this.startProgress = undefined;
    }
  }

  /** TERM every child; SIGKILL whatever outlives stopTimeout. */
  async stop(): Promise<void> {
    this.stopping = true;
    const alive = this.slots.filter((slot) => slot.child !== undefined);
    for (const slot of this.slots) {
      clearTimeout(slot.backoff);
      clearTimeout(slot.watchdog);
      if (slot.child === undefined && slot.state !== 'failed') slot.state = 'stopped';
    }
    if (alive.length === 0) return;
    const allGone = new Promise<void>((resolve) => {
      this.stoppedCheck = () => {
        if (this.slots.every((slot) => slot.child === undefined)) resolve();
      };
    });
    for (const slot of alive) {
      slot.state = 'stopping';
      slot.child?.kill('SIGTERM');
    }
    const killer = setTimeout(() => {
      for (const slot of this.slots) {
        if (slot.child) {
          this.options.logger.error({ runner: slot.runner.name, slice: slot.slice, runnerPid: slot.child.pid }, `still busy ${this.options.master.stopTimeout} ms after TERM: killed (its entries are recovered at the next start)`);
          slot.child.kill('SIGKILL');
        }
      }
    }, this.options.master.stopTimeout);
    this.stoppedCheck?.();
    await allGone;
    clearTimeout(killer);
  }

  /** The configuration (validated by the caller: its text and validatedConfigJson()) every child spawned from now on runs. */
  setConfig(text: string | undefined, json: string | undefined): void {
    this.configText = text;
    this.configJson = json;
  }

  /** SIGUSR1: each runner finishes its entries and is restarted; failed slots get a new chance. */
  restartAll(): void {
    for (const slot of this.slots) {
      if (slot.child) {
        slot.child.kill('SIGUSR1');
      } else if (slot.state === 'failed') {
        slot.crashTimes = [];
        slot.restarts++;
        this.spawn(slot);
      }
    }
  }

  /** What every process reported when it last became ready, merged, in slot order. */
  readyReport(): Required<ReadyReport> {
    const merged: Required<ReadyReport> = { degraded: [], warnings: [], notes: [] };
    for (const slot of this.slots) {
      merged.degraded.push(...(slot.readyReport?.degraded ?? []));
      merged.warnings.push(...(slot.readyReport?.warnings ?? []));
      merged.notes.push(...(slot.readyReport?.notes ?? []));
    }
    return merged;
  }

  /** SIGHUP to every runner: reopen log files. */
  reopenLogs(): void {
    for (const slot of this.slots) slot.child?.kill('SIGHUP');
  }

  /** One line per slot that needs an operator: those left `failed` after a crash loop. */
  problems(): string[] {
    return this.slots
      .filter((slot) => slot.state === 'failed')
      .map((slot) => `${slot.kind === 'service' ? `service ${slot.runner.name}` : slot.label} FAILED, not restarted until \`switchyard restart\`: ${slot.lastError ?? 'no error recorded'}`);
  }

  /** Every slot's work counters summed, those of exited processes included. */
  counters(): CounterValues {
    return sumCounts(this.slots.flatMap((slot) => [slot.countsBefore, slot.counts]));
  }

  status(now = Date.now()): RunnerStatus[] {
    return this.slots.map((slot) => ({
      name: slot.runner.name,
      kind: slot.kind,
      queue: slot.kind === 'service' ? null : slot.runner.queue,
      slice: slot.slice,
      numSlices: slot.numSlices,
      pid: slot.child?.pid ?? null,
      state: slot.state,
      uptime: slot.child ? Math.round((now - slot.startedAt) / 1000) : null,
      restarts: slot.restarts,
      processed: slot.processedBefore + slot.processed,
      failed: slot.failedBefore + slot.failed,
      inFlight: slot.inFlight,
      lastError: slot.lastError,
      lastErrorInfo: slot.errorInfo(),
      detail: slot.detail,
      info: slot.info,
    }));
  }

  private spawn(slot: Slot): void {
    const args = [
      '--home', this.options.home,
      '--runner', slot.runner.name,
      '--slice', String(slot.slice),
      '--slices', String(slot.numSlices),
      // Given on the command line, not read from the config, so heartbeats flow before the child has loaded anything.
      '--heartbeat', String(this.options.watchdog.heartbeatInterval),
    ];
    if (this.options.logToStdout) args.push('--stdout');
    const child = fork(this.options.runnerScript, args, {
      stdio: ['ignore', this.options.logToStdout ? 'inherit' : 'ignore', 'pipe', 'ipc'],
      execArgv: [],
      serialization: 'json',
      // libuv's default of 4 threads caps concurrent fsyncs at 4; more let the
      // file system commit the entries of concurrent producers in one flush.
      env: { UV_THREADPOOL_SIZE: '16', ...process.env, ...this.configEnv() },
    });
    slot.child = child;
    slot.state = 'starting';
    slot.startedAt = Date.now();
    slot.lastHeard = slot.startedAt;
    slot.heardFrom = false;
    slot.startProgressAt = slot.startedAt;
    slot.doing = 'starting its process';
    slot.processed = 0;
    slot.failed = 0;
    slot.inFlight = 0;
    slot.counts = {};
    slot.stderrTail = [];
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        slot.stderrTail.push(line);
        if (slot.stderrTail.length > STDERR_TAIL_LINES) slot.stderrTail.shift();
        this.options.logger.warn({ runner: slot.runner.name, slice: slot.slice, runnerPid: child.pid, stderr: line }, 'runner wrote to stderr');
      }
    });
    child.on('message', (message: RunnerMessage) => this.onMessage(slot, child, message));
    child.on('exit', (code, signal) => this.onExit(slot, child, code, signal));
    child.on('error', (error) => this.options.logger.error({ err: error, runner: slot.runner.name, slice: slot.slice }, 'runner process error'));
    this.armHeartbeat(slot, child, this.options.watchdog.heartbeatTimeout);
    this.emit('pids', this.pids());
  }

  private configEnv(): Record<string, string> {
    if (this.configJson !== undefined && Buffer.byteLength(this.configJson) <= MAX_ENV_TEXT) return { [CONFIG_JSON_ENV]: this.configJson };
    if (this.configText === undefined) return { [CONFIG_DEFAULTS_ENV]: '1' };
    return Buffer.byteLength(this.configText) <= MAX_ENV_TEXT ? { [CONFIG_TEXT_ENV]: this.configText } : {};
  }

  /** Fires `timeout` after it is armed; a child heard from since gets the rest of its timeout, not a kill. */
  private armHeartbeat(slot: Slot, child: ChildProcess, delay: number): void {
    clearTimeout(slot.heartbeat);
    slot.heartbeat = setTimeout(() => {
      slot.heartbeat = undefined;
      if (slot.child !== child) return;
      // Until a process first speaks it is booting node (seconds on a loaded machine): it gets the start timeout if longer.
      const timeout = slot.heardFrom ? this.options.watchdog.heartbeatTimeout : Math.max(this.options.watchdog.heartbeatTimeout, this.options.master.startTimeout);
      const silentFor = Date.now() - slot.lastHeard;
      if (silentFor < timeout) return this.armHeartbeat(slot, child, timeout - silentFor);
      slot.setError(
        slot.heardFrom
          ? `watchdog: no heartbeat for ${silentFor} ms (watchdog.heartbeatTimeout ${timeout} ms): process stopped or its event loop blocked; killed`
          : `watchdog: no word from the new process for ${silentFor} ms: killed`,
      );
      this.options.logger.error(
        { runner: slot.runner.name, slice: slot.slice, runnerPid: child.pid, heartbeatTimeout: timeout, silentFor },
        `runner ${slot.label} sent no heartbeat for ${silentFor} ms (stopped, or its event loop blocked): killing it so it is restarted`,
      );
      child.kill('SIGKILL');
    }, delay);
  }

  private onMessage(slot: Slot, child: ChildProcess, message: RunnerMessage): void {
    if (slot.child !== child) return;
    slot.lastHeard = Date.now();
    slot.heardFrom = true;
    if (message.type === 'heartbeat') return;
    if (message.type === 'starting') {
      if (slot.state !== 'starting') return;
      slot.doing = message.doing;
      slot.detail = `starting: ${message.doing}`;
      slot.startProgressAt = slot.lastHeard;
      this.emit('start-progress', `${slot.label}: ${message.doing}`);
      this.startProgress?.();
      return;
    }
    if (message.type === 'ready') {
      slot.everReady = true;
      slot.readyReport = message.report;
      if (message.kind !== undefined) slot.kind = message.kind;
      if (slot.state === 'starting') slot.state = 'running';
      if (slot.doing !== null && slot.detail === `starting: ${slot.doing}`) slot.detail = null;
      slot.doing = null;
      // At start the master's one "switchyard ready" line sums these up (debug); a runner back after a crash or restart is news (info).
      this.options.logger[this.starting ? 'debug' : 'info']({ runner: slot.runner.name, slice: slot.slice, runnerPid: child.pid, restarts: slot.restarts }, 'runner up');
      this.readyCheck?.();
      return;
    }
    slot.processed = message.processed;
    slot.failed = message.failed;
    slot.inFlight = message.inFlight;
    // The process's own totals since it started: they replace the last report (they never go down while it lives).
    if (message.counters !== undefined) slot.counts = message.counters;
    if (message.lastError) {
      const { at, entry, message: reason } = message.lastError;
      const key = `${at}\0${entry}\0${reason}`;
      // Resent with every state message: only a different one is a new error.
      if (key !== slot.reportedError) {
        slot.reportedError = key;
        const time = Date.parse(at);
        slot.setError(reason, { at: Number.isFinite(time) ? time : Date.now(), entry: entry === '-' || entry === '' ? null : entry, text: `${at} ${entry}: ${reason}` });
      }
    }
    slot.noteProgress(Date.now());
    slot.detail = message.detail ?? null;
    if (message.info !== undefined) slot.info = message.info;
    clearTimeout(slot.watchdog);
    slot.watchdog = undefined;
    if (message.inFlight > 0 && slot.state === 'running') {
      const timeout = slot.runner.watchdogTimeout;
      slot.watchdog = setTimeout(() => this.watchdogFired(slot, child, timeout), Math.max(0, message.progressAt + timeout - Date.now()));
    }
  }

  private watchdogFired(slot: Slot, child: ChildProcess, timeout: number): void {
    if (slot.child !== child) return;
    slot.setError(`watchdog: held ${slot.inFlight} entr${slot.inFlight === 1 ? 'y' : 'ies'} for ${timeout} ms without progress; killed`);
    this.options.logger.error({ runner: slot.runner.name, slice: slot.slice, runnerPid: child.pid, watchdogTimeout: timeout }, 'runner made no progress: killing it so its entries are recovered');
    child.kill('SIGKILL');
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    clearTimeout(slot.watchdog);
    slot.watchdog = undefined;
    clearTimeout(slot.heartbeat);
    slot.heartbeat = undefined;
    slot.doing = null;
    slot.child = undefined;
    slot.detail = null;
    slot.processedBefore += slot.processed;
    slot.failedBefore += slot.failed;
    addCounts(slot.countsBefore, slot.counts);
    slot.counts = {};
    slot.processed = 0;
    slot.failed = 0;
    slot.inFlight = 0;
    this.emit('pids', this.pids());
    const log = this.options.logger;
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (this.stopping) {
      slot.state = 'stopped';
      log.debug({ runner: slot.runner.name, slice: slot.slice, runnerPid: child.pid, code, signal }, `runner stopped (${how})`);
      this.stoppedCheck?.();
      return;
    }
    if (code === RUNNER_EXIT_RESTART) {
      slot.restarts++;
      log.info({ runner: slot.runner.name, slice: slot.slice, runnerPid: child.pid }, 'runner restarting on request');
      this.spawn(slot);
      return;
    }
    const now = Date.now();
    slot.crashTimes = slot.crashTimes.filter((at) => now - at < this.options.master.restartWindow);
    slot.crashTimes.push(now);
    const tail = slot.stderrTail.slice(-3).join(' | ');
    // A kill of the watchdog's own keeps the watchdog's reason, which says why.
    if (!slot.lastError?.startsWith('watchdog') || slot.crashTimes.length > 1) {
      const reason = `process ${how}${tail ? `: ${tail}` : ''}`;
      slot.setError(reason, { at: now, text: `${new Date(now).toISOString()} ${reason}` });
    }
    log.error({ runner: slot.runner.name, slice: slot.slice, runnerPid: child.pid, code, signal, stderr: slot.stderrTail }, `runner crashed (${how})`);
    if (this.starting && !slot.everReady) {
      slot.state = 'failed';
      this.startFailure?.(new StartFailedError(`runner ${slot.label} ${how} before it was ready${tail ? `: ${tail}` : ''}`));
      return;
    }
    const { maxRestarts, restartWindow, restartBackoff, restartBackoffMax } = this.options.master;
    if (slot.crashTimes.length >= maxRestarts) {
      slot.state = 'failed';
      // error, not fatal: the master lives on (fatal means the process exits); the stats job repeats it while it lasts.
      log.error({ runner: slot.runner.name, slice: slot.slice, crashes: slot.crashTimes.length, restartWindow }, `runner ${slot.label} crashed ${slot.crashTimes.length} times within ${restartWindow} ms: NOT restarting it; its slice is not processed until \`switchyard restart\``);
      slot.setError(`failed: crashed ${slot.crashTimes.length} times within ${restartWindow} ms; last: ${slot.lastError}`, { at: now });
      return;
    }
    const delay = Math.min(restartBackoffMax, restartBackoff * 2 ** (slot.crashTimes.length - 1));
    slot.state = 'backoff';
    slot.backoff = setTimeout(() => {
      slot.backoff = undefined;
      if (this.stopping) return;
      slot.restarts++;
      this.spawn(slot);
    }, delay);
  }
}
