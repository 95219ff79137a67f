/**
 * The service base class: a long-running process the master supervises that
 * owns something other than a queue slice (the LMTP listener, the
 * scheduler; an HTTP server next). It is supervised exactly as a queue
 * runner is (forked, restarted with backoff, throttled when it crash-loops,
 * heartbeat, status line with detail, SIGTERM for a graceful stop) but has
 * no queue, no slice and no process() (Postfix's master runs its
 * `single_server`, `multi_server` and `trigger_server` programs the same way).
 *
 * A subclass implements serve(): set up, call ready(), wait for
 * `stopRequested`, clean up, return. stop() asks for that and waits; abort()
 * (a second stop request) also calls onAbort(), where a subclass cuts what
 * would keep a graceful stop waiting. Like Runner, it knows nothing of
 * processes: it emits `starting` (what it is doing), `ready`, `progress`
 * (work done: status counters changed), `status` (statusDetail() or
 * statusInfo() may have changed) and `counters` (a work counter moved), which whoever runs it forwards.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema.js';
import type { ReadyReport } from '../src/master/protocol.js';
import type { RunnerStats } from './runner.js';
import { WorkCounters } from '../src/work-counters.js';

export interface ServiceOptions {
  /** The service's name (a config section, `[runner.NAME]`). */
  name: string;
  /** The home directory, for services that open the list store or read other files of it. */
  home: string;
  /** The spool's queue root (`<home>/queues`), for services that enqueue. */
  spoolRoot: string;
  durability: 'fsync' | 'none';
  logger: Logger;
  /** The `[runner.NAME.options]` table, for the subclass to validate. */
  options: Record<string, unknown>;
  /** The whole validated configuration. */
  config: Config;
  /** Injected clock for tests. */
  now?: () => number;
}

export abstract class Service extends EventEmitter {
  readonly name: string;
  readonly log: Logger;
  /** Work counters shown in `switchyard status` (processed: messages accepted, jobs run, ...); inFlight stays 0. */
  readonly stats: RunnerStats = { processed: 0, failed: 0, retried: 0, inFlight: 0 };
  /** What the service counts of its work (src/work-counters.ts), from 0 at each start; each count emits `counters`. */
  readonly counters = new WorkCounters(() => this.emit('counters'));
  protected readonly options: ServiceOptions;
  protected readonly now: () => number;
  /** Resolves once stop() or abort() was called. */
  protected readonly stopRequested: Promise<void>;
  protected stopping = false;
  private requestStop: () => void = () => undefined;
  private running: Promise<void> | undefined;

  constructor(options: ServiceOptions) {
    super();
    this.options = options;
    this.name = options.name;
    this.log = options.logger;
    this.now = options.now ?? Date.now;
    this.stopRequested = new Promise((resolve) => (this.requestStop = resolve));
  }

  /** Set up, call ready(), serve until `stopRequested`, clean up. Its rejection is the service's crash. */
  protected abstract serve(): Promise<void>;

  /** One line an operator should see in `switchyard status`, or undefined; call statusChanged() when it may change. */
  statusDetail(): string | undefined {
    return undefined;
  }

  /** Structured state for `status --json` (the scheduler's jobs), or undefined; call statusChanged() when it may change. */
  statusInfo(): Record<string, unknown> | undefined {
    return undefined;
  }

  /** Run until stop(); resolves once serve() has cleaned up. */
  run(): Promise<void> {
    this.running ??= this.serve();
    return this.running;
  }

  /** Ask serve() to finish what it is doing and return; resolves when it has. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.requestStop();
    await this.running;
  }

  /** Stop now: as stop(), and onAbort() cuts whatever a graceful stop would wait for. */
  abort(): void {
    this.stopping = true;
    this.requestStop();
    this.onAbort();
  }

  /** What abort() cuts short; nothing by default. */
  protected onAbort(): void {}

  protected starting(doing: string): void {
    this.emit('starting', doing);
  }

  /** Serving. `report`: what `switchyard start` should print (a port it could not take: `degraded`). */
  protected ready(report?: ReadyReport): void {
    this.emit('ready', report);
  }

  /** Work was done (the counters in `stats` changed). */
  protected progress(): void {
    this.emit('progress');
  }

  protected statusChanged(): void {
    this.emit('status');
  }
}
