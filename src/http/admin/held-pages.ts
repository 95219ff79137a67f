/**
 * The moderation queue of a list (moderators and owners): the held posts,
 * oldest first, a page at a time; one post read safely (message-view.ts:
 * text escaped, an HTML part never rendered, attachments listed); approve,
 * reject with a reason, or discard, one post or those ticked, each through
 * src/app/moderation.ts decideHeld, as `switchyard held` and the REST API.
 */
import type { FastifyReply } from 'fastify';
import { decideHeld, decideHeldEach, DEFAULT_REJECT_REASON, pageHeld, showHeld } from '../../app/moderation.js';
import { html, type SafeHtml } from '../html/html.js';
import { messageView, parseMessage } from '../archive/message-view.js';
import type { ApiDeps } from '../routes/deps.js';
import { adminPage, csrfField, when } from './admin-layout.js';
import { field, fields, listUrl, type AdminInput, type AdminRouteSpec } from './admin-route.js';
import { failureText, setFlash } from './session.js';

export const HELD_PAGE_SIZE = 100;
const DECISIONS = ['approve', 'reject', 'discard'] as const;
type Decision = (typeof DECISIONS)[number];

const PAST: Record<Decision, string> = { approve: 'approved', reject: 'rejected', discard: 'discarded' };

function decisionButtons(): SafeHtml {
  return html`<div class="actions">
<label for="reason">Reason for a rejection <span class="hint">sent to the poster; empty: "${DEFAULT_REJECT_REASON}"</span></label>
<input type="text" id="reason" name="reason" maxlength="2000">
<p class="buttons"><button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="secondary">Reject</button>
<button type="submit" name="decision" value="discard" class="danger">Discard</button></p>
</div>`;
}

function decidedBy(input: AdminInput): string {
  return `web ${input.session.roles.address ?? input.session.roles.who}`;
}

async function decide(deps: ApiDeps, input: AdminInput, id: number, decision: Decision, reason: string): Promise<void> {
  const by = decidedBy(input);
  await decideHeld(deps.app, input.list!.address, id, decision === 'reject' ? { decision, by, ...(reason === '' ? {} : { reason }) } : { decision, by });
}

function back(reply: FastifyReply, list: string): FastifyReply {
  return reply.redirect(listUrl(list, 'held'), 303);
}

export function heldPages(deps: ApiDeps): AdminRouteSpec[] {
  const app = deps.app;
  return [
    {
      method: 'GET',
      url: '/admin/lists/:list/held',
      access: 'moderator',
      handler: async (input) => {
        const list = input.list!;
        const pageNo = Math.max(1, Number.parseInt(input.query.page ?? '1', 10) || 1);
        const { held: shown, total } = await pageHeld(app, list.address, { offset: (pageNo - 1) * HELD_PAGE_SIZE, limit: HELD_PAGE_SIZE });
        const pages = Math.max(1, Math.ceil(total / HELD_PAGE_SIZE));
        const content =
          total === 0
            ? html`<div class="card"><p>No posts are waiting for a moderator.</p></div>`
            : html`<p class="muted">${total} post${total === 1 ? '' : 's'} waiting, oldest first. Tick posts and decide below, or open one to read it.</p>
<form method="post" action="${listUrl(list.address, 'held')}">
${csrfField(input.csrf)}
<table>
<caption class="visually-hidden">Held posts</caption>
<thead><tr><th scope="col"><span class="visually-hidden">Select</span></th><th scope="col">From</th><th scope="col">Subject</th><th scope="col">Why held</th><th scope="col">Received</th></tr></thead>
<tbody>${shown.map(
                (h) => html`<tr>
<td><input type="checkbox" name="id" value="${h.id}" id="held-${h.id}" aria-label="select post ${h.id}"></td>
<td>${h.sender}</td>
<td><a href="${listUrl(list.address, `held/${h.id}`)}">${h.subject === '' ? '(no subject)' : h.subject}</a></td>
<td class="small">${h.reason}</td>
<td class="small">${when(h.receivedAt)}</td>
</tr>`,
              )}</tbody></table>
${pages > 1 ? html`<nav class="pager" aria-label="pages">${pageNo > 1 ? html`<a href="?page=${pageNo - 1}">← Previous page</a>` : ''}<span>Page ${pageNo} of ${pages}</span>${pageNo < pages ? html`<a href="?page=${pageNo + 1}">Next page →</a>` : ''}</nav>` : ''}
<h2>Decide on the ticked posts</h2>
${decisionButtons()}
</form>`;
        return adminPage(input, { title: 'Held posts', content, tab: 'held' });
      },
    },
    {
      method: 'POST',
      url: '/admin/lists/:list/held',
      access: 'moderator',
      handler: async (input) => {
        const list = input.list!.address;
        const decision = field(input.body, 'decision') as Decision;
        const ids = fields(input.body, 'id').map(Number).filter((n) => Number.isSafeInteger(n) && n > 0);
        if (!DECISIONS.includes(decision) || ids.length === 0) {
          setFlash(input.reply, deps, { kind: 'error', text: ids.length === 0 ? 'Tick at least one post.' : 'Choose approve, reject or discard.' });
          return back(input.reply, list);
        }
        const reason = field(input.body, 'reason').trim();
        const by = decidedBy(input);
        const outcomes = await decideHeldEach(app, list, ids, decision === 'reject' ? { decision, by, ...(reason === '' ? {} : { reason }) } : { decision, by });
        const failed = outcomes.flatMap((o) =>
          o.outcome === 'decided' ? [] : [`#${o.id}: ${o.outcome === 'not_found' ? 'no longer held' : o.outcome === 'already_decided' ? `already ${PAST[o.record.decision as Decision] ?? o.record.decision} by ${o.record.decidedBy}` : `${o.message} (${o.code})`}`],
        );
        const done = ids.length - failed.length;
        setFlash(input.reply, deps, failed.length === 0 ? { kind: 'ok', text: `${done} post${done === 1 ? '' : 's'} ${PAST[decision]}.` } : { kind: 'error', text: `${done} ${PAST[decision]}; not done: ${failed.join('; ')}` });
        return back(input.reply, list);
      },
    },
    {
      method: 'GET',
      url: '/admin/lists/:list/held/:id',
      access: 'moderator',
      handler: async (input) => {
        const list = input.list!;
        const id = Number(input.params.id);
        const view = await showHeld(app, list.address, Number.isSafeInteger(id) ? id : -1);
        const parsed = await parseMessage(view.raw);
        const content = html`<p><a href="${listUrl(list.address, 'held')}">← All held posts</a></p>
<div class="card"><p><strong>Why held:</strong> ${view.held.reason}</p><p class="muted">Post #${view.held.id}, sent by ${view.held.sender}, received ${when(view.held.receivedAt)}</p>
<form method="post" action="${listUrl(list.address, `held/${view.held.id}`)}">${csrfField(input.csrf)}${decisionButtons()}</form></div>
${messageView(parsed)}
<details class="card"><summary>All header fields</summary><table class="headers small">${view.headers.map((h) => html`<tr><th scope="row">${h.name}</th><td>${h.value}</td></tr>`)}</table></details>`;
        return adminPage(input, { title: parsed.subject === '' ? `Held post #${view.held.id}` : parsed.subject, content, tab: 'held' });
      },
    },
    {
      method: 'POST',
      url: '/admin/lists/:list/held/:id',
      access: 'moderator',
      handler: async (input) => {
        const list = input.list!.address;
        const decision = field(input.body, 'decision') as Decision;
        const id = Number(input.params.id);
        if (!DECISIONS.includes(decision)) {
          setFlash(input.reply, deps, { kind: 'error', text: 'Choose approve, reject or discard.' });
          return input.reply.redirect(listUrl(list, `held/${input.params.id}`), 303);
        }
        try {
          await decide(deps, input, Number.isSafeInteger(id) ? id : -1, decision, field(input.body, 'reason').trim());
          setFlash(input.reply, deps, { kind: 'ok', text: `Post #${id} ${PAST[decision]}.` });
        } catch (error) {
          setFlash(input.reply, deps, { kind: 'error', text: `Post #${id} not ${PAST[decision]}: ${failureText(error)}` });
        }
        return back(input.reply, list);
      },
    },
  ];
}
