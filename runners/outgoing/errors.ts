/**
 * The outgoing runner's errors, each a permanent one for its entry (to
 * `shunt`, with the recipients still to do as its metadata):
 *
 *   SY_OUT_MALFORMED          the `out` entry's metadata is not an out entry
 *   SY_SMTP_MESSAGE_REJECTED  the MTA answered 5xx to MAIL FROM or DATA: a
 *                             problem of the message or of our MTA, so no
 *                             member gets a bounce event
 */
import type { JsonObject } from '../../queues/index.js';
import { RunnerError } from '../errors.js';

export class MalformedOutEntryError extends RunnerError {
  constructor(readonly problems: string[]) {
    super('SY_OUT_MALFORMED', `malformed out entry: ${problems.join('; ')}`);
  }
}

export class MessageRejectedError extends RunnerError {
  constructor(
    readonly command: string,
    readonly smtpCode: number | null,
    readonly response: string,
    metadata: JsonObject,
  ) {
    super('SY_SMTP_MESSAGE_REJECTED', `the MTA refused the message at ${command}: ${response}`, { metadata });
  }
}
