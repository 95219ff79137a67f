/**
 * What a PostgreSQL failure means for the store: the SQLSTATEs and socket
 * errors that are trouble of the moment (retry later, nothing is lost) and
 * those a transaction may simply run again at once.
 */

/** Serialization failure and deadlock: the transaction lost a race; running it again at once usually succeeds. */
const CONFLICT_STATES = new Set(['40001', '40P01']);

/**
 * The server is unreachable, restarting or overloaded: admin shutdown
 * (57P01), crash shutdown (57P02), cannot connect now (57P03, starting or in
 * recovery), too many connections (53300), and class 08 (connection
 * exceptions). Node's socket errors and pg's "Connection terminated" (a
 * plain Error without a code) mean the same.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53000', '58000']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'EAI_AGAIN', 'ENOENT']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isConflict(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && CONFLICT_STATES.has(code);
}

/** True when the connection (or the server) is gone: the client must not go back to the pool. */
export function isConnectionLoss(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (UNAVAILABLE_STATES.has(code) || code.startsWith('08') || SOCKET_CODES.has(code))) return true;
  if (!(error instanceof Error)) return false;
  // pg's own wording for a socket closed under it, or a pool that could not connect in time.
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(error.message);
}

/** Why the store is temporarily unusable, in an operator's words; undefined when `error` is not temporary. */
export function temporaryReason(error: unknown): string | undefined {
  const code = codeOf(error);
  if (code === '40001') return 'busy (a transaction conflict persisted: serialization failure)';
  if (code === '40P01') return 'busy (a deadlock persisted)';
  if (code === '57P01') return 'shutting down (admin shutdown)';
  if (code === '57P03') return 'not accepting connections yet (starting up or in recovery)';
  if (isConnectionLoss(error)) return `unreachable (${error instanceof Error ? error.message : String(error)})`;
  return undefined;
}
