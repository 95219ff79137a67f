/**
 * The public list pages, for anyone, no login:
 *
 *   GET  /                                   the lists of this site (those `advertised`)
 *   GET  /lists/LIST                         a list's page: what it is, how to post, subscribe form
 *   POST /lists/LIST/subscribe               asks to join: the address gets a confirmation mail
 *   GET  /lists/LIST/unsubscribe             the form to leave
 *   POST /lists/LIST/unsubscribe             asks to leave: the address gets a confirmation mail
 *   GET  /lists/LIST/confirm/TOKEN           the link of a confirmation mail: a page with a button
 *   POST /lists/LIST/confirm/TOKEN           confirms (src/app/subscriptions.ts confirmRequest)
 *
 * A form can never (un)subscribe someone else: requests go through the
 * confirmation flow of src/app/subscriptions.ts as `unproven`, so even an
 * `open` policy asks the address first; only who reads its mail confirms.
 * The answer to a request does not tell whether the address is a member or
 * banned (no membership probing). Forms carry a signed form token
 * (form-token.ts); the per-address rate limit of `[http] rateLimit` applies
 * to every route here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { confirmRequest, requestSubscription, requestUnsubscription, type RequestOutcome } from '../../app/subscriptions.js';
import { oneLine } from '../../mail/header-field.js';
import { parseListAddress, type MailingList } from '../../store/index.js';
import type { ApiDeps } from '../routes/deps.js';
import { html, type SafeHtml } from '../html/html.js';
import { page } from '../html/layout.js';
import type { SiteSecretsFile } from '../site-secret-file.js';
import { ApiNotFoundError } from '../errors.js';
import { WebLinkInvalidError } from './errors.js';
import { checkFormToken, FORM_FIELD, formToken } from './form-token.js';

type ListParams = { Params: { list: string } };
type ConfirmParams = { Params: { list: string; token: string } };
type FormBody = Record<string, unknown> | undefined;

function field(body: FormBody, name: string, max: number): string {
  const value = body?.[name];
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

function listName(list: MailingList): string {
  return list.displayName || list.name;
}

function sendPage(reply: FastifyReply, status: number, text: string): string {
  void reply.code(status).type('text/html; charset=utf-8');
  return text;
}

export async function registerListPages(app: FastifyInstance, deps: ApiDeps, secrets: SiteSecretsFile): Promise<void> {
  const membership = { siteBans: deps.web.siteBans ?? [], unproven: true };

  /** The list of `:list`, or the 404 page for a name that is not one. */
  async function listOf(request: FastifyRequest): Promise<MailingList> {
    const text = (request.params as { list: string }).list;
    let address: string;
    try {
      address = parseListAddress(text).address;
    } catch {
      throw new ApiNotFoundError(request.method, request.url);
    }
    const list = await deps.app.store.findList(address);
    if (list === null) throw new ApiNotFoundError(request.method, request.url);
    return list;
  }

  function hiddenToken(request: FastifyRequest, reply: FastifyReply, action: string): SafeHtml {
    return html`<input type="hidden" name="${FORM_FIELD}" value="${formToken(request, reply, deps.web, secrets, action)}">`;
  }

  function subscribeForm(request: FastifyRequest, reply: FastifyReply, list: MailingList, values: { address?: string; displayName?: string } = {}): SafeHtml {
    const action = `/lists/${list.address}/subscribe`;
    return html`<form method="post" action="${action}" class="stack">
${hiddenToken(request, reply, action)}
<label for="address">Your email address</label>
<input type="email" id="address" name="address" required autocomplete="email" maxlength="320" value="${values.address ?? ''}" placeholder="you@example.org">
<label for="displayName">Your name <span class="hint">optional, shown to the list's owners</span></label>
<input type="text" id="displayName" name="displayName" autocomplete="name" maxlength="200" value="${values.displayName ?? ''}">
<p><button type="submit">Subscribe</button></p>
<p class="hint">We send a message to this address; you are subscribed only once you confirm from it.</p>
</form>`;
  }

  function infoPage(request: FastifyRequest, reply: FastifyReply, list: MailingList, flash?: { kind: 'ok' | 'error'; text: string }, values?: { address?: string; displayName?: string }): string {
    return page({
      title: listName(list),
      ...(flash === undefined ? {} : { flash }),
      content: html`<p class="lead">${list.description || 'A mailing list.'}</p>
<div class="columns">
<section class="card" aria-labelledby="about">
<h2 id="about">About this list</h2>
<dl class="facts">
<dt>Posting address</dt><dd><a href="mailto:${list.address}">${list.address}</a></dd>
<dt>Joining</dt><dd>${policyText(list)}</dd>
<dt>By mail</dt><dd>write to <a href="mailto:${list.name}-join@${list.domain}">${list.name}-join@${list.domain}</a> to join, <a href="mailto:${list.name}-leave@${list.domain}">${list.name}-leave@${list.domain}</a> to leave</dd>
<dt>Owners</dt><dd><a href="mailto:${list.name}-owner@${list.domain}">${list.name}-owner@${list.domain}</a></dd>
</dl>
</section>
<section class="card" aria-labelledby="subscribe">
<h2 id="subscribe">Subscribe</h2>
${subscribeForm(request, reply, list, values)}
</section>
</div>
<p class="muted">Already a member and want to leave? <a href="/lists/${list.address}/unsubscribe">Unsubscribe</a>.</p>`,
    });
  }

  app.get('/', async (_request, reply) => {
    const lists = (await deps.app.store.lists()).filter((list) => list.settings.advertised).sort((a, b) => listName(a).localeCompare(listName(b)));
    return sendPage(
      reply,
      200,
      page({
        title: 'Mailing lists',
        content: html`${lists.length === 0
          ? html`<div class="card"><p>No lists are public on this site.</p></div>`
          : html`<ul class="list-index">${lists.map(
              (list) => html`<li class="card"><a class="list-title" href="/lists/${list.address}">${listName(list)}</a> <span class="muted">${list.address}</span>${list.description === '' ? '' : html`<p>${list.description}</p>`}</li>`,
            )}</ul>`}`,
      }),
    );
  });

  app.get<ListParams>('/lists/:list', async (request, reply) => {
    const list = await listOf(request);
    return sendPage(reply, 200, infoPage(request, reply, list));
  });

  app.post<ListParams>('/lists/:list/subscribe', async (request, reply) => {
    const list = await listOf(request);
    checkFormToken(request, deps.web, secrets, `/lists/${list.address}/subscribe`, deps.app.now());
    const body = request.body as FormBody;
    const address = field(body, 'address', 320);
    // A form field cannot hold a line break a person meant; the store refuses control characters in names.
    const displayName = oneLine(field(body, 'displayName', 200));
    const outcome = await requestSubscription(deps.app, list.address, { address, ...(displayName === '' ? {} : { displayName }) }, membership);
    if (outcome.status === 'invalid') return sendPage(reply, 422, infoPage(request, reply, list, { kind: 'error', text: `That address cannot be used: ${outcome.reason}` }, { address, displayName }));
    request.log.info({ list: list.address, outcome: outcome.status }, 'subscribe form');
    return sendPage(reply, 200, answerPage(list, outcome, address, 'join'));
  });

  function unsubscribePage(request: FastifyRequest, reply: FastifyReply, list: MailingList, flash?: { kind: 'ok' | 'error'; text: string }, address = ''): string {
    const action = `/lists/${list.address}/unsubscribe`;
    return page({
      title: `Leave ${listName(list)}`,
      ...(flash === undefined ? {} : { flash }),
      content: html`<div class="card narrow">
<form method="post" action="${action}" class="stack">
${hiddenToken(request, reply, action)}
<label for="address">The subscribed address</label>
<input type="email" id="address" name="address" required autocomplete="email" maxlength="320" placeholder="you@example.org" value="${address}">
<p><button type="submit" class="danger">Unsubscribe</button></p>
<p class="hint">We send a message to this address; it leaves the list once you confirm from it. The "Unsubscribe" link of any post from the list works in one click.</p>
</form>
</div>
<p><a href="/lists/${list.address}">Back to ${listName(list)}</a></p>`,
    });
  }

  app.get<ListParams>('/lists/:list/unsubscribe', async (request, reply) => {
    const list = await listOf(request);
    return sendPage(reply, 200, unsubscribePage(request, reply, list));
  });

  app.post<ListParams>('/lists/:list/unsubscribe', async (request, reply) => {
    const list = await listOf(request);
    checkFormToken(request, deps.web, secrets, `/lists/${list.address}/unsubscribe`, deps.app.now());
    const address = field(request.body as FormBody, 'address', 320);
    const outcome = await requestUnsubscription(deps.app, list.address, address, { unproven: true });
    if (outcome.status === 'invalid') return sendPage(reply, 422, unsubscribePage(request, reply, list, { kind: 'error', text: `That address cannot be used: ${outcome.reason}` }, address));
    request.log.info({ list: list.address, outcome: outcome.status }, 'unsubscribe form');
    return sendPage(reply, 200, answerPage(list, outcome, address, 'leave'));
  });

  app.get<ConfirmParams>('/lists/:list/confirm/:token', async (request, reply) => {
    const list = await listOf(request);
    const pending = await pendingOf(list, request.params.token);
    const action = `/lists/${list.address}/confirm/${pending.token}`;
    const joining = pending.kind === 'subscribe';
    return sendPage(
      reply,
      200,
      page({
        title: joining ? `Join ${listName(list)}?` : `Leave ${listName(list)}?`,
        content: html`<div class="card narrow">
<p>${joining ? 'Subscribe' : 'Unsubscribe'} <strong>${pending.address}</strong> ${joining ? 'to' : 'from'} <strong>${listName(list)}</strong> <span class="muted">(${list.address})</span>.</p>
<form method="post" action="${action}">
${hiddenToken(request, reply, action)}
<button type="submit"${joining ? '' : html` class="danger"`}>${joining ? 'Confirm subscription' : 'Confirm unsubscription'}</button>
</form>
<p class="hint">Nothing happens until you press the button. If you did not ask for this, close this page: the request lapses by itself.</p>
</div>`,
      }),
    );
  });

  app.post<ConfirmParams>('/lists/:list/confirm/:token', async (request, reply) => {
    const list = await listOf(request);
    const token = request.params.token.toLowerCase();
    checkFormToken(request, deps.web, secrets, `/lists/${list.address}/confirm/${token}`, deps.app.now());
    const outcome = await confirmRequest(deps.app, list.address, token, { siteBans: membership.siteBans });
    if (outcome.status === 'unknown-token' || outcome.status === 'other-list' || outcome.status === 'expired') throw new WebLinkInvalidError(confirmRefusal(outcome.status));
    request.log.info({ list: list.address, outcome: outcome.status }, 'confirmed on the web');
    return sendPage(reply, 200, confirmedPage(list, outcome));
  });

  /** The request a confirmation link names, only if it is this list's and waits for the address (404 page otherwise). */
  async function pendingOf(list: MailingList, tokenText: string) {
    const token = tokenText.toLowerCase();
    const pending = /^[0-9a-f]{16,128}$/.test(token) ? await deps.app.store.pendingRequestByToken(token) : null;
    if (pending === null || (pending.kind !== 'subscribe' && pending.kind !== 'unsubscribe')) throw new WebLinkInvalidError(confirmRefusal('unknown-token'));
    if (pending.list !== list.address) throw new WebLinkInvalidError(confirmRefusal('other-list'));
    if (pending.expiresAt.getTime() <= deps.app.now().getTime()) throw new WebLinkInvalidError(confirmRefusal('expired'));
    return pending;
  }
}

function policyText(list: MailingList): string {
  switch (list.settings.subscriptionPolicy) {
    case 'moderate':
      return "the list's owners approve each request";
    case 'confirm_then_moderate':
      return "you confirm by mail, then the list's owners approve";
    default:
      return 'open to anyone; you confirm by mail';
  }
}

function confirmRefusal(status: 'unknown-token' | 'other-list' | 'expired'): string {
  if (status === 'other-list') return 'this confirmation link belongs to another list';
  if (status === 'expired') return 'this confirmation link has lapsed; ask again on the list\'s page';
  return 'this confirmation link is not known (used already, lapsed, or damaged)';
}

/** The answer to a form request: the same for a member, a stranger and a banned address (no probing). */
function answerPage(list: MailingList, outcome: RequestOutcome, address: string, what: 'join' | 'leave'): string {
  const back = html`<p><a href="/lists/${list.address}">Back to ${listName(list)}</a></p>`;
  if (outcome.status === 'pending-approval') {
    return page({
      title: 'Request sent to the owners',
      content: html`<div class="card narrow"><p>The owners of <strong>${listName(list)}</strong> decide on requests to ${what} this list. You will hear from them at <strong>${address}</strong>.</p></div>${back}`,
    });
  }
  return page({
    title: 'Check your mail',
    content: html`<div class="card narrow">
<p>If <strong>${address}</strong> can ${what} <strong>${listName(list)}</strong>, a message asking to confirm is on its way to it.</p>
<p>Open the link in that message, or reply to it. Nothing changes until then.</p>
<p class="hint">No message after a few minutes? Look in your spam folder. To keep strangers from flooding an inbox, only a few confirmation messages go to one address a day.</p>
</div>${back}`,
  });
}

function confirmedPage(list: MailingList, outcome: RequestOutcome): string {
  const url = `/lists/${list.address}`;
  switch (outcome.status) {
    case 'subscribed':
    case 'already-member':
      return page({ title: `Welcome to ${listName(list)}`, flash: { kind: 'ok', text: `${outcome.address} is a member of ${list.address}.` }, content: html`<div class="card narrow"><p>Posts to the list will come to your mailbox. To write to the list, send mail to <a href="mailto:${list.address}">${list.address}</a>.</p></div>` });
    case 'unsubscribed':
    case 'not-member':
      return page({ title: `You have left ${listName(list)}`, flash: { kind: 'ok', text: `${outcome.address} is not a member of ${list.address}.` }, content: html`<div class="card narrow"><p>Changed your mind? <a href="${url}">Subscribe again</a>.</p></div>` });
    case 'pending-approval':
      return page({ title: 'Confirmed: now the owners decide', content: html`<div class="card narrow"><p>Thank you. The owners of ${listName(list)} approve each new member; you will hear from them by mail.</p></div>` });
    default:
      return page({ title: 'Not possible', flash: { kind: 'error', text: 'This request cannot be carried out.' }, content: html`<div class="card narrow"><p>Ask the list's owners at <a href="mailto:${list.name}-owner@${list.domain}">${list.name}-owner@${list.domain}</a>.</p></div>` });
  }
}
