/**
 * The errors of DKIM signing: a key that cannot be used (found at start, so
 * the outgoing runner refuses to start rather than send unsigned copies), a
 * signature that could not be made for one entry (temporary: the entry goes
 * to `retry`, never out unsigned), and a published record that is missing or
 * does not match (`switchyard dkim check`).
 */
import { SwitchyardError } from '../../errors.js';

export class DkimKeyError extends SwitchyardError {
  constructor(readonly file: string, reason: string, options?: { cause?: unknown }) {
    super('SY_DKIM_KEY', `DKIM key ${file}: ${reason}`, options);
  }
}

export class DkimSignError extends SwitchyardError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('SY_DKIM_SIGN', `DKIM signing failed: ${reason}; the entry waits in retry`, { ...options, temporary: true });
  }
}

export class DkimRecordError extends SwitchyardError {
  constructor(message: string) {
    super('SY_DKIM_RECORD', message);
  }
}
