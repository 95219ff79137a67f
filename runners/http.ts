/**
 * The HTTP service: the REST API under /api/v1, the OpenAPI document and
 * /metrics (src/http/server.ts), on `[http] listen:port` (127.0.0.1:8025 by
 * default; a proxy in front does TLS). A Service (service.ts) the master
 * supervises like the LMTP listener: one process, restarted when it dies.
 *
 * serve(): open the list store, build the application context the CLI
 * builds (src/app/: the routes call the same functions), listen, emit
 * `ready`, serve until stop(). A listen failure (the port is taken) is not
 * fatal: as with LMTP, the service reports ready but `degraded` ("http is
 * not listening on 127.0.0.1:8025: address in use"), which `switchyard
 * start` prints and exits 4 on unless `--allow-degraded`; its status detail
 * says so, and it tries again with a doubling delay: the master's
 * restart backoff (`master.restartBackoff` to `master.restartBackoffMax`,
 * 1 s to 1 min by default), since a service that cannot listen is retried
 * as one that crashed is restarted.
 *
 * stop(): stop accepting, let requests in flight finish (fastify close;
 * new ones get 503), close the store. abort(): cut every connection.
 *
 * Files: queue entries through the application functions it calls
 * (approve enqueues on `in`, notices on `virgin`; src/app/spool-enqueue.ts
 * names their crash windows) and through Spool.requeueAll (the requeue
 * route; queues/spool.ts names its crash windows), and the list store, one
 * transaction per change: killed at any moment, a request on one thing
 * either happened or did not, and its client saw no success for one that
 * did not; a request on many (held/bulk, requeue) is done for those before
 * the kill and not for the rest, and asking again finishes it.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { Spool } from '../queues/index.js';
import { authenticateToken } from '../src/app/api-tokens.js';
import type { AppContext } from '../src/app/context.js';
import { AppEvents } from '../src/app/events.js';
import { spoolEnqueue } from '../src/app/spool-enqueue.js';
import { homePaths } from '../src/home.js';
import { webBaseUrlOf } from '../src/app/web-links.js';
import { buildHttpServer } from '../src/http/server.js';
import { SiteSecrets } from '../src/http/site-secret.js';
import { requestStatus } from '../src/master/status-client.js';
import { regenerateOnListChange } from '../src/mta/regenerate.js';
import { openReopeningStore, ReopeningStore, storeOptions, type StoreHealth } from '../src/store/index.js';
import { listenFailure } from './listen-failure.js';
import { SPOOL_OPTIONS } from './queue-ids.js';
import { Service } from './service.js';

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export default class HttpRunner extends Service {
  private server: FastifyInstance | undefined;
  private store: ReopeningStore | undefined;
  private listenProblem: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private url: string | undefined;

  override statusDetail(): string | undefined {
    const corrupt = this.store?.health.corrupt;
    const storeProblem = corrupt === undefined ? undefined : `list store damaged since ${corrupt.since.toISOString()}, answering 503: ${corrupt.error.message}`;
    return [this.listenProblem, storeProblem].filter((part) => part !== undefined).join('; ') || undefined;
  }

  override statusInfo(): Record<string, unknown> | undefined {
    return this.url === undefined ? undefined : { url: this.url };
  }

  private storeHealthChanged(health: StoreHealth): void {
    if (health.corrupt !== undefined) this.log.error({ err: health.corrupt.error, code: health.corrupt.error.code }, 'the list store is damaged: the API answers 503 until it is recovered');
    else this.log.warn('the list store is healthy again');
    this.statusChanged();
  }

  protected override onAbort(): void {
    this.server?.server.closeAllConnections();
  }

  protected async serve(): Promise<void> {
    const config = this.options.config;
    const home = this.options.home;
    const opts = storeOptions(config);
    this.store = openReopeningStore(home, opts, { onChange: (health) => this.storeHealthChanged(health) });
    const store = this.store.store;
    const events = new AppEvents();
    regenerateOnListChange(events, home, config, store);
    const app: AppContext = {
      store,
      now: () => new Date(this.now()),
      enqueue: spoolEnqueue(this.options.spoolRoot, this.options.durability),
      log: this.log,
      events,
      // Loaded with the first list change that names a chain or handler: they are the incoming runner's code.
      settingRegistries: () => import('./list-setting-registries.js').then((module) => module.LIST_SETTING_REGISTRIES),
      ...(config.site.owner === undefined ? {} : { siteOwner: config.site.owner }),
      ...webBaseUrlOf(config.http),
    };
    const deps = {
      app,
      version: packageVersion(),
      masterStatus: () => requestStatus(homePaths(home).socket, 10_000),
      spool: new Spool({ root: this.options.spoolRoot, durability: this.options.durability, ...SPOOL_OPTIONS }),
      importBodyLimit: config.http.importBodyLimit,
      web: {
        siteBans: config.membership.bans,
        home,
        secrets: SiteSecrets.load(home, app.now()),
        baseUrl: (config.http.baseUrl ?? `http://${config.http.listen.includes(':') ? `[${config.http.listen}]` : config.http.listen}:${config.http.port}`).replace(/\/+$/, ''),
        secretGraceMs: config.http.secretGrace,
        loginLinkLifetimeMs: config.http.loginLinkLifetime,
        sessionLifetimeMs: config.http.sessionLifetime,
      },
    };
    const build = async (): Promise<FastifyInstance> => {
      const server = await buildHttpServer({ deps, config: config.http, logger: this.log, authenticate: (token) => authenticateToken(app, token) });
      server.addHook('onResponse', async (_request, reply) => {
        if (reply.statusCode >= 500) this.stats.failed++;
        else this.stats.processed++;
        this.progress();
      });
      return server;
    };
    try {
      await this.listenWithRetry(build, config.http.listen, config.http.port, config.master.restartBackoff, config.master.restartBackoffMax);
      await this.stopRequested;
      clearTimeout(this.retryTimer);
      await this.server?.close();
      this.log.debug('HTTP service stopped: every request in flight answered');
    } finally {
      clearTimeout(this.retryTimer);
      await this.store.close();
    }
  }

  /** First attempt before `ready`; on failure keep trying in the background (see the module comment). */
  private async listenWithRetry(build: () => Promise<FastifyInstance>, host: string, port: number, firstDelayMs: number, maxDelayMs: number): Promise<void> {
    let delay = firstDelayMs;
    let firstFailure: string | undefined;
    const attempt = async (): Promise<void> => {
      if (this.stopping) return;
      // A fastify instance listens once: each attempt gets a fresh one.
      let server: FastifyInstance | undefined;
      try {
        server = await build();
        await server.listen({ host, port });
        this.server = server;
        const address = server.server.address();
        const bound = typeof address === 'object' && address !== null ? address : { address: host, port };
        this.url = `http://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
        if (this.listenProblem !== undefined) this.listenProblem = undefined;
        this.statusChanged();
        this.log.info({ host: bound.address, port: bound.port, url: this.url }, 'HTTP service listening');
      } catch (error) {
        await server?.close().catch(() => undefined);
        const err = error as NodeJS.ErrnoException;
        const why = `not listening on ${host}:${port}: ${listenFailure(err)}`;
        firstFailure ??= `${this.name} is ${why}`;
        // Whole seconds, rounded up: a sub-second backoff (tests configure one) reads "in 1s", not "in 0s".
        this.listenProblem = `${why}; next attempt in ${Math.ceil(delay / 1000)}s`;
        this.stats.lastError = { message: this.listenProblem, at: new Date(this.now()).toISOString(), entry: '-' };
        this.log.error({ err, host, port, code: err.code }, `${this.name} is ${this.listenProblem}`);
        this.statusChanged();
        this.retryTimer = setTimeout(() => void attempt(), delay);
        delay = Math.min(maxDelayMs, delay * 2);
      }
    };
    await attempt();
    this.ready(firstFailure === undefined ? undefined : { degraded: [firstFailure] });
  }
}
