/**
 * What can go wrong taking a message in, and what the MTA is told. Only
 * three failures are the sender's problem and permanent: an unknown address
 * (RecipientUnknownError, src/ingress/routing.ts), an empty message, and (when
 * `ingress.onOversize` is 'reject') an oversize one. Everything else is our
 * own trouble and temporary (the MTA keeps the message and tries again):
 * a full disk, an unwritable spool, a busy store, a bug.
 */
import { isStorageExhausted, isTemporary, SwitchyardError } from '../errors.js';
import { RecipientUnknownError } from './routing.js';

/** Permanent (`ingress.onOversize` 'reject') or temporary ('defer': the MTA keeps it). */
export class MessageTooLargeError extends SwitchyardError {
  constructor(readonly limit: number, readonly permanent: boolean) {
    super('SY_MESSAGE_TOO_LARGE', `message larger than ingress.maxMessageSize (${limit} bytes)`, { temporary: !permanent });
  }
}

export class EmptyMessageError extends SwitchyardError {
  constructor() {
    super('SY_MESSAGE_EMPTY', 'not a message: the input is empty');
  }
}

export type IngressFailureKind = 'unknown-recipient' | 'too-large' | 'empty' | 'temporary';

export interface IngressFailure {
  kind: IngressFailureKind;
  /** Temporary because storage ran out (ENOSPC, EDQUOT): LMTP says 452 rather than 451. */
  storage: boolean;
  message: string;
}

/**
 * What the MTA is told. Only the sender's own problems, which say so by
 * `temporary` false, are permanent; any other failure (ours, a bug, a system
 * error without a code of ours) is temporary, since a 5xx or a permanent exit
 * would lose a message that a retry may well deliver.
 */
export function classifyIngressError(error: unknown): IngressFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (!isTemporary(error)) {
    if (error instanceof RecipientUnknownError) return { kind: 'unknown-recipient', storage: false, message };
    if (error instanceof EmptyMessageError) return { kind: 'empty', storage: false, message };
    if (error instanceof MessageTooLargeError) return { kind: 'too-large', storage: false, message };
  }
  return { kind: 'temporary', storage: isStorageExhausted(error), message };
}
