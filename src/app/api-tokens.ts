/**
 * API tokens of the HTTP service (`switchyard tokens create|list|revoke`):
 * a site administrator's, or one scoped to one list as its owner or
 * moderator. A token is 32 random bytes shown once at creation; the store
 * keeps only its SHA-256 (a token has 256 bits of entropy, so a fast hash
 * without salt is enough: nothing to guess), so a copy of switchyard.db
 * grants nothing. One store transaction per change.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SwitchyardError } from '../errors.js';
import type { ApiToken, ApiTokenRole } from '../store/index.js';
import type { AppContext } from './context.js';

/** Every token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const TOKEN_PREFIX = 'sy_';

export const API_TOKEN_ROLES: readonly ApiTokenRole[] = ['admin', 'owner', 'moderator'];

export class ApiTokenRequestError extends SwitchyardError {
  constructor(message: string) {
    super('SY_TOKEN_INVALID', message, { exitCode: 2 });
  }
}

export class ApiTokenUnknownError extends SwitchyardError {
  constructor(id: number) {
    super('SY_TOKEN_UNKNOWN', `no API token ${id} (\`switchyard tokens list\` shows them)`);
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface NewTokenRequest {
  name: string;
  role: ApiTokenRole;
  /** Required for owner and moderator, refused for admin. */
  list?: string;
}

/** A new token: the secret (shown once, never stored) and its record. ListUnknownError for a list that does not exist. */
export async function createApiToken(ctx: Pick<AppContext, 'store' | 'now'>, request: NewTokenRequest): Promise<{ token: string; record: ApiToken }> {
  const name = request.name.trim();
  if (name === '' || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name)) throw new ApiTokenRequestError('a token name is 1-100 printable characters');
  if (!API_TOKEN_ROLES.includes(request.role)) throw new ApiTokenRequestError(`a token role is one of ${API_TOKEN_ROLES.join(', ')}`);
  if (request.role === 'admin' && request.list !== undefined) throw new ApiTokenRequestError('a site administrator token is for every list: give no list (or give the role owner or moderator)');
  if (request.role !== 'admin' && request.list === undefined) throw new ApiTokenRequestError(`a ${request.role} token is for one list: give the list`);
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const record = await ctx.store.addApiToken({
    name,
    hash: hashToken(token),
    role: request.role,
    ...(request.list === undefined ? {} : { list: request.list }),
    createdAt: ctx.now(),
  });
  return { token, record };
}

export function listApiTokens(ctx: Pick<AppContext, 'store'>): Promise<ApiToken[]> {
  return ctx.store.apiTokens();
}

/** Revoke (delete) a token: requests with it get 401 from then on. ApiTokenUnknownError if none. */
export async function revokeApiToken(ctx: Pick<AppContext, 'store'>, id: number): Promise<void> {
  if (!(await ctx.store.removeApiToken(id))) throw new ApiTokenUnknownError(id);
}

/** The token's record, or null for a token that is not (or no longer) valid. */
export async function authenticateToken(ctx: Pick<AppContext, 'store' | 'now'>, token: string): Promise<ApiToken | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  return ctx.store.useApiToken(hashToken(token), ctx.now());
}
