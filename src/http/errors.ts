/**
 * The HTTP service's own errors, and what HTTP status every switchyard error
 * is answered with. A JSON error body always carries the `SY_*` code (the
 * README's error table says what each means), so a client decides from the
 * code, never from the message:
 *   { "error": { "code": "SY_LIST_UNKNOWN", "message": "no list ...", "temporary": false } }
 */
import { EXIT_USAGE, isSwitchyardError, SwitchyardError, INTERNAL_CODE } from '../errors.js';

export class ApiUnauthorizedError extends SwitchyardError {
  constructor(message = 'this route needs an API token: send `Authorization: Bearer <token>` (`switchyard tokens create`)') {
    super('SY_API_UNAUTHORIZED', message);
  }
}

export class ApiForbiddenError extends SwitchyardError {
  constructor(message: string) {
    super('SY_API_FORBIDDEN', message);
  }
}

export class ApiNotFoundError extends SwitchyardError {
  constructor(method: string, url: string) {
    super('SY_API_NOT_FOUND', `no route ${method} ${url.split('?')[0]} (see /api/openapi.json)`);
  }
}

export class ApiValidationError extends SwitchyardError {
  constructor(readonly where: string, readonly problems: string[]) {
    super('SY_API_INVALID', `invalid request ${where}: ${problems.join('; ')}`, { exitCode: EXIT_USAGE });
  }
}

export class ApiStaleError extends SwitchyardError {
  constructor(list: string, sent: string, current: string) {
    super('SY_API_STALE', `the settings of ${list} changed since they were read (If-Match ${sent}, now ${current}): read them again and reapply the change`);
  }
}

/** A request the HTTP layer itself refused (malformed JSON, body too large, too many requests, timeout): each with its status. */
export abstract class ApiRequestError extends SwitchyardError {
  abstract readonly status: number;
}

export class ApiBadRequestError extends ApiRequestError {
  constructor(message: string, readonly status: number) {
    super('SY_API_BAD_REQUEST', message);
  }
}

export class ApiTooLargeError extends ApiRequestError {
  readonly status = 413;
  constructor(message: string) {
    super('SY_API_TOO_LARGE', `request body too large: ${message}`);
  }
}

export class ApiRateLimitedError extends ApiRequestError {
  readonly status = 429;
  constructor(message: string) {
    super('SY_API_RATE_LIMITED', `too many requests from this address: ${message}`, { temporary: true });
  }
}

export class ApiTimeoutError extends ApiRequestError {
  constructor(message: string, readonly status: number) {
    super('SY_API_TIMEOUT', `request timed out: ${message}`, { temporary: true });
  }
}

/** Codes that mean "no such thing": 404. */
const NOT_FOUND = new Set(['SY_API_NOT_FOUND', 'SY_LIST_UNKNOWN', 'SY_MEMBER_UNKNOWN', 'SY_HELD_UNKNOWN', 'SY_REQUEST_UNKNOWN', 'SY_TOKEN_UNKNOWN', 'SY_QUEUE_UNKNOWN']);
/** Codes that mean "conflicts with what is there": 409. */
const CONFLICT = new Set(['SY_LIST_EXISTS', 'SY_MEMBER_EXISTS', 'SY_API_STALE', 'SY_REQUEST_NOT_FOR_OWNERS', 'SY_MEMBER_PREFERENCE_REFUSED']);
/** Codes of a value that is not acceptable though the request is well formed: 422. */
const UNPROCESSABLE = new Set(['SY_REGISTRY_UNKNOWN', 'SY_HEADER_SETTING', 'SY_MEMBER_NAME_INVALID', 'SY_HEADER_VALUE', 'SY_HEADER_INJECTION', 'SY_QUEUE_NAME', 'SY_QUEUE_REQUEUE_SOURCE']);

/** The HTTP status for an error. A bad value (the CLI's usage errors: address, list name, setting) is 422. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof ApiRequestError) return error.status;
  if (!isSwitchyardError(error)) return 500;
  if (error.code === 'SY_API_UNAUTHORIZED') return 401;
  if (error.code === 'SY_API_FORBIDDEN') return 403;
  if (NOT_FOUND.has(error.code)) return 404;
  if (CONFLICT.has(error.code)) return 409;
  if (UNPROCESSABLE.has(error.code) || error.exitCode === EXIT_USAGE) return 422;
  // A busy or damaged store, a master that does not answer: try again later.
  if (error.temporary || error.code === 'SY_STORE_CORRUPT' || error.code === 'SY_MASTER_NOT_RUNNING' || error.code === 'SY_MASTER_ANSWER') return 503;
  return 500;
}

export interface ErrorBody {
  error: { code: string; message: string; temporary: boolean; problems?: string[] };
}

/** The JSON body for an error; an error not ours says only that it is internal (its message may hold paths). */
export function errorBody(error: unknown): ErrorBody {
  if (!isSwitchyardError(error)) return { error: { code: INTERNAL_CODE, message: 'internal error; the HTTP service log has the details', temporary: false } };
  return {
    error: {
      code: error.code,
      message: error.message,
      temporary: error.temporary,
      ...(error instanceof ApiValidationError ? { problems: error.problems } : {}),
    },
  };
}

/** fastify's own errors (FST_ERR_*, the rate limiter's) as ours. */
export function fromFastifyError(error: { statusCode?: number; message: string }): ApiRequestError | undefined {
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 600) return undefined;
  if (status === 413) return new ApiTooLargeError(error.message);
  if (status === 429) return new ApiRateLimitedError(error.message);
  if (status === 408 || status === 503) return new ApiTimeoutError(error.message, status);
  return status < 500 ? new ApiBadRequestError(error.message, status) : undefined;
}
