/**
 * One route of the HTTP API, declared once: method, path, who may call it,
 * the zod schemas of its parameters, query, body and answer, and a handler
 * that calls the application functions (src/app/) and returns the answer.
 * registerRoutes() turns the declarations into fastify routes (auth first,
 * then validation, then the handler); openapi.ts turns the same declarations
 * into the OpenAPI document, so validation, types and docs cannot disagree.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiToken } from '../store/index.js';
import { parseListAddress } from '../store/index.js';
import { ApiBadRequestError, ApiForbiddenError, ApiUnauthorizedError, ApiValidationError } from './errors.js';

/**
 * Who may call a route:
 * - public: anyone (rate-limited per client address);
 * - token: any valid token (what it sees is filtered by its scope);
 * - moderator: a site administrator, or an owner or moderator token of the route's `:list`;
 * - owner: a site administrator, or an owner token of the route's `:list`;
 * - admin: a site administrator's token only.
 */
export type Access = 'public' | 'token' | 'moderator' | 'owner' | 'admin';

export interface HandlerInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** null only on public routes. */
  principal: ApiToken | null;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** fastify notation: `/api/v1/lists/:list`. */
  url: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** The body's media type when it is not JSON (`text/csv`): another is refused 415 before the body is read. */
  bodyType?: string;
  /** A body limit of its own (bytes; default `http.bodyLimit`); such a route checks the token before reading the body. */
  bodyLimit?: number;
  /** The success status and the schema of its body (documentation; the handler's return value is sent); `type` when not JSON. */
  response: { status: number; description: string; schema: z.ZodType; type?: string };
  /** Request headers the route reads (If-Match), for the document. */
  headers?: { name: string; description: string; required?: boolean }[];
  handler(input: HandlerInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

/** Keep each route's own types while collecting them in one array. */
export function route<P extends z.ZodType = z.ZodObject<{}>, Q extends z.ZodType = z.ZodObject<{}>, B extends z.ZodType = z.ZodUndefined>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}

/** Resolves a bearer token to its record, or null when it is not valid. */
export type Authenticate = (token: string) => Promise<ApiToken | null>;

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? '';
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `}${issue.message}`);
}

function validate<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> {
  if (schema === undefined) return undefined as z.output<T>;
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (!result.success) throw new ApiValidationError(where, problemsOf(result.error));
  return result.data;
}

/** The principal of a request, or ApiUnauthorizedError (401) when the route needs one it has not. */
export async function principalOf(request: FastifyRequest, access: Access, authenticate: Authenticate): Promise<ApiToken | null> {
  const token = bearerToken(request);
  if (token === undefined) {
    if (access === 'public') return null;
    throw new ApiUnauthorizedError();
  }
  const principal = await authenticate(token);
  if (principal === null) throw new ApiUnauthorizedError('the API token is not valid (revoked, or mistyped); `switchyard tokens list` shows the valid ones');
  return principal;
}

/** ApiForbiddenError (403) unless `principal` may use a route of `access` on `list`. */
export function checkAccess(principal: ApiToken | null, access: Access, list: string | undefined): void {
  if (access === 'public' || access === 'token') return;
  if (principal === null) throw new ApiUnauthorizedError();
  if (principal.role === 'admin') return;
  if (access === 'admin') throw new ApiForbiddenError(`this route is for site administrators; the token is ${principal.role} of ${principal.list}`);
  let target: string | undefined;
  try {
    target = list === undefined ? undefined : parseListAddress(list).address;
  } catch {
    target = undefined;
  }
  if (target === undefined || target !== principal.list) throw new ApiForbiddenError(`the token is ${principal.role} of ${principal.list}, not of ${list ?? 'this list'}`);
  if (access === 'owner' && principal.role !== 'owner') throw new ApiForbiddenError(`this route is for the owners of ${principal.list}; the token is a moderator's`);
}

/** The media type of a request's body, lower case without parameters ('' when none). */
export function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function registerRoutes(app: FastifyInstance, routes: readonly RouteSpec[], authenticate: Authenticate): void {
  const bodyTypes = new Set(routes.flatMap((spec) => (spec.bodyType === undefined ? [] : [spec.bodyType])));
  // Read as text; only the routes that declare the type take it (a JSON route given one fails its body validation).
  for (const type of bodyTypes) if (!app.hasContentTypeParser(type)) app.addContentTypeParser(type, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  for (const spec of routes) {
    const principals = new WeakMap<FastifyRequest, ApiToken | null>();
    /** Who calls, and whether they may: before the body is read on routes with a large body limit. */
    const authorize = async (request: FastifyRequest): Promise<ApiToken | null> => {
      if (principals.has(request)) return principals.get(request) ?? null;
      const principal = await principalOf(request, spec.access, authenticate);
      checkAccess(principal, spec.access, (request.params as Record<string, string>).list);
      if (spec.bodyType !== undefined && mediaType(request) !== spec.bodyType) {
        throw new ApiBadRequestError(`this route takes a ${spec.bodyType} body (Content-Type: ${spec.bodyType}), not ${mediaType(request) || 'none'}`, 415);
      }
      principals.set(request, principal);
      return principal;
    };
    app.route({
      method: spec.method,
      url: spec.url,
      // Only public routes count against the per-address limit (one count for all of them); tokens are checked first on the others.
      ...(spec.access === 'public' ? {} : { config: { rateLimit: false } }),
      ...(spec.bodyLimit === undefined ? {} : { bodyLimit: spec.bodyLimit, onRequest: async (request: FastifyRequest) => void (await authorize(request)) }),
      handler: async (request, reply) => {
        const principal = await authorize(request);
        const rawParams = request.params as Record<string, string>;
        const params = validate(spec.params, rawParams, 'parameters');
        const query = validate(spec.query, request.query, 'query');
        const body = validate(spec.body, request.body, 'body');
        const result = await spec.handler({ params, query, body, principal, request, reply });
        // A handler may answer otherwise (health: 503); else the route's success status.
        if (reply.statusCode === 200) reply.code(spec.response.status);
        return result ?? null;
      },
    });
  }
}
