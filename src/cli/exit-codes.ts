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

/** An error that carries the exit code the CLI should end with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_ERROR) {
    super(message);
    this.name = 'CliError';
  }
}
