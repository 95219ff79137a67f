/**
 * The RFC 8058 one-click unsubscribe URL of every list post (src/app/one-click.ts):
 *
 *   POST /u/TOKEN   the member named by TOKEN leaves the list at once, no
 *                   login (the mailbox provider's "Unsubscribe" button posts
 *                   `List-Unsubscribe=One-Click`, form-encoded or as
 *                   multipart/form-data); 200 also when already gone.
 *   GET  /u/TOKEN   a page with a button that makes that POST; never
 *                   unsubscribes (mail scanners and link previews follow
 *                   links).
 *
 * A token that is damaged, for nobody, or older than the site secret's
 * grace: 404 page, nothing changes. The POST needs no form token (the URL
 * token is the secret, and the provider's POST carries no cookies) and does
 * not count against the per-address rate limit: a provider posts for many
 * members from few addresses, and each POST must hold a valid HMAC anyway.
 */
import type { FastifyInstance } from 'fastify';
import { checkUnsubscribeToken, oneClickUnsubscribe } from '../../app/one-click.js';
import type { ApiDeps } from '../routes/deps.js';
import { html } from '../html/html.js';
import { page } from '../html/layout.js';
import type { SiteSecretsFile } from '../site-secret-file.js';
import { WebLinkInvalidError } from './errors.js';

const TOKEN = /^[A-Za-z0-9_.-]{1,1200}$/;

export async function registerOneClickPage(app: FastifyInstance, deps: ApiDeps, secrets: SiteSecretsFile): Promise<void> {
  await app.register(async (scope) => {
    // RFC 8058 allows multipart/form-data: its parts are not needed (the URL says who), only read and dropped. Scoped to these routes.
    scope.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: 16_384 }, (_request, _body, done) => done(null, {}));

    scope.get<{ Params: { token: string } }>('/u/:token', async (request, reply) => {
      const now = deps.app.now();
      const token = request.params.token;
      const check = TOKEN.test(token) ? checkUnsubscribeToken(secrets.current(now), token, now, deps.web.secretGraceMs) : { valid: false as const, reason: 'this unsubscribe link is damaged' };
      if (!check.valid) throw new WebLinkInvalidError(check.reason);
      const list = await deps.app.store.findList(check.list);
      const name = list === null ? check.list : list.displayName || list.name;
      void reply.type('text/html; charset=utf-8');
      return page({
        title: `Leave ${name}?`,
        content: html`<div class="card narrow">
<p><strong>${check.address}</strong> will get no more posts from <strong>${name}</strong> <span class="muted">(${check.list})</span>.</p>
<form method="post" action="/u/${token}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit" class="danger">Unsubscribe</button>
</form>
<p class="hint">Nothing happens until you press the button. You can join again at any time${list === null ? '' : html` on <a href="/lists/${list.address}">the list's page</a>`}.</p>
</div>`,
      });
    });

    scope.post<{ Params: { token: string } }>('/u/:token', { config: { rateLimit: false } }, async (request, reply) => {
      const now = deps.app.now();
      const token = request.params.token;
      const outcome = TOKEN.test(token) ? await oneClickUnsubscribe(deps.app, secrets.current(now), token, now, deps.web.secretGraceMs) : { status: 'invalid' as const, reason: 'this unsubscribe link is damaged' };
      if (outcome.status === 'invalid') throw new WebLinkInvalidError(outcome.reason);
      const list = await deps.app.store.findList(outcome.list);
      const name = list === null ? outcome.list : list.displayName || list.name;
      void reply.type('text/html; charset=utf-8');
      return page({
        title: 'Unsubscribed',
        flash: { kind: 'ok', text: `${outcome.address} is no longer subscribed to ${name}.` },
        content: html`<div class="card narrow">
<p>${outcome.status === 'unsubscribed' ? 'You will get no more posts from this list.' : 'This address was not (or no longer) a member: nothing more to do.'}</p>
${list === null ? '' : html`<p>Changed your mind? <a href="/lists/${list.address}">Subscribe again</a> on the list's page.</p>`}
</div>`,
      });
    });
  });
}
