/**
 * What the HTML pages (the web admin, the public list pages) share, set up
 * once on the fastify instance before any page registers:
 * - form bodies (application/x-www-form-urlencoded: pages work without
 *   JavaScript) and cookies signed with the site secret (site-secret.ts;
 *   the current key signs, keys retired less than `http.secretGrace` ago
 *   still verify);
 * - on every HTML answer: a strict Content-Security-Policy (no script at
 *   all, styles only from our stylesheet, forms only to us, never framed;
 *   a page that asks for it, allowOwnScripts(), may load script files of
 *   ours and fetch from us, never inline script),
 *   nosniff, no Referer (page URLs carry one-time and unsubscribe tokens),
 *   and no caching;
 * - the stylesheet at /static/switchyard.css.
 * Pages register with registerPages() (pages.ts).
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SiteSecrets } from './site-secret.js';
import { STYLESHEET, STYLESHEET_PATH } from './html/stylesheet.js';

export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** The policy of a page that loads a script file of ours (allowOwnScripts): still no inline script, no other origin. */
export const SCRIPT_CONTENT_SECURITY_POLICY = `${CONTENT_SECURITY_POLICY}; script-src 'self'; connect-src 'self'`;

const scriptPages = new WeakSet<FastifyReply>();

/** This page loads script files served by this service (the member import's progress): script-src and connect-src 'self' on it alone. */
export function allowOwnScripts(reply: FastifyReply): void {
  scriptPages.add(reply);
}

/** What the pages need beyond the API's deps: the secrets and the public URL. */
export interface WebDeps {
  /** `[membership] bans`: site-wide bans the public subscribe form applies. */
  siteBans?: readonly string[];
  /** The home directory (for site-secret rotation and the archives). */
  home: string;
  secrets: SiteSecrets;
  /** `http.baseUrl`, or http://listen:port: the start of every link put in mail. No trailing slash. */
  baseUrl: string;
  /** `http.secretGrace` in ms: how long tokens of a retired key still verify. */
  secretGraceMs: number;
  /** `http.loginLinkLifetime` in ms: how long a mailed web admin login link works (default 15 minutes). */
  loginLinkLifetimeMs?: number;
  /** `http.sessionLifetime` in ms: how long a web admin session lasts (default 12 hours). */
  sessionLifetimeMs?: number;
}

/** Whether a request is for a page (HTML errors) rather than the API or the metrics (JSON errors). */
export function isPageRequest(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  return !(path === '/api' || path.startsWith('/api/') || path === '/metrics');
}

/** Whether cookies must be marked Secure: the public URL is https (TLS ends at the proxy in front). */
export function secureCookies(web: WebDeps): boolean {
  return web.baseUrl.startsWith('https:');
}

export async function registerWeb(app: FastifyInstance, web: WebDeps, now: () => Date): Promise<void> {
  await app.register(formbody);
  await app.register(cookie, { secret: web.secrets.derived('cookie', now(), web.secretGraceMs) });
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) {
      void reply.header('content-security-policy', scriptPages.has(reply) ? SCRIPT_CONTENT_SECURITY_POLICY : CONTENT_SECURITY_POLICY);
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('x-frame-options', 'DENY');
      void reply.header('referrer-policy', 'no-referrer');
      void reply.header('cache-control', 'no-store');
    }
    return payload;
  });
  app.get(STYLESHEET_PATH, async (_request, reply) => {
    void reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff');
    return STYLESHEET;
  });
}
