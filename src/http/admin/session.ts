/**
 * The web admin's session and CSRF handling, shared by every admin page:
 *
 * - the session cookie `sy_session` holds a random session id (made at
 *   login, src/app/web-login.ts), signed with the site secret, HttpOnly,
 *   SameSite=Lax, Secure when `http.baseUrl` is https; the store keeps its
 *   hash and expiry, so logout and expiry are server-side;
 * - every form carries a CSRF token: an HMAC of the session id (site secret,
 *   purpose `csrf`), so it is bound to the session and needs no storage;
 *   forms shown before login (the login forms) bind it to a random
 *   pre-session cookie `sy_pre` instead. Every POST checks it first.
 * - a one-shot flash cookie carries "approved post #3" across the redirect
 *   after a POST (signed: nobody can put text of their choosing on a page).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionRoles, type WebRoles } from '../../app/web-login.js';
import { SwitchyardError } from '../../errors.js';
import { ApiRequestError } from '../errors.js';
import type { ApiDeps } from '../routes/deps.js';
import { secureCookies } from '../web.js';

export const SESSION_COOKIE = 'sy_session';
const PRE_COOKIE = 'sy_pre';
const FLASH_COOKIE = 'sy_flash';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** A POST whose CSRF token is missing or not this session's: 403, nothing done. */
export class WebCsrfError extends ApiRequestError {
  readonly status = 403;
  constructor() {
    super('SY_WEB_CSRF', 'this form was not sent from a page of this session (its CSRF token is missing or stale): reload the page and send it again');
  }
}

export interface AdminSession {
  id: string;
  roles: WebRoles;
}

function cookieOptions(deps: ApiDeps, maxAgeSeconds?: number) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: secureCookies(deps.web), signed: true, ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }) };
}

function signedCookie(request: FastifyRequest, name: string): string | null {
  const raw = request.cookies[name];
  if (raw === undefined) return null;
  const unsigned = request.unsignCookie(raw);
  return unsigned.valid && unsigned.value !== null ? unsigned.value : null;
}

const sessions = new WeakMap<FastifyRequest, AdminSession | null>();

/** The request's live session, or null (no cookie, a forged one, expired or logged out). Looked up once per request. */
export async function currentSession(request: FastifyRequest, deps: ApiDeps): Promise<AdminSession | null> {
  if (sessions.has(request)) return sessions.get(request) ?? null;
  const id = signedCookie(request, SESSION_COOKIE);
  const roles = id === null ? null : await sessionRoles(deps.app, id);
  const session = id === null || roles === null ? null : { id, roles };
  sessions.set(request, session);
  return session;
}

export function setSessionCookie(reply: FastifyReply, deps: ApiDeps, id: string, lifetimeMs: number): void {
  void reply.setCookie(SESSION_COOKIE, id, cookieOptions(deps, Math.floor(lifetimeMs / 1000)));
}

export function clearSessionCookie(reply: FastifyReply, deps: ApiDeps): void {
  void reply.clearCookie(SESSION_COOKIE, cookieOptions(deps));
}

/** The CSRF token for the forms of this page: bound to the session, else to a pre-session cookie (set here when missing). */
export function csrfToken(request: FastifyRequest, reply: FastifyReply, deps: ApiDeps, session: AdminSession | null): string {
  if (session !== null) return deps.web.secrets.sign('csrf', session.id);
  let pre = signedCookie(request, PRE_COOKIE);
  if (pre === null) {
    pre = randomBytes(16).toString('base64url');
    void reply.setCookie(PRE_COOKIE, pre, cookieOptions(deps));
  }
  return deps.web.secrets.sign('csrf-pre', pre);
}

/**
 * WebCsrfError unless the POST's `_csrf` field is the token csrfToken() gave
 * this session (or pre-session). A body that is not a form (the import
 * page's script sends the member file as text/csv) carries it in the
 * `X-CSRF-Token` header instead: no other site can set that header.
 */
export function checkCsrf(request: FastifyRequest, deps: ApiDeps, session: AdminSession | null): void {
  const body = request.body as Record<string, unknown> | string | undefined;
  const header = request.headers[CSRF_HEADER];
  const token = typeof body === 'object' && body !== null && typeof body[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : typeof header === 'string' ? header : '';
  const now = deps.app.now();
  const bound = session === null ? signedCookie(request, PRE_COOKIE) : session.id;
  const purpose = session === null ? 'csrf-pre' : 'csrf';
  if (bound === null || !deps.web.secrets.verify(purpose, bound, token, now, deps.web.secretGraceMs)) throw new WebCsrfError();
}

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export function setFlash(reply: FastifyReply, deps: ApiDeps, flash: Flash): void {
  void reply.setCookie(FLASH_COOKIE, JSON.stringify(flash), cookieOptions(deps, 60));
}

/** The flash set by the previous answer, once. */
export function takeFlash(request: FastifyRequest, reply: FastifyReply, deps: ApiDeps): Flash | undefined {
  const value = signedCookie(request, FLASH_COOKIE);
  if (value === null) return undefined;
  void reply.clearCookie(FLASH_COOKIE, cookieOptions(deps));
  try {
    const flash = JSON.parse(value) as Flash;
    return (flash.kind === 'ok' || flash.kind === 'error') && typeof flash.text === 'string' ? flash : undefined;
  } catch {
    return undefined;
  }
}

/** What a failed action says on the page: a switchyard error's message, else that it failed (the details are in the log). */
export function failureText(error: unknown): string {
  return error instanceof SwitchyardError ? `${error.message} (${error.code})` : 'the action failed; the HTTP service log has the details';
}
