/**
 * What can go wrong taking a message in, and what the MTA is told. Only
 * three failures are the sender's problem and permanent: an unknown address
 * (RecipientUnknownError, src/ingress/routing.ts), an empty message, and (when
 * `ingress.onOversize` is 'reject') an oversize one. Everything else is our
 * own trouble and temporary (the MTA keeps the message and tries again):
 * a full disk, an unwritable spool, a busy store, a bug.
 */
import { RecipientUnknownError } from './routing.js';

export class MessageTooLargeError extends Error {
  readonly code = 'SY_MESSAGE_TOO_LARGE';
  constructor(readonly limit: number, readonly permanent: boolean) {
    super(`message larger than ingress.maxMessageSize (${limit} bytes)`);
    this.name = 'MessageTooLargeError';
  }
}

export class EmptyMessageError extends Error {
  readonly code = 'SY_MESSAGE_EMPTY';
  constructor() {
    super('not a message: the input is empty');
    this.name = 'EmptyMessageError';
  }
}

export type IngressFailureKind = 'unknown-recipient' | 'too-large' | 'empty' | 'temporary';

export interface IngressFailure {
  kind: IngressFailureKind;
  /** Temporary because storage ran out (ENOSPC, EDQUOT): LMTP says 452 rather than 451. */
  storage: boolean;
  message: string;
}

const STORAGE_CODES = new Set(['ENOSPC', 'EDQUOT']);

export function classifyIngressError(error: unknown): IngressFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RecipientUnknownError) return { kind: 'unknown-recipient', storage: false, message };
  if (error instanceof EmptyMessageError) return { kind: 'empty', storage: false, message };
  if (error instanceof MessageTooLargeError && error.permanent) return { kind: 'too-large', storage: false, message };
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return { kind: 'temporary', storage: typeof code === 'string' && STORAGE_CODES.has(code), message };
}
