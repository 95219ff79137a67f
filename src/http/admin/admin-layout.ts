/** The frame of every web admin page: the site layout with the admin's navigation, and the small pieces forms share. */
import { html, type SafeHtml } from '../html/html.js';
import { page, type NavLink } from '../html/layout.js';
import type { AdminInput } from './admin-route.js';
import { listUrl } from './admin-route.js';
import { CSRF_FIELD } from './session.js';

export interface AdminPageOptions {
  title: string;
  content: SafeHtml;
  refreshSeconds?: number;
}

/** The list's own tabs, in the order an owner works through them; the owners' tabs only for owners. */
function listTabs(list: string, role: 'owner' | 'moderator' | null, current: string): SafeHtml {
  const tabs: [string, string, boolean][] = [
    ['', 'Overview', false],
    ['held', 'Held posts', false],
    ['requests', 'Requests', false],
    ['members', 'Members', false],
    ['settings', 'Settings', true],
    ['bounces', 'Bounces', false],
  ];
  return html`<nav class="tabs" aria-label="list pages">${tabs
    .filter(([, , ownerOnly]) => !ownerOnly || role === 'owner')
    .map(([path, label]) => (path === current ? html`<a href="${listUrl(list, path)}" aria-current="page">${label}</a>` : html`<a href="${listUrl(list, path)}">${label}</a>`))}</nav>`;
}

export function adminPage(input: AdminInput, options: AdminPageOptions & { tab?: string }): string {
  const nav: NavLink[] = [{ href: '/admin', label: 'My lists' }];
  if (input.session.roles.admin) nav.push({ href: '/admin/status', label: 'Runners and queues' });
  nav.push({ href: '/logout', label: 'Log out' });
  const content =
    input.list === undefined
      ? options.content
      : html`<p class="breadcrumb"><a href="/admin">My lists</a> › <span>${input.list.address}</span> <span class="badge">${input.role ?? ''}</span></p>${listTabs(input.list.address, input.role, options.tab ?? '')}${options.content}`;
  return page({
    title: options.title,
    content,
    nav,
    who: input.session.roles.who,
    ...(input.flash === undefined ? {} : { flash: input.flash }),
    ...(options.refreshSeconds === undefined ? {} : { refreshSeconds: options.refreshSeconds }),
  });
}

export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${csrf}">`;
}

/** A date as people read it in a table: 2026-12-05 10:31 UTC. */
export function when(date: Date | string | null | undefined): string {
  if (date === null || date === undefined) return '—';
  const value = typeof date === 'string' ? new Date(date) : date;
  return Number.isNaN(value.getTime()) ? '—' : `${value.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
