/**
 * What the master, its runner processes and the CLI say to each other.
 *
 * runner -> master, over the fork IPC channel: `heartbeat` every
 * `watchdog.heartbeatInterval` from the event loop, from the first moment on
 * (a stopped process or a blocked loop misses it); `starting` with what it
 * is doing while it starts (each one extends its start deadline); `ready` once the runner has
 * recovered its slice and is waiting for work; `state` whenever an entry
 * starts or ends or reports progress (the watchdog's heartbeat), and whenever
 * the runner's status detail changes (not progress: the watchdog's clock is
 * not reset by it), and right after one of its work counters moved
 * (src/work-counters.ts: the counts travel with every `state`).
 *
 * CLI -> master, over `<home>/master.sock`: one JSON line with a `command`,
 * answered by one JSON line. `status` returns a StatusReport; `watch` is
 * answered with `{"ok":true}` and then held open until the master exits, so
 * `switchyard stop` can wait for the exit without polling; `restart` is
 * answered with a RestartReply once the master has validated switchyard.toml
 * and, if it is valid, asked every runner to restart.
 */

import type { CounterCounts, CounterValues } from '../work-counters.js';

/** A runner exits with this to ask the master for an immediate restart (SIGUSR1). */
export const RUNNER_EXIT_RESTART = 99;

export interface RunnerReadyMessage {
  type: 'ready';
  /** What the module turned out to be: a queue runner or a service (no queue). */
  kind?: ProcessKind;
  /** What the process found while starting, for `switchyard start` to print (see ReadyReport). */
  report?: ReadyReport;
}

/**
 * What a runner or service found while starting that the operator running
 * `switchyard start` must read: `degraded` is something that does not work
 * (the LMTP port is taken) and makes `start` exit EXIT_UNHEALTHY unless
 * `--allow-degraded`; `warnings` do not (the smarthost does not answer: mail
 * waits in `retry`); `notes` are facts worth one line ("smarthost
 * 127.0.0.1:25 answers"). One line each, naming the runner.
 */
export interface ReadyReport {
  degraded?: string[];
  warnings?: string[];
  notes?: string[];
}

/** What the master supervises: queue runners (one slice of one queue) and services (a listener, the scheduler). */
export type ProcessKind = 'runner' | 'service';

/** Liveness only: the process's event loop turns. */
export interface HeartbeatMessage {
  type: 'heartbeat';
}

/** Progress while starting: what the process is doing now (one line), e.g. "recovering entries left in flight". */
export interface RunnerStartingMessage {
  type: 'starting';
  doing: string;
}

export interface RunnerStateMessage {
  type: 'state';
  inFlight: number;
  processed: number;
  failed: number;
  retried: number;
  /** ms since the epoch of the last sign of progress. */
  progressAt: number;
  lastError?: { message: string; at: string; entry: string };
  /**
   * What the runner wants an operator to know about its state right now, in
   * one line (Runner.statusDetail(): the outgoing runner's smarthost backoff);
   * absent when there is nothing to say. Sent again whenever it changes.
   */
  detail?: string;
  /** A service's structured state (Service.statusInfo(): the scheduler's jobs), sent again whenever it changes. */
  info?: Record<string, unknown>;
  /** The process's work counters since it started (src/work-counters.ts), those not 0; absent: none yet. */
  counters?: CounterCounts;
}

export type RunnerMessage = RunnerReadyMessage | HeartbeatMessage | RunnerStartingMessage | RunnerStateMessage;

export type RunnerState = 'starting' | 'running' | 'backoff' | 'failed' | 'stopping' | 'stopped';

export interface RunnerStatus {
  name: string;
  kind: ProcessKind;
  /** The queue a runner consumes; null for a service. */
  queue: string | null;
  slice: number;
  numSlices: number;
  pid: number | null;
  state: RunnerState;
  /** Seconds since this process started, null when none runs. */
  uptime: number | null;
  restarts: number;
  processed: number;
  failed: number;
  inFlight: number;
  /** The last error in one line: `<ISO time> <entry>: <reason>` for an entry, or what the master saw (a crash, a watchdog kill); null when none. */
  lastError: string | null;
  /** The same error in parts, and whether the process has succeeded since (`recoveredAt`); null when none. */
  lastErrorInfo?: LastErrorInfo | null;
  /** The runner's own one-line note on its state (RunnerStateMessage.detail), null when none. */
  detail: string | null;
  /** A service's structured state (the scheduler: `{ jobs: [...] }`), null when none. */
  info: Record<string, unknown> | null;
}

/** The configuration the master's runners were (re)started with, and a refused reload. */
export interface RunningConfig {
  file: string;
  /** Whether that file existed (otherwise: the embedded defaults). */
  fromFile: boolean;
  /** src/config/effective-values.ts configDigest(): equal digests, equal configurations. */
  digest: string;
  /** Effective values in file notation, secrets redacted (effectiveValues()). */
  values: Record<string, unknown>;
  loadedAt: string;
  /** Set when a restart was refused because switchyard.toml is invalid: what is wrong with it. */
  problem: string | null;
}

/**
 * The last error of a slot, and what happened since. An error is recovered
 * once the slot has processed (a runner) or handled (a service) something
 * successfully after it: `status` then shows it as "(recovered 3m ago)" for
 * RECOVERED_SHOWN_MS, and no longer after that; `--json` keeps it.
 */
export interface LastErrorInfo {
  at: string;
  /** The entry it happened to, null for an error of the process (a crash, a watchdog kill, a listener). */
  entry: string | null;
  /** The whole reason, never truncated. */
  reason: string;
  /** When the first success after it came, null while none has. */
  recoveredAt: string | null;
  /** Successes since the error. */
  successesSince: number;
}

/** How long `status` shows an error the runner has recovered from (dimmed, "(recovered 3m ago)"); then only `--json` has it. */
export const RECOVERED_SHOWN_MS = 3_600_000;

/** A queue that entries wait in and no configured runner consumes (today `command`): they wait there for ever. */
export interface UnconsumedQueue {
  queue: string;
  waiting: number;
}

export interface StatusReport {
  /** When the master made this report (ISO); ages in `status` count from it. */
  at?: string;
  master: {
    pid: number;
    host: string;
    home: string;
    startedAt: string;
    uptime: number;
    version: string;
  };
  runners: RunnerStatus[];
  /** False when something needs an operator (a runner `failed`, entries waiting in a queue no runner consumes); `problems` then says what, one line each. */
  healthy: boolean;
  problems: string[];
  /** Queues with entries waiting and no runner configured to take them (each also a line of `problems`). */
  unconsumed?: UnconsumedQueue[];
  /** Queue name to number of waiting (`.pck`) entries. */
  queues: Record<string, number>;
  /** Absent in reports of masters that predate it. */
  config?: RunningConfig;
  /**
   * The work counters of every runner and service summed, since the master
   * started (src/work-counters.ts: every counter, 0 included; a restarted
   * process's earlier counts are kept). Absent in reports of masters that predate it.
   */
  counters?: CounterValues;
}

export interface StatusRequest {
  command: 'status' | 'watch' | 'restart';
}

/** The master's answer to `restart`: done (every runner asked to restart), or refused with the reason. */
export type RestartReply = { ok: true; runners: number } | { ok: false; refused: string };

/** Written to the master lock file (`<home>/master.lock`). */
export interface LockInfo {
  host: string;
  pid: number;
  startedAt: string;
  /** Pids of the runner processes, so a master taking over a stale lock can stop orphans. */
  runners: number[];
}

/**
 * master -> the `switchyard start` that spawned it in the background, over
 * the IPC channel: the outcome of the start, after which the channel closes.
 */
export type MasterStartMessage =
  | { type: 'master-started'; pid: number; runners: number; report?: ReadyReport; warnings?: string[] }
  /** A runner reported progress while starting: `start` extends its own deadline. */
  | { type: 'master-starting'; doing: string }
  | { type: 'master-start-failed'; reason: string };

/** Options of runMaster() in master.ts. */
export interface MasterOptions {
  home: string;
  /** Logs to stdout (destination 'auto'); the process stays attached. */
  foreground: boolean;
  /** Started by `switchyard start` in the background: report the start's outcome over IPC. */
  notifyParent: boolean;
  /** Take over a lock held by a master on another host. */
  force: boolean;
}
