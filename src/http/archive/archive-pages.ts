/**
 * The list archives on the web, read from the store (one archive per site,
 * whichever host archived a post: src/app/archive-reader.ts):
 *
 *   /archives/LIST/                 the months, newest first
 *   /archives/LIST/YYYY-MM/         the month's threads (In-Reply-To/References), 50 a page
 *   /archives/LIST/t/ID             one thread, as a tree
 *   /archives/LIST/m/ID             one message: text escaped, attachments listed (never
 *                                   inlined), its Archived-At URL, previous/next by date and in thread
 *
 * A list with archivePolicy private shows its archive only to a logged-in
 * member, owner or moderator of it (or a site administrator); others are
 * sent to /login, or refused (403) when logged in. Every part of the URL is
 * checked against its exact form (a list address parseListAddress accepts,
 * YYYY-MM, 32 hex digits) before anything is read, and nothing but the
 * list's own archive rows is ever read: anything else is 404
 * SY_ARCHIVE_NOT_FOUND.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ARCHIVE_ID, ARCHIVE_MONTH, archiveIndex, archiveMonths, archivedMessage, monthOf, monthThreads, threadPosts, type ArchivedPost, type ArchiveIndex } from '../../app/archive-reader.js';
import { ApiForbiddenError, ApiRequestError } from '../errors.js';
import { html, type SafeHtml } from '../html/html.js';
import { page, type NavLink } from '../html/layout.js';
import { parseListAddress, type MailingList } from '../../store/index.js';
import type { ApiDeps } from '../routes/deps.js';
import { currentSession, type AdminSession } from '../admin/session.js';
import { messageView, parseMessage } from './message-view.js';

export const THREADS_PER_PAGE = 50;

export class ArchiveNotFoundError extends ApiRequestError {
  readonly status = 404;
  constructor(what: string) {
    super('SY_ARCHIVE_NOT_FOUND', `no such archive page: ${what}`);
  }
}

/** `list` is a checked list address (a-z, 0-9, . _ - @): as it is in the path, as Archived-At writes it. */
function archiveUrl(list: string, rest = ''): string {
  return `/archives/${list}/${rest}`;
}

function monthName(month: string): string {
  const [year, number] = month.split('-');
  return `${['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][Number(number) - 1]} ${year}`;
}

function send(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(text);
}

function shortDate(date: Date): string {
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

/** The list named by the URL, if its archive may be shown to this request; else 404, /login, or 403. */
async function readableList(request: FastifyRequest, reply: FastifyReply, deps: ApiDeps): Promise<{ list: MailingList; session: AdminSession | null } | null> {
  const { list: name } = request.params as { list: string };
  let address: string;
  try {
    address = parseListAddress(name).address;
  } catch {
    throw new ArchiveNotFoundError('not a list address');
  }
  const list = await deps.app.store.findList(address);
  if (list === null || !list.settings.archive) throw new ArchiveNotFoundError(`no archive of ${address}`);
  const session = await currentSession(request, deps);
  if (list.settings.archivePolicy === 'private') {
    if (session === null) {
      void reply.redirect('/login', 303);
      return null;
    }
    const roles = session.roles;
    if (!roles.admin && !roles.lists.has(address) && !roles.memberOf.has(address)) throw new ApiForbiddenError(`the archive of ${address} is for its members`);
  }
  return { list, session };
}

function archivePage(list: MailingList, session: AdminSession | null, title: string, content: SafeHtml): string {
  const nav: NavLink[] = [{ href: archiveUrl(list.address), label: `${list.displayName || list.address} archive` }];
  if (session !== null) nav.push({ href: '/admin', label: 'My lists' });
  return page({ title, content, nav, ...(session === null ? {} : { who: session.roles.who }) });
}

function postLine(list: string, post: ArchivedPost, indent = true): SafeHtml {
  return html`<li${indent && post.depth > 0 ? html` class="depth-${Math.min(post.depth, 8)}"` : ''}><a href="${archiveUrl(list, `m/${post.id}`)}">${post.subject === '' ? '(no subject)' : post.subject}</a> <span class="muted">${post.from} · ${shortDate(post.date)}</span></li>`;
}

function neighbour(label: string, list: string, post: ArchivedPost | undefined, rel: string): SafeHtml {
  return post === undefined ? html`<span class="muted">${label}</span>` : html`<a href="${archiveUrl(list, `m/${post.id}`)}" rel="${rel}">${label}: ${post.subject || '(no subject)'}</a>`;
}

export function registerArchivePages(app: FastifyInstance, deps: ApiDeps): void {
  const index = (list: MailingList): Promise<ArchiveIndex> => archiveIndex(deps.app.store, list.address);

  app.get('/archives/:list', async (request, reply) => {
    let address: string;
    try {
      address = parseListAddress((request.params as { list: string }).list).address;
    } catch {
      throw new ArchiveNotFoundError('not a list address');
    }
    return reply.redirect(archiveUrl(address), 301);
  });

  app.get('/archives/:list/', async (request, reply) => {
    const found = await readableList(request, reply, deps);
    if (found === null) return reply;
    const { list, session } = found;
    const months = await archiveMonths(deps.app.store, list.address);
    const content = html`${list.description === '' ? '' : html`<p class="lead">${list.description}</p>`}
${
  months.length === 0
    ? html`<div class="card"><p>Nothing has been archived yet.</p></div>`
    : html`<table class="narrow-table"><caption class="visually-hidden">Months</caption><thead><tr><th scope="col">Month</th><th scope="col">Messages</th></tr></thead>
<tbody>${months.map((m) => html`<tr><td><a href="${archiveUrl(list.address, `${m.month}/`)}">${monthName(m.month)}</a></td><td>${m.count}</td></tr>`)}</tbody></table>`
}
<p class="muted">Posts to ${list.address}${list.settings.archivePolicy === 'private' ? ' (this archive is for members)' : ''}.</p>`;
    return send(reply, archivePage(list, session, `${list.displayName || list.address} archive`, content));
  });

  app.get('/archives/:list/:month/', async (request, reply) => {
    const { month } = request.params as { month: string };
    if (!ARCHIVE_MONTH.test(month)) throw new ArchiveNotFoundError('a month is YYYY-MM');
    const found = await readableList(request, reply, deps);
    if (found === null) return reply;
    const { list, session } = found;
    const threads = monthThreads(await index(list), month);
    if (threads.length === 0) throw new ArchiveNotFoundError(`nothing archived in ${month}`);
    const pages = Math.ceil(threads.length / THREADS_PER_PAGE);
    const pageNo = Math.min(pages, Math.max(1, Number.parseInt((request.query as { page?: string }).page ?? '1', 10) || 1));
    const shown = threads.slice((pageNo - 1) * THREADS_PER_PAGE, pageNo * THREADS_PER_PAGE);
    const messages = threads.reduce((n, t) => n + t.posts.length, 0);
    const content = html`<p class="muted">${messages} message${messages === 1 ? '' : 's'} in ${threads.length} thread${threads.length === 1 ? '' : 's'}, latest activity first.</p>
${shown.map(
  (t) => html`<section class="card thread"><h2><a href="${archiveUrl(list.address, `t/${t.root.id}`)}">${t.root.subject || '(no subject)'}</a></h2>
<p class="muted small">${t.posts.length} message${t.posts.length === 1 ? '' : 's'} this month${monthOf(t.root) === month ? '' : html` · started ${monthName(monthOf(t.root))}`}</p>
<ul class="thread-tree">${t.posts.map((p) => postLine(list.address, p))}</ul></section>`,
)}
${pages > 1 ? html`<nav class="pager" aria-label="pages">${pageNo > 1 ? html`<a href="?page=${pageNo - 1}">← Previous page</a>` : ''}<span>Page ${pageNo} of ${pages}</span>${pageNo < pages ? html`<a href="?page=${pageNo + 1}">Next page →</a>` : ''}</nav>` : ''}`;
    return send(reply, archivePage(list, session, monthName(month), content));
  });

  app.get('/archives/:list/t/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!ARCHIVE_ID.test(id)) throw new ArchiveNotFoundError('a thread id is 32 hex digits');
    const found = await readableList(request, reply, deps);
    if (found === null) return reply;
    const { list, session } = found;
    const posts = threadPosts(await index(list), id);
    if (posts.length === 0) throw new ArchiveNotFoundError(`no thread ${id}`);
    const root = posts[0] as ArchivedPost;
    const content = html`<p><a href="${archiveUrl(list.address, `${monthOf(root)}/`)}">← ${monthName(monthOf(root))}</a></p>
<div class="card"><ul class="thread-tree">${posts.map((p) => postLine(list.address, p))}</ul></div>`;
    return send(reply, archivePage(list, session, root.subject || '(no subject)', content));
  });

  app.get('/archives/:list/m/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!ARCHIVE_ID.test(id)) throw new ArchiveNotFoundError('a message id is 32 hex digits');
    const found = await readableList(request, reply, deps);
    if (found === null) return reply;
    const { list, session } = found;
    const archive = await index(list);
    const post = archive.byId.get(id);
    if (post === undefined) throw new ArchiveNotFoundError(`no message ${id}`);
    const parsed = await parseMessage(await archivedMessage(deps.app.store, list.address, post));
    const thread = threadPosts(archive, post.threadId);
    const at = archive.posts.indexOf(post);
    const inThread = thread.indexOf(post);
    const permalink = `${deps.web.baseUrl}${archiveUrl(list.address, `m/${post.id}`)}`;
    const content = html`<nav class="message-nav" aria-label="messages">
<p>${neighbour('← Previous by date', list.address, archive.posts[at - 1], 'prev')} · ${neighbour('Next by date →', list.address, archive.posts[at + 1], 'next')}</p>
<p>${neighbour('↑ Previous in thread', list.address, thread[inThread - 1], 'prev')} · ${neighbour('Next in thread ↓', list.address, thread[inThread + 1], 'next')} · <a href="${archiveUrl(list.address, `t/${post.threadId}`)}">whole thread (${thread.length})</a> · <a href="${archiveUrl(list.address, `${monthOf(post)}/`)}">${monthName(monthOf(post))}</a></p>
</nav>
${messageView(parsed, html`<p class="small muted">Archived-At: <a href="${permalink}">${permalink}</a></p>`)}`;
    return send(reply, archivePage(list, session, parsed.subject || '(no subject)', content));
  });
}
