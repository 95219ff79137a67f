/**
 * Errors of the importers (src/migrate/): a source that cannot be read or
 * that holds something the importer refuses to interpret. Each names what to
 * do; none of them leaves a partial list behind that a second run would not
 * finish (see src/app/site-import.ts).
 */
import { EXIT_ERROR, EXIT_USAGE, SwitchyardError } from '../errors.js';

/** Mailman's REST API or database could not be reached or answered something unusable. */
export class ImportSourceError extends SwitchyardError {
  constructor(message: string, options: { cause?: unknown; temporary?: boolean } = {}) {
    super('SY_IMPORT_SOURCE', message, { exitCode: EXIT_ERROR, ...options });
  }
}

/** A Mailman 2.1 file or a Mailman 3 stored message holds something that is not plain data (a call, a name, a pickle opcode that builds objects, a class other than a message's): refused, never evaluated. */
export class ImportUnsafeError extends SwitchyardError {
  constructor(message: string) {
    super('SY_IMPORT_UNSAFE', message, { exitCode: EXIT_ERROR });
  }
}

/** The import's arguments do not fit together (no list named in a Mailman 2.1 directory, a URL scheme not supported). */
export class ImportUsageError extends SwitchyardError {
  constructor(message: string) {
    super('SY_IMPORT_USAGE', message, { exitCode: EXIT_USAGE });
  }
}
