/**
 * What a runner's process() may throw, and what becomes of the entry:
 * - an error whose `temporary` is true (isTemporary, src/errors.ts): to
 *   `retry`, due again after the retry schedule's delay. TemporaryFailure is
 *   the runners' own such error; a busy or damaged store (StoreError) is one too;
 * - anything else: to `shunt`, with the error's name, message and stack, for
 *   an operator to look at and `switchyard queue requeue`.
 * A RunnerError may carry replacement metadata for that move.
 */
import type { JsonObject } from '../queues/json.js';
import { SwitchyardError } from '../src/errors.js';

export interface RunnerErrorOptions {
  cause?: unknown;
  /**
   * Metadata to store with the entry in place of its own when it is moved to
   * `retry` or `shunt` (the outgoing runner defers only the recipients still
   * to do). Unset: the entry keeps its metadata.
   */
  metadata?: JsonObject;
  /** Try again later (to `retry`) rather than give up (to `shunt`); false unless said. */
  temporary?: boolean;
}

export class RunnerError extends SwitchyardError {
  readonly metadata: JsonObject | undefined;
  constructor(code: string, message: string, options?: RunnerErrorOptions) {
    super(code, message, { cause: options?.cause, temporary: options?.temporary });
    this.metadata = options?.metadata;
  }
}

/** Try again later: the entry goes to `retry` (4xx, a full disk, a busy store). */
export class TemporaryFailure extends RunnerError {
  constructor(message: string, options?: Omit<RunnerErrorOptions, 'temporary'>) {
    super('SY_TEMPFAIL', message, { ...options, temporary: true });
  }
}

/** A CPU-heavy step ran past its time limit; its worker thread was terminated. */
export class TaskTimeoutError extends RunnerError {
  constructor(readonly task: string, readonly timeoutMs: number) {
    super('SY_TASK_TIMEOUT', `worker task ${task} exceeded its ${timeoutMs} ms limit and was terminated`);
  }
}

/** A CPU-heavy step crashed its worker thread. */
export class TaskCrashedError extends RunnerError {
  constructor(readonly task: string, cause: unknown) {
    super('SY_TASK_CRASHED', `worker task ${task} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** A runner's configuration or module is unusable. */
export class RunnerSetupError extends RunnerError {
  constructor(message: string) {
    super('SY_RUNNER_SETUP', message);
  }
}
