/** Exit codes of the `switchyard` command: defined with the base error in src/errors.ts, re-exported for the commands. */
import { EXIT_ERROR, SwitchyardError, isSwitchyardError } from '../errors.js';

export { EXIT_ERROR, EXIT_NOT_RUNNING, EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE } from '../errors.js';

export interface CliErrorOptions {
  /**
   * The code to report: that of the error this one explains to the operator
   * (a store or home error reworded for the command line), so the CLI prints
   * the code of what went wrong. Unset: SY_COMMAND_FAILED.
   */
  code?: string;
  cause?: unknown;
  temporary?: boolean;
  /**
   * The command has already printed its outcome, the error included, as its
   * `--json` answer (`restart --json`: `{"restarted": false, "refused", "error"}`):
   * the CLI only exits with the code, so stdout stays one JSON object.
   */
  reportedAsJson?: boolean;
}

/**
 * An error that ends a command with the exit code it carries. Its own code,
 * SY_COMMAND_FAILED, is for a refusal of the command itself (a missing --yes,
 * a file that cannot be read); CliError.of() keeps the code of the error it
 * rewords.
 */
export class CliError extends SwitchyardError {
  constructor(message: string, exitCode: number = EXIT_ERROR, options?: CliErrorOptions) {
    super(options?.code ?? 'SY_COMMAND_FAILED', message, { exitCode, cause: options?.cause, temporary: options?.temporary });
    this.reportedAsJson = options?.reportedAsJson === true;
  }

  readonly reportedAsJson: boolean;

  /** `error` reworded for the command line (`message`), with its code and temporary flag; exit code `exitCode`, else the error's own. */
  static of(error: unknown, message: string, exitCode?: number): CliError {
    if (!isSwitchyardError(error)) return new CliError(message, exitCode ?? EXIT_ERROR, { cause: error });
    return new CliError(message, exitCode ?? error.exitCode, { code: error.code, cause: error, temporary: error.temporary });
  }
}
