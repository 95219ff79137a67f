/**
 * The web admin's start page (the lists the person logged in owns or
 * moderates; every list for a site administrator), a list's overview, and
 * the site administrators' runners-and-queues page (the `status` data,
 * reloaded every 10 s by a meta refresh: no script).
 */
import { listLists, showList } from '../../app/lists.js';
import { postsThisMonth } from '../../app/archive-reader.js';
import { html } from '../html/html.js';
import type { ApiDeps } from '../routes/deps.js';
import { adminPage, when } from './admin-layout.js';
import { listUrl, type AdminRouteSpec } from './admin-route.js';
import { countersLine } from '../../work-counters.js';

export const STATUS_REFRESH_SECONDS = 10;

export function listPages(deps: ApiDeps): AdminRouteSpec[] {
  const app = deps.app;
  return [
    {
      method: 'GET',
      url: '/admin',
      access: 'login',
      handler: async (input) => {
        const roles = input.session.roles;
        const all = await listLists(app);
        const mine = all.filter((o) => roles.admin || roles.lists.has(o.list.address));
        const archives = all.filter((o) => !mine.includes(o) && roles.memberOf.has(o.list.address));
        const content = html`${
          mine.length === 0
            ? html`<div class="card"><p>You are not an owner or moderator of any list here.</p></div>`
            : html`<table>
<caption class="visually-hidden">Your lists</caption>
<thead><tr><th scope="col">List</th><th scope="col">Your role</th><th scope="col">Members</th><th scope="col">Held posts</th><th scope="col">Archive</th></tr></thead>
<tbody>${mine.map(
                (o) => html`<tr>
<td><a href="${listUrl(o.list.address)}"><strong>${o.list.displayName || o.list.address}</strong></a><br><span class="muted">${o.list.address}</span></td>
<td>${roles.admin ? 'site admin' : (roles.lists.get(o.list.address) ?? '')}</td>
<td>${o.counts.member}</td>
<td>${o.held === 0 ? '0' : html`<a href="${listUrl(o.list.address, 'held')}"><span class="badge warn">${o.held}</span></a>`}</td>
<td><a href="/archives/${encodeURIComponent(o.list.address)}/">browse</a></td>
</tr>`,
              )}</tbody></table>`
        }
${archives.length === 0 ? '' : html`<h2>Archives of lists you are a member of</h2><ul>${archives.map((o) => html`<li><a href="/archives/${encodeURIComponent(o.list.address)}/">${o.list.displayName || o.list.address}</a></li>`)}</ul>`}`;
        return adminPage(input, { title: 'My lists', content });
      },
    },
    {
      method: 'GET',
      url: '/admin/lists/:list',
      access: 'moderator',
      handler: async (input) => {
        const list = input.list!;
        const overview = await showList(app, list.address);
        const disabled = (await app.store.members(list.address, { role: 'member', deliveryStatus: 'by_bounces' })).length;
        const requests = (await app.store.pendingRequests(list.address)).length;
        const posts = await postsThisMonth(app.store, list.address, app.now());
        const stat = (label: string, value: number, href: string | null) =>
          html`<div class="stat"><div class="value">${href === null ? String(value) : html`<a href="${href}">${value}</a>`}</div><div class="muted">${label}</div></div>`;
        const content = html`${list.description === '' ? '' : html`<p class="lead">${list.description}</p>`}
<div class="stats">
${stat('members', overview.counts.member, listUrl(list.address, 'members'))}
${stat('posts this month', posts, `/archives/${encodeURIComponent(list.address)}/`)}
${stat('held posts', overview.held, listUrl(list.address, 'held'))}
${stat('membership requests', requests, listUrl(list.address, 'requests'))}
${stat('disabled by bounces', disabled, listUrl(list.address, 'bounces'))}
</div>
${overview.warnings.map((w) => html`<p class="flash error">${w}</p>`)}
<h2>About this list</h2>
<table class="headers"><tbody>
<tr><th scope="row">Posting address</th><td>${list.address}</td></tr>
<tr><th scope="row">Owners</th><td>${overview.counts.owner}</td></tr>
<tr><th scope="row">Moderators</th><td>${overview.counts.moderator}</td></tr>
<tr><th scope="row">Subscription policy</th><td>${list.settings.subscriptionPolicy}</td></tr>
<tr><th scope="row">Non-member posts</th><td>${list.settings.defaultNonmemberAction}</td></tr>
<tr><th scope="row">Archive</th><td>${list.settings.archive ? `${list.settings.archivePolicy}` : 'off'}</td></tr>
</tbody></table>`;
        return adminPage(input, { title: list.displayName || list.address, content, tab: '' });
      },
    },
    {
      method: 'GET',
      url: '/admin/status',
      access: 'admin',
      handler: async (input) => {
        const status = await deps.masterStatus();
        const content = html`<p class="muted">As <code>switchyard status</code> shows it; this page reloads every ${STATUS_REFRESH_SECONDS} seconds. Read at ${when(app.now())}.</p>
${status.healthy ? html`<p class="flash ok" role="status">Healthy: every runner is up and every queue has a runner.</p>` : html`<div class="flash error" role="alert"><strong>Needs an operator:</strong><ul>${status.problems.map((p) => html`<li>${p}</li>`)}</ul></div>`}
<h2>Runners</h2>
<table><thead><tr><th scope="col">Runner</th><th scope="col">Queue</th><th scope="col">PID</th><th scope="col">State</th><th scope="col">Restarts</th><th scope="col">Processed</th><th scope="col">Failed</th><th scope="col">Last error</th></tr></thead>
<tbody>${status.runners.map(
          (r) => html`<tr><td>${r.name}${r.numSlices > 1 ? ` ${r.slice}/${r.numSlices}` : ''}${r.detail === null ? '' : html`<br><span class="muted">${r.detail}</span>`}</td><td>${r.queue ?? '—'}</td><td>${r.pid ?? '—'}</td><td><span class="badge ${r.state === 'running' ? 'ok' : 'warn'}">${r.state}</span></td><td>${r.restarts}</td><td>${r.processed}</td><td>${r.failed}</td><td class="small">${r.lastError ?? ''}</td></tr>`,
        )}</tbody></table>
${status.counters === undefined ? '' : html`<h2>Work done</h2>
<p>Counted since the master started: ${countersLine(status.counters)}.</p>`}
<h2>Queues</h2>
<table class="narrow-table"><thead><tr><th scope="col">Queue</th><th scope="col">Waiting</th></tr></thead>
<tbody>${Object.entries(status.queues).map(([queue, waiting]) => html`<tr><td>${queue}</td><td>${waiting}</td></tr>`)}</tbody></table>`;
        return adminPage(input, { title: 'Runners and queues', content, refreshSeconds: STATUS_REFRESH_SECONDS });
      },
    },
  ];
}
