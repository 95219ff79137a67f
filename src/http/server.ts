/**
 * The HTTP service's fastify instance: the REST API (routes/), the OpenAPI
 * document, /metrics, and what every route shares: the body limit and
 * timeouts of `[http]`, per-address rate limits on public routes, JSON
 * errors with the `SY_*` code (errors.ts), and pino request logs into the
 * service's log. Built fresh for each listen attempt (runners/http.ts).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpConfig } from './http-schema.js';
import { ApiBadRequestError, ApiNotFoundError, ApiTimeoutError, ApiUnauthorizedError, errorBody, fromFastifyError, httpStatusOf } from './errors.js';
import { isLocalRequest, metricsRegistry } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { principalOf, registerRoutes, type Authenticate, type RouteSpec } from './route.js';
import { apiRoutes, type ApiDeps } from './routes/index.js';
import { ApiForbiddenError } from './errors.js';
import { errorPage } from './html/error-page.js';
import { registerPages } from './pages.js';
import { isPageRequest, registerWeb } from './web.js';

export interface HttpServerOptions {
  deps: ApiDeps;
  config: HttpConfig;
  logger: FastifyBaseLogger;
  authenticate: Authenticate;
  /** Extra routes (the bench's floor); none in service. */
  extraRoutes?: readonly RouteSpec[];
}

export const RATE_WINDOW_MS = 60_000;

/**
 * What node's HTTP parser refuses before fastify sees a request (a request
 * not received within requestTimeout, a header too large, garbage): the same
 * JSON error shape as every other answer, with its SY_* code.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ApiTimeoutError(`not received whole within http.requestTimeout`, 408)
      : new ApiBadRequestError(error.code === 'HPE_HEADER_OVERFLOW' ? 'header fields too large' : `malformed request (${error.code ?? error.message})`, error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400);
  const body = JSON.stringify(errorBody(answer));
  if (socket.writable) socket.write(`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy(error);
}

/** Node's own default for http.Server headersTimeout. */
const NODE_HEADERS_TIMEOUT_MS = 60_000;

/**
 * Node's timeouts for `http.requestTimeout` (0: none). Node checks
 * headersTimeout and requestTimeout only every connectionsCheckingInterval
 * (30 s by default), and headersTimeout defaults to 60 s whatever
 * requestTimeout says: a client trickling its header fields a byte at a time
 * (slowloris) or its body would hold its connection for up to a minute and a
 * half whatever the setting. So: headers within min(60 s, requestTimeout),
 * and the check four times per requestTimeout (at least a second apart): a
 * slow client is cut off (408, answerClientError) at most a quarter of
 * requestTimeout (or a second) after its time is up.
 */
export function nodeTimeouts(requestTimeoutMs: number): { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } {
  if (requestTimeoutMs <= 0) return { requestTimeout: 0, headersTimeout: NODE_HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 30_000 };
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(NODE_HEADERS_TIMEOUT_MS, requestTimeoutMs),
    connectionsCheckingInterval: Math.max(1_000, Math.floor(requestTimeoutMs / 4)),
  };
}

export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { config, deps } = options;
  const timeouts = nodeTimeouts(config.requestTimeout);
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: config.bodyLimit,
    // fastify sets requestTimeout on the server it creates; the other two only reach node through `http`.
    http: timeouts,
    requestTimeout: config.requestTimeout,
    connectionTimeout: config.requestTimeout,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
    // The request log line carries the route and the answer's code; ids per process suffice to pair the two lines.
    // (Through a LogController: fastify 5.12 deprecates the top-level requestIdLogLabel with a warning on stderr.)
    logController: new LogController({ requestIdLogLabel: 'req' }),
  });
  // Global: every public route shares one count per client address; routes with a token opt out (config.rateLimit false).
  await app.register(rateLimit, { global: true, max: config.rateLimit, timeWindow: RATE_WINDOW_MS });

  app.setNotFoundHandler((request, reply) => {
    const error = new ApiNotFoundError(request.method, request.url);
    if (isPageRequest(request)) void reply.code(404).type('text/html; charset=utf-8').send(errorPage(404, error));
    else void reply.code(404).send(errorBody(error));
  });
  app.setErrorHandler((raw, request, reply) => {
    const error = fromFastifyError(raw as { statusCode?: number; message: string }) ?? raw;
    const status = httpStatusOf(error);
    if (status >= 500) request.log.error({ err: raw, code: errorBody(error).error.code }, `request failed: ${raw instanceof Error ? raw.message : String(raw)}`);
    if (status === 429) void reply.header('retry-after', String(Math.ceil(RATE_WINDOW_MS / 1000)));
    if (isPageRequest(request)) void reply.code(status).type('text/html; charset=utf-8').send(errorPage(status, error));
    else void reply.code(status).send(errorBody(error));
  });
  await registerWeb(app, deps.web, () => deps.app.now());
  await registerPages(app, deps);

  const routes = [...apiRoutes(deps), ...(options.extraRoutes ?? [])];
  registerRoutes(app, routes, options.authenticate);

  const document = openApiDocument(routes, deps.version);
  app.get('/api/openapi.json', async () => document);

  const metrics = metricsRegistry(deps);
  app.get('/metrics', { config: { rateLimit: false } }, async (request, reply) => {
    if (!isLocalRequest(request)) {
      const principal = await principalOf(request, 'admin', options.authenticate);
      if (principal?.role !== 'admin') throw principal === null ? new ApiUnauthorizedError() : new ApiForbiddenError('/metrics is for this host or a site administrator token');
    }
    const text = await metrics.scrape();
    void reply.type(metrics.registry.contentType);
    return text;
  });
  return app;
}
