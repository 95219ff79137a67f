/** Errors of the bounce runner: the entry goes to `shunt` with the reason. */
import { RunnerError } from '../errors.js';

/** A `bounces` entry whose metadata the runner cannot use; the reason names the field. */
export class BounceEntryError extends RunnerError {
  constructor(problem: string) {
    super('SY_BOUNCE_ENTRY', `malformed bounces entry: ${problem}`);
  }
}
