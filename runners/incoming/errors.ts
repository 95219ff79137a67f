/**
 * Errors of the incoming and virgin runners. None is temporary, so the entry
 * goes to `shunt` with the reason, for an operator to fix (create the list,
 * add owners) and `switchyard queue requeue`.
 */
import { ListUnknownError } from '../../src/store/errors.js';
import { RunnerError } from '../errors.js';

/**
 * The store's ListUnknownError (SY_LIST_UNKNOWN: one code, one class for an
 * unknown list wherever it is found) for an entry whose metadata names no
 * list, or a list that does not exist (any more).
 */
export function unknownListError(listId: string | undefined, queue: string): ListUnknownError {
  return new ListUnknownError(
    listId ?? '',
    listId === undefined
      ? `the ${queue} entry carries no listId in its metadata; it cannot be routed to a list`
      : `no list ${listId} for this ${queue} entry (removed, or never created: \`switchyard lists list\` shows them)`,
  );
}

/** A virgin entry with nobody to deliver to (no valid recipients, and the list has no owners or moderators). */
export class NoRecipientsError extends RunnerError {
  constructor(readonly listId: string, detail: string) {
    super('SY_NO_RECIPIENTS', `virgin entry for ${listId} has nobody to deliver to: ${detail}`);
  }
}

/** Entry metadata the runner cannot use (wrong types); the reason names the field. */
export class MalformedEntryError extends RunnerError {
  constructor(queue: string, problems: readonly string[]) {
    super('SY_MALFORMED_ENTRY', `malformed ${queue} entry metadata: ${problems.join('; ')}`);
  }
}
