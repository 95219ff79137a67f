/**
 * The one base error of switchyard. Every error an operator may see carries:
 * - `code`: a stable `SY_*` string, listed in the README's error table (kept
 *   equal to ERROR_TABLE in src/error-table.ts by a test);
 * - `temporary`: true when the same request may well succeed later (a busy
 *   store, a full disk, a 4xx): ingress answers 4xx / exits 75, a runner
 *   moves the entry to `retry`; false means give up on this request;
 * - `exitCode`: what the CLI exits with when this error ends a command.
 */

/** Exit codes of the `switchyard` command (mailman/postqueue style: each means one thing). */
export const EXIT_OK = 0;
/** The command ran and failed: the message says why. */
export const EXIT_ERROR = 1;
/** Bad arguments or options. */
export const EXIT_USAGE = 2;
/** No master is running (status, stop, restart, reopen). */
export const EXIT_NOT_RUNNING = 3;
/** `status`: the master runs, but something needs an operator (a runner left `failed`). */
export const EXIT_UNHEALTHY = 4;

export interface SwitchyardErrorOptions {
  cause?: unknown;
  temporary?: boolean;
  exitCode?: number;
}

export class SwitchyardError extends Error {
  readonly code: string;
  readonly temporary: boolean;
  readonly exitCode: number;

  constructor(code: string, message: string, options?: SwitchyardErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.temporary = options?.temporary ?? false;
    this.exitCode = options?.exitCode ?? EXIT_ERROR;
  }
}

/** True for a SwitchyardError (or a foreign error shaped like one) that says to retry later. */
export function isTemporary(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { temporary?: unknown }).temporary === true;
}

/**
 * What every switchyard error looks like, whichever base it has. `queues/` is
 * a standalone library that imports nothing from `src/` (issue 12 §4), so
 * QueueError (queues/errors.ts) cannot extend SwitchyardError; it carries the
 * same three fields instead, and the CLI, the runners and ingress decide from
 * this shape, never from `instanceof SwitchyardError`.
 */
export interface SwitchyardErrorShape extends Error {
  readonly code: string;
  readonly temporary: boolean;
  readonly exitCode: number;
}

/** True for a SwitchyardError, a QueueError, or any Error with a `SY_*` code, a temporary flag and an exit code. */
export function isSwitchyardError(err: unknown): err is SwitchyardErrorShape {
  if (!(err instanceof Error)) return false;
  const { code, temporary, exitCode } = err as Partial<SwitchyardErrorShape>;
  return typeof code === 'string' && code.startsWith('SY_') && typeof temporary === 'boolean' && typeof exitCode === 'number';
}

/** The code for an error that is not one of ours (a bug, an uncaught system error): say so rather than nothing. */
export const INTERNAL_CODE = 'SY_INTERNAL';

/** The code to print for any error: its own when it is one of ours, else SY_INTERNAL. */
export function errorCode(err: unknown): string {
  return isSwitchyardError(err) ? err.code : INTERNAL_CODE;
}

/**
 * System error codes (errno) that mean the disk or the quota is full. This is
 * the one place switchyard reads errno to decide what a failure means. Any
 * error that is not one of ours is already temporary for ingress (exit 75,
 * 4xx); a full disk is the only errno that changes the answer: LMTP says 452
 * (insufficient storage) instead of 451. Which errno make a queue file
 * unreadable rather than the spool broken is the queue library's own
 * business (queues/queue-file.ts), not a question of temporary.
 */
const STORAGE_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/** True for a system error that says storage ran out (ENOSPC, EDQUOT). */
export function isStorageExhausted(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && STORAGE_ERRNOS.has(code);
}
