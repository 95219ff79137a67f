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
