/**
 * Logging in and out of the web admin (src/app/web-login.ts does the work):
 *
 *   GET  /login          the form: your address (and, for site administrators, an API token)
 *   POST /login          mails a one-time link when the address has something to see; the
 *                        same answer whatever the address (it tells nobody who is a member)
 *   POST /login/token    a site administrator's API token: a session at once
 *   GET  /login/TOKEN    a "Log in" button only: mail scanners that follow links use nothing up
 *   POST /login/TOKEN    uses the link (once, within its lifetime): a new session
 *   GET  /logout, POST /logout
 *
 * Each login makes a new session id, whatever cookie the browser brought
 * (no session fixation), and ends the session the browser had. Every form
 * carries a CSRF token (before login, bound to a pre-session cookie).
 * These routes are public and so rate-limited per client address.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { endSession, redeemLoginLink, requestLoginLink, startSession, startTokenSession } from '../../app/web-login.js';
import { html } from '../html/html.js';
import { page } from '../html/layout.js';
import type { ApiDeps } from '../routes/deps.js';
import { csrfField } from './admin-layout.js';
import { field } from './admin-route.js';
import { checkCsrf, clearSessionCookie, csrfToken, currentSession, setSessionCookie, type Flash } from './session.js';

export interface LoginLifetimes {
  linkMs: number;
  sessionMs: number;
}

function send(reply: FastifyReply, text: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(text);
}

function loginForm(csrf: string, flash?: Flash): string {
  return page({
    title: 'Log in',
    ...(flash === undefined ? {} : { flash }),
    content: html`<div class="card narrow">
<p>List owners, moderators and members log in with a link sent by mail: no password to remember.</p>
<form method="post" action="/login">
${csrfField(csrf)}
<label for="address">Your email address</label>
<input type="email" id="address" name="address" required autocomplete="email" autofocus>
<p><button type="submit">Mail me a login link</button></p>
</form>
</div>
<details class="card narrow"><summary>Site administrators: log in with an API token</summary>
<form method="post" action="/login/token">
${csrfField(csrf)}
<label for="token">API token <span class="hint">from <code>switchyard tokens create NAME</code> (a site administrator's)</span></label>
<input type="password" id="token" name="token" required autocomplete="off">
<p><button type="submit" class="secondary">Log in with the token</button></p>
</form>
</details>`,
  });
}

/** A fresh session replacing whatever the browser had (no fixation), then to the admin's start page. */
async function beginSession(request: FastifyRequest, reply: FastifyReply, deps: ApiDeps, id: string, lifetimes: LoginLifetimes): Promise<FastifyReply> {
  const previous = await currentSession(request, deps);
  if (previous !== null) await endSession(deps.app, previous.id);
  setSessionCookie(reply, deps, id, lifetimes.sessionMs);
  return reply.redirect('/admin', 303);
}

export function registerLoginPages(app: FastifyInstance, deps: ApiDeps, lifetimes: LoginLifetimes): void {
  app.get('/login', async (request, reply) => {
    // Shown even to someone logged in (to log in as someone else): the new login ends the old session.
    const session = await currentSession(request, deps);
    return send(reply, loginForm(csrfToken(request, reply, deps, null), session === null ? undefined : { kind: 'ok', text: `You are logged in as ${session.roles.who}; logging in again ends that session.` }));
  });

  app.post('/login', async (request, reply) => {
    // The login forms are bound to the pre-session cookie, whether or not a session exists (it is about to be replaced).
    checkCsrf(request, deps, null);
    const address = field(request.body as Record<string, unknown>, 'address');
    // Not awaited: the answer must not take longer for an address that gets a mail (the store lookups, the
    // fsynced enqueue) than for one that does not, or its timing would tell who is a member.
    void requestLoginLink(deps.app, address, { baseUrl: deps.web.baseUrl, lifetimeMs: lifetimes.linkMs }).then(
      (outcome) => request.log.info({ login: outcome.sent ? 'link sent' : `no link: ${outcome.why}` }, 'login link requested'),
      (error: unknown) => request.log.error({ err: error }, `login link not sent: ${(error as Error).message}`),
    );
    const minutes = Math.round(lifetimes.linkMs / 60_000);
    return send(
      reply,
      page({
        title: 'Check your mail',
        content: html`<div class="card narrow"><p>If <strong>${address}</strong> is an owner, moderator or member of a list here, a login link is on its way to it.</p>
<p>The link works once${minutes >= 1 ? html`, for ${minutes} minutes` : ''}. Nothing arrived? Check the address and <a href="/login">ask again</a>.</p></div>`,
      }),
    );
  });

  app.post('/login/token', async (request, reply) => {
    // The login forms are bound to the pre-session cookie, whether or not a session exists (it is about to be replaced).
    checkCsrf(request, deps, null);
    const id = await startTokenSession(deps.app, field(request.body as Record<string, unknown>, 'token'), lifetimes.sessionMs);
    if (id === null) return send(reply, loginForm(csrfToken(request, reply, deps, null), { kind: 'error', text: 'That is not a valid site administrator API token.' }), 401);
    return beginSession(request, reply, deps, id, lifetimes);
  });

  app.get('/login/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    // A button, not a login: a GET changes nothing, so a scanner following the link cannot use it up.
    return send(
      reply,
      page({
        title: 'Log in',
        content: html`<div class="card narrow"><p>Press the button to log in. The link works once.</p>
<form method="post" action="/login/${encodeURIComponent(token)}">${csrfField(csrfToken(request, reply, deps, null))}<button type="submit" autofocus>Log in</button></form></div>`,
      }),
    );
  });

  app.post('/login/:token', async (request, reply) => {
    // The login forms are bound to the pre-session cookie, whether or not a session exists (it is about to be replaced).
    checkCsrf(request, deps, null);
    const { token } = request.params as { token: string };
    const address = await redeemLoginLink(deps.app, token);
    if (address === null) {
      return send(
        reply,
        page({
          title: 'This link does not work',
          flash: { kind: 'error', text: 'The login link was used already, has expired, or is not complete.' },
          content: html`<div class="card narrow"><p>Login links work once and for a short while. <a href="/login">Ask for a new one</a>.</p></div>`,
        }),
        410,
      );
    }
    const id = await startSession(deps.app, { address }, lifetimes.sessionMs);
    return beginSession(request, reply, deps, id, lifetimes);
  });

  app.get('/logout', async (request, reply) => {
    const session = await currentSession(request, deps);
    if (session === null) return reply.redirect('/login', 303);
    return send(
      reply,
      page({
        title: 'Log out',
        who: session.roles.who,
        nav: [{ href: '/admin', label: 'My lists' }],
        content: html`<div class="card narrow"><form method="post" action="/logout">${csrfField(csrfToken(request, reply, deps, session))}<p>Log out of this browser?</p><button type="submit" autofocus>Log out</button></form></div>`,
      }),
    );
  });

  app.post('/logout', async (request, reply) => {
    const session = await currentSession(request, deps);
    if (session !== null) {
      checkCsrf(request, deps, session);
      await endSession(deps.app, session.id);
    }
    clearSessionCookie(reply, deps);
    return send(reply, page({ title: 'Logged out', content: html`<div class="card narrow"><p>You are logged out. <a href="/login">Log in again</a>.</p></div>` }));
  });

}
