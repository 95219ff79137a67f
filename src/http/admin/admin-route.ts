/**
 * One web admin page or action, declared with who may use it; adminRoute()
 * checks, in this order, on every request: a live session (else to /login),
 * the CSRF token of a POST (403 SY_WEB_CSRF, nothing done), and the role
 * (403 SY_API_FORBIDDEN: a moderator of list A on list B, a moderator on an
 * owners' page, anyone but a site administrator on the status page). Only
 * then does the handler run, and it calls the application functions
 * (src/app/) as the REST API does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { adminRoleOn } from '../../app/web-login.js';
import { parseListAddress, type MailingList } from '../../store/index.js';
import { ApiForbiddenError } from '../errors.js';
import type { ApiDeps } from '../routes/deps.js';
import { checkCsrf, csrfToken, currentSession, takeFlash, type AdminSession, type Flash } from './session.js';

/** login: anyone logged in; moderator: a moderator or owner of `:list`; owner: an owner of `:list`; admin: a site administrator. */
export type AdminAccess = 'login' | 'moderator' | 'owner' | 'admin';

export interface AdminInput {
  request: FastifyRequest;
  reply: FastifyReply;
  session: AdminSession;
  /** The `:list` of the URL (moderator and owner routes). */
  list: MailingList | undefined;
  role: 'owner' | 'moderator' | null;
  csrf: string;
  flash: Flash | undefined;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body: Record<string, unknown>;
}

export interface AdminRouteSpec {
  method: 'GET' | 'POST';
  url: string;
  access: AdminAccess;
  /** A body limit of its own (bytes; default `http.bodyLimit`): the session and role are then checked before the body is read. */
  bodyLimit?: number;
  /** Media types taken besides forms (read as text): `text/csv`. */
  bodyTypes?: readonly string[];
  /** A page (HTML) to send, or nothing when the handler answered (a redirect). */
  handler(input: AdminInput): Promise<string | void>;
}

export const LOGIN_REDIRECT = '/login';

/** The list of the URL and the session's role on it; ApiForbiddenError when the route's access is not the session's. */
async function accessOf(spec: AdminRouteSpec, deps: ApiDeps, session: AdminSession, params: Record<string, string>): Promise<{ list: MailingList | undefined; role: 'owner' | 'moderator' | null }> {
  if (spec.access === 'admin' && !session.roles.admin) throw new ApiForbiddenError('this page is for site administrators');
  if (spec.access !== 'moderator' && spec.access !== 'owner') return { list: undefined, role: null };
  let address: string;
  try {
    address = parseListAddress(params.list ?? '').address;
  } catch {
    throw new ApiForbiddenError(`you are not an owner or moderator of ${params.list ?? 'this list'}`);
  }
  const role = adminRoleOn(session.roles, address);
  // The role first, the list after: whether a list exists is not told to someone with no role on it.
  if (role === null) throw new ApiForbiddenError(`you are not an owner or moderator of ${address}`);
  if (spec.access === 'owner' && role !== 'owner') throw new ApiForbiddenError(`this page is for the owners of ${address}; you are a moderator`);
  return { list: await deps.app.store.getList(address), role };
}

export function registerAdminRoutes(app: FastifyInstance, deps: ApiDeps, specs: readonly AdminRouteSpec[]): void {
  for (const type of new Set(specs.flatMap((spec) => spec.bodyTypes ?? []))) {
    if (!app.hasContentTypeParser(type)) app.addContentTypeParser(type, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  }
  for (const spec of specs) {
    app.route({
      method: spec.method,
      url: spec.url,
      // Pages behind a session are not rate-limited per address (a moderator clearing a queue makes many requests); /login is.
      config: { rateLimit: false },
      ...(spec.bodyLimit === undefined
        ? {}
        : {
            bodyLimit: spec.bodyLimit,
            // A large body is read only for someone who may send it.
            onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
              const session = await currentSession(request, deps);
              if (session === null) return reply.redirect(LOGIN_REDIRECT, 303);
              await accessOf(spec, deps, session, request.params as Record<string, string>);
              return undefined;
            },
          }),
      handler: async (request, reply) => {
        const session = await currentSession(request, deps);
        if (session === null) return reply.redirect(LOGIN_REDIRECT, 303);
        if (spec.method === 'POST') checkCsrf(request, deps, session);
        const params = request.params as Record<string, string>;
        const { list, role } = await accessOf(spec, deps, session, params);
        const csrf = csrfToken(request, reply, deps, session);
        const flash = spec.method === 'GET' ? takeFlash(request, reply, deps) : undefined;
        const page = await spec.handler({
          request,
          reply,
          session,
          list,
          role,
          csrf,
          flash,
          params,
          query: (request.query ?? {}) as Record<string, string | undefined>,
          body: (request.body ?? {}) as Record<string, unknown>,
        });
        if (typeof page === 'string') return reply.type('text/html; charset=utf-8').send(page);
        return reply;
      },
    });
  }
}

/** A form field's text ('' when missing; the first when repeated). */
export function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : '';
  return typeof value === 'string' ? value : '';
}

/** A repeated form field's values (checkboxes). */
export function fields(body: Record<string, unknown>, name: string): string[] {
  const value = body[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

export const enc = encodeURIComponent;

/** The admin URL of a list's page. */
export function listUrl(list: string, page = ''): string {
  return `/admin/lists/${enc(list)}${page === '' ? '' : `/${page}`}`;
}
