/**
 * Cross-site request forgery protection for the public forms (subscribe,
 * unsubscribe, confirm), which have no session: a random nonce in a
 * `SameSite=Strict`, `HttpOnly` cookie, and in each form a token that the
 * site secret signs for the purpose 'form' over that nonce and the form's
 * action path. A POST is accepted only with both, and a token made for the
 * same browser and the same form: another site can neither read the cookie
 * nor make the token (double submit, signed). The token is valid while its
 * key is (rotation: `http.secretGrace`).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebDeps } from '../web.js';
import { secureCookies } from '../web.js';
import type { SiteSecretsFile } from '../site-secret-file.js';
import { WebFormTokenError } from './errors.js';

export const FORM_COOKIE = 'sy_form';
export const FORM_FIELD = 'formToken';
const FORM_PURPOSE = 'form';

function nonceOf(request: FastifyRequest): string | undefined {
  const value = request.cookies[FORM_COOKIE];
  return value !== undefined && /^[A-Za-z0-9_-]{22}$/.test(value) ? value : undefined;
}

/** The form token for `action` (the path the form posts to), setting the nonce cookie when the browser has none. */
export function formToken(request: FastifyRequest, reply: FastifyReply, web: WebDeps, secrets: SiteSecretsFile, action: string): string {
  let nonce = nonceOf(request);
  if (nonce === undefined) {
    nonce = randomBytes(16).toString('base64url');
    void reply.setCookie(FORM_COOKIE, nonce, { path: '/', httpOnly: true, sameSite: 'strict', secure: secureCookies(web) });
  }
  return secrets.current(new Date()).sign(FORM_PURPOSE, `${nonce} ${action}`);
}

/** WebFormTokenError (403) unless the POST carries the token of this browser's nonce for `action`. */
export function checkFormToken(request: FastifyRequest, web: WebDeps, secrets: SiteSecretsFile, action: string, now: Date): void {
  const nonce = nonceOf(request);
  const token = (request.body as Record<string, unknown> | undefined)?.[FORM_FIELD];
  if (nonce === undefined || typeof token !== 'string' || !secrets.current(now).verify(FORM_PURPOSE, `${nonce} ${action}`, token, now, web.secretGraceMs)) throw new WebFormTokenError();
}
