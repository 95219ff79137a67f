/**
 * A list's people: the members (search, page, add, remove, change a
 * preference: owners; moderators may look), membership requests waiting for
 * the owners (approve, reject with a reason: moderators and owners, as
 * Mailman lets both), and bounces (score, last bounce, re-enable: owners
 * re-enable). Every action is the application function the CLI and the
 * REST API call (src/app/membership.ts, member-preferences.ts,
 * subscriptions.ts, bounces.ts).
 */
import { bounceScores } from '../../app/bounces.js';
import { PREFERENCES, parsePreference, setMemberPreferences } from '../../app/member-preferences.js';
import { addMember, enableMember, pageMembers, removeMember } from '../../app/membership.js';
import { decideRequest, listRequests, outcomeText } from '../../app/subscriptions.js';
import { ROLES, type Role } from '../../store/index.js';
import { html } from '../html/html.js';
import type { ApiDeps } from '../routes/deps.js';
import { adminPage, csrfField, when } from './admin-layout.js';
import { enc, field, listUrl, type AdminRouteSpec } from './admin-route.js';
import { failureText, setFlash } from './session.js';

export const MEMBER_PAGE_SIZE = 50;
const PREFERENCE_KEYS = [...new Set(PREFERENCES.map((p) => p.key))];

function roleOf(text: string | undefined): Role {
  return (ROLES as readonly string[]).includes(text ?? '') ? (text as Role) : 'member';
}

export function memberPages(deps: ApiDeps): AdminRouteSpec[] {
  const app = deps.app;
  const flashAndBack = async (input: Parameters<AdminRouteSpec['handler']>[0], page: string, action: () => Promise<string>) => {
    try {
      setFlash(input.reply, deps, { kind: 'ok', text: await action() });
    } catch (error) {
      setFlash(input.reply, deps, { kind: 'error', text: failureText(error) });
    }
    return input.reply.redirect(listUrl(input.list!.address, page), 303);
  };
  return [
    {
      method: 'GET',
      url: '/admin/lists/:list/members',
      access: 'moderator',
      handler: async (input) => {
        const list = input.list!;
        const role = roleOf(input.query.role);
        const search = (input.query.search ?? '').trim().slice(0, 200);
        const after = input.query.after;
        const page = await pageMembers(app, list.address, { role, limit: MEMBER_PAGE_SIZE, ...(search === '' ? {} : { search }), ...(after === undefined || after === '' ? {} : { after: { address: after, role } }) });
        const owner = input.role === 'owner';
        const query = (extra: string) => `?role=${enc(role)}${search === '' ? '' : `&search=${enc(search)}`}${extra}`;
        const content = html`<form method="get" class="toolbar" role="search">
<label for="search" class="inline-label">Search</label> <input type="search" id="search" name="search" value="${search}" placeholder="address or name">
<label for="role" class="inline-label">Role</label> <select id="role" name="role">${ROLES.map((r) => html`<option value="${r}"${r === role ? html` selected` : ''}>${r}s</option>`)}</select>
<button type="submit" class="secondary">Show</button>
</form>
<table>
<caption class="visually-hidden">${role}s</caption>
<thead><tr><th scope="col">Address</th><th scope="col">Name</th><th scope="col">Delivery</th><th scope="col">Mode</th><th scope="col">Since</th>${owner ? html`<th scope="col">Remove</th>` : ''}</tr></thead>
<tbody>${
          page.members.length === 0
            ? html`<tr><td colspan="6" class="muted">Nobody${search === '' ? '' : ' matches'}.</td></tr>`
            : page.members.map(
                (m) => html`<tr><td>${m.address}</td><td>${m.displayName}</td><td>${m.deliveryStatus === 'enabled' ? 'enabled' : html`<span class="badge warn">${m.deliveryStatus}</span>`}</td><td>${m.deliveryMode}</td><td class="small">${when(m.subscribedAt).slice(0, 10)}</td>${
                  owner
                    ? html`<td><form method="post" action="${listUrl(list.address, 'members/remove')}" class="inline">${csrfField(input.csrf)}<input type="hidden" name="address" value="${m.address}"><input type="hidden" name="role" value="${role}"><button type="submit" class="danger small-button" aria-label="remove ${m.address}">Remove</button></form></td>`
                    : ''
                }</tr>`,
              )
        }</tbody></table>
<nav class="pager" aria-label="pages">${after === undefined || after === '' ? '' : html`<a href="${query('')}">← First page</a>`}${page.next === null ? '' : html`<a href="${query(`&after=${enc(page.next.address)}`)}">Next page →</a>`}</nav>
${
  owner
    ? html`<div class="columns">
<form method="post" action="${listUrl(list.address, 'members')}" class="card">
<h2>Add someone</h2>
${csrfField(input.csrf)}
<label for="add-address">Address</label><input type="email" id="add-address" name="address" required>
<label for="add-name">Name <span class="hint">optional</span></label><input type="text" id="add-name" name="displayName" maxlength="200">
<label for="add-role">Role</label><select id="add-role" name="role">${ROLES.map((r) => html`<option value="${r}">${r}</option>`)}</select>
<p class="hint">Added at once: no confirmation mail, no welcome (as <code>switchyard members add</code>).</p>
<p><button type="submit">Add</button></p>
<p class="hint">Many at once: <a href="${listUrl(list.address, 'members/import')}">import members from a CSV file</a>.</p>
</form>
<form method="post" action="${listUrl(list.address, 'members/preference')}" class="card">
<h2>Change a member's preference</h2>
${csrfField(input.csrf)}
<label for="pref-address">Member's address</label><input type="email" id="pref-address" name="address" required>
<label for="pref-key">Preference</label><select id="pref-key" name="key">${PREFERENCE_KEYS.map((k) => html`<option value="${k}">${k}</option>`)}</select>
<label for="pref-value">New value <span class="hint">${PREFERENCES.filter((p, i, all) => all.findIndex((q) => q.key === p.key) === i).map((p) => `${p.key}: ${p.description}`).join(' · ')}</span></label><input type="text" id="pref-value" name="value" required>
<p><button type="submit">Change</button></p>
</form>
</div>`
    : html`<p class="muted">Owners add and remove members.</p>`
}`;
        return adminPage(input, { title: 'Members', content, tab: 'members' });
      },
    },
    {
      method: 'POST',
      url: '/admin/lists/:list/members',
      access: 'owner',
      handler: async (input) =>
        flashAndBack(input, 'members', async () => {
          const name = field(input.body, 'displayName').trim();
          const added = await addMember(app, input.list!.address, { address: field(input.body, 'address'), role: roleOf(field(input.body, 'role')), ...(name === '' ? {} : { displayName: name }) });
          return `${added.address} added as ${added.role}.`;
        }),
    },
    {
      method: 'POST',
      url: '/admin/lists/:list/members/remove',
      access: 'owner',
      handler: async (input) =>
        flashAndBack(input, 'members', async () => {
          const removed = await removeMember(app, input.list!.address, field(input.body, 'address'), roleOf(field(input.body, 'role')));
          return `${removed.address} is no longer ${removed.role === 'member' ? 'a member' : `an ${removed.role}`}.`.replace('an moderator', 'a moderator');
        }),
    },
    {
      method: 'POST',
      url: '/admin/lists/:list/members/preference',
      access: 'owner',
      handler: async (input) =>
        flashAndBack(input, 'members', async () => {
          const key = field(input.body, 'key');
          const changed = await setMemberPreferences(app, input.list!.address, field(input.body, 'address'), parsePreference(key, field(input.body, 'value')));
          return `${key} of ${changed.address} changed.`;
        }),
    },
    {
      method: 'GET',
      url: '/admin/lists/:list/requests',
      access: 'moderator',
      handler: async (input) => {
        const list = input.list!;
        const requests = await listRequests(app, list.address);
        const content =
          requests.length === 0
            ? html`<div class="card"><p>No membership requests are waiting.</p></div>`
            : html`<table><caption class="visually-hidden">Membership requests</caption>
<thead><tr><th scope="col">Address</th><th scope="col">Request</th><th scope="col">Made</th><th scope="col">Lapses</th><th scope="col">Decide</th></tr></thead>
<tbody>${requests.map((r) => {
                const forOwners = r.kind === 'subscription_approval' || r.kind === 'unsubscription_approval';
                return html`<tr><td>${r.address}${r.displayName === '' ? '' : html`<br><span class="muted">${r.displayName}</span>`}</td><td>${r.kind.replaceAll('_', ' ')}</td><td class="small">${when(r.createdAt)}</td><td class="small">${when(r.expiresAt)}</td><td>${
                  forOwners
                    ? html`<form method="post" action="${listUrl(list.address, `requests/${r.id}`)}">${csrfField(input.csrf)}<label for="reason-${r.id}" class="visually-hidden">Reason for a rejection</label><input type="text" id="reason-${r.id}" name="reason" placeholder="reason, if you reject" maxlength="2000"><p class="buttons"><button type="submit" name="decision" value="approve">Approve</button> <button type="submit" name="decision" value="reject" class="secondary">Reject</button></p></form>`
                    : html`<span class="muted">waits for the address to confirm</span>`
                }</td></tr>`;
              })}</tbody></table>`;
        return adminPage(input, { title: 'Membership requests', content, tab: 'requests' });
      },
    },
    {
      method: 'POST',
      url: '/admin/lists/:list/requests/:id',
      access: 'moderator',
      handler: async (input) =>
        flashAndBack(input, 'requests', async () => {
          const decision = field(input.body, 'decision') === 'reject' ? 'reject' : field(input.body, 'decision') === 'approve' ? 'approve' : null;
          if (decision === null) return 'Nothing done: choose approve or reject.';
          const reason = field(input.body, 'reason').trim();
          const id = Number(input.params.id);
          const decided = await decideRequest(app, input.list!.address, Number.isSafeInteger(id) ? id : -1, decision === 'reject' ? { decision, ...(reason === '' ? {} : { reason }) } : { decision });
          return `Request of ${decided.request.address} ${decision === 'approve' ? 'approved' : 'rejected'}${decided.outcome === undefined ? '' : `: ${outcomeText(decided.outcome, input.list!)}`}.`;
        }),
    },
    {
      method: 'GET',
      url: '/admin/lists/:list/bounces',
      access: 'moderator',
      handler: async (input) => {
        const list = input.list!;
        const scores = await bounceScores(app, list.address);
        const owner = input.role === 'owner';
        const content = html`<p class="muted">Delivery to a member is disabled at a score of ${scores.threshold} (bounceScoreThreshold).</p>
${
  scores.members.length === 0
    ? html`<div class="card"><p>No member has bounces.</p></div>`
    : html`<table><caption class="visually-hidden">Members with bounces</caption>
<thead><tr><th scope="col">Member</th><th scope="col">Score</th><th scope="col">Last bounce</th><th scope="col">Reason</th><th scope="col">State</th>${owner ? html`<th scope="col">Re-enable</th>` : ''}</tr></thead>
<tbody>${scores.members.map(
        (m) => html`<tr><td>${m.address}</td><td>${m.score}</td><td class="small">${when(m.lastBounceAt)}</td><td class="small">${m.lastReason ?? ''}</td><td>${m.state}</td>${
          owner
            ? html`<td>${m.deliveryStatus === 'enabled' ? '' : html`<form method="post" action="${listUrl(list.address, 'bounces/enable')}" class="inline">${csrfField(input.csrf)}<input type="hidden" name="address" value="${m.address}"><button type="submit" class="small-button">Re-enable</button></form>`}</td>`
            : ''
        }</tr>`,
      )}</tbody></table>`
}
${scores.domains.length === 0 ? '' : html`<h2>Destinations refusing the list</h2><p class="muted">Not held against members.</p><ul>${scores.domains.map((d) => html`<li><strong>${d.domain}</strong>: ${d.count} × ${d.reason}, last ${when(d.lastAt)} <span class="muted">${d.lastReply}</span></li>`)}</ul>`}`;
        return adminPage(input, { title: 'Bounces', content, tab: 'bounces' });
      },
    },
    {
      method: 'POST',
      url: '/admin/lists/:list/bounces/enable',
      access: 'owner',
      handler: async (input) =>
        flashAndBack(input, 'bounces', async () => {
          const member = await enableMember(app, input.list!.address, field(input.body, 'address'));
          return `Delivery to ${member.address} enabled again; its bounce score is 0.`;
        }),
    },
  ];
}
