/**
 * `/metrics` in the Prometheus text format (prom-client), for a scraper on
 * this host or one holding a site administrator's token. Every value is
 * read at scrape time, nothing is counted here: queue depth and the age of
 * the oldest waiting entry per queue from the spool's file names
 * (queues/queue-shape.ts), per-runner counters from the master's `status`
 * (processed and failed since the process started, restarts since the
 * master did), held posts waiting per list from the store, and the work
 * counters (src/work-counters.ts: recipients by SMTP reply class, bounces
 * scored, LMTP sessions and rejects, ...) as Prometheus counters, totals
 * the master keeps since it started (across runner restarts).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { FastifyRequest } from 'fastify';
import { queueShape } from '../../queues/index.js';
import type { ApiDeps } from './routes/deps.js';
import { WORK_COUNTERS, type CounterDefinition, type CounterName, type CounterValues } from '../work-counters.js';

/** A loopback peer with no proxy header: a request relayed by a proxy on this host is not "local". */
export function isLocalRequest(request: FastifyRequest): boolean {
  const peer = request.socket.remoteAddress ?? '';
  const loopback = peer === '::1' || /^(::ffff:)?127\./.test(peer);
  return loopback && request.headers['x-forwarded-for'] === undefined && request.headers.forwarded === undefined;
}

/** The registry, and `scrape()`: refresh every value, then the text (scrapes at once are served one after another). */
export function metricsRegistry(deps: ApiDeps): { registry: Registry; scrape(): Promise<string> } {
  const registry = new Registry();
  const queueDepth = new Gauge({ name: 'switchyard_queue_entries', help: 'entries waiting (.pck) per queue', labelNames: ['queue'], registers: [registry] });
  const queueAge = new Gauge({
    name: 'switchyard_queue_oldest_entry_age_seconds',
    help: 'age of the oldest waiting entry per queue (retry: since it became due); 0 when empty',
    labelNames: ['queue'],
    registers: [registry],
  });
  const runnerLabels = ['runner', 'kind', 'slice'] as const;
  const processed = new Gauge({ name: 'switchyard_runner_processed', help: 'entries processed (services: work done) by the runner process since it started', labelNames: runnerLabels, registers: [registry] });
  const failed = new Gauge({ name: 'switchyard_runner_failed', help: 'entries failed by the runner process since it started', labelNames: runnerLabels, registers: [registry] });
  const restarts = new Gauge({ name: 'switchyard_runner_restarts', help: 'times the master restarted this slot since it started', labelNames: runnerLabels, registers: [registry] });
  const running = new Gauge({ name: 'switchyard_runner_running', help: '1 when the slot is running, 0 otherwise (starting, backoff, failed, stopped)', labelNames: runnerLabels, registers: [registry] });
  const healthy = new Gauge({ name: 'switchyard_healthy', help: "1 when `switchyard status` finds nothing for an operator to fix, else 0", registers: [registry] });
  const held = new Gauge({ name: 'switchyard_held_posts', help: 'posts held for moderation, per list', labelNames: ['list'], registers: [registry] });
  const counters = (Object.entries(WORK_COUNTERS) as [CounterName, CounterDefinition][]).map(([name, def]) => ({
    name,
    def,
    counter: new Counter({ name: def.metric, help: `${def.help} (since the master started)`, labelNames: def.label === undefined ? [] : [def.label.name], registers: [registry] }),
  }));

  // One refresh for all: the master is asked once per scrape, and old series are dropped (a removed list, a runner no longer configured).
  const refresh = async (): Promise<void> => {
    for (const gauge of [queueDepth, queueAge, processed, failed, restarts, running, held]) gauge.reset();
    const [shapes, status, lists] = await Promise.all([queueShape(deps.spool), deps.masterStatus(), deps.app.store.lists()]);
    for (const shape of shapes) {
      queueDepth.set({ queue: shape.queue }, shape.total);
      queueAge.set({ queue: shape.queue }, shape.oldestAgeSeconds ?? 0);
    }
    for (const runner of status.runners) {
      const labels = { runner: runner.name, kind: runner.kind, slice: String(runner.slice) };
      processed.set(labels, runner.processed);
      failed.set(labels, runner.failed);
      restarts.set(labels, runner.restarts);
      running.set(labels, runner.state === 'running' ? 1 : 0);
    }
    healthy.set(status.healthy ? 1 : 0);
    // Totals from the master, set anew at each scrape (a counter only goes up, so: reset, then add the total).
    // A master that predates them reports none: no series.
    for (const { name, def, counter } of counters) {
      counter.reset();
      if (status.counters === undefined) continue;
      const value = status.counters[name] as CounterValues[CounterName];
      if (typeof value === 'number') counter.inc(value);
      else for (const [label, count] of Object.entries(value)) counter.inc({ [def.label!.name]: label }, count);
    }
    for (const list of lists) held.set({ list: list.address }, await deps.app.store.countHeld(list.address));
  };
  let last: Promise<unknown> = Promise.resolve();
  const scrape = (): Promise<string> => {
    const next = last.catch(() => undefined).then(async () => {
      await refresh();
      return registry.metrics();
    });
    last = next;
    return next;
  };
  return { registry, scrape };
}
