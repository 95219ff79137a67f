/**
 * The LMTP service: the MTA delivers list mail to it over LMTP (RFC 2033) on
 * `[lmtp] host:port` (127.0.0.1:8024 by default), and it writes each
 * recipient's copy as an ingress entry (see lmtp/lmtp-server.ts for the
 * replies). A Service (service.ts), not a queue runner: the master
 * supervises it like one (forks it, restarts it, stops it with SIGTERM)
 * while its work arrives on a socket. One process only (every service is).
 *
 * serve(): open the list store, listen, emit `ready`, serve until stop().
 * A listen failure (the port is taken, say by a Mailman still running) is
 * not fatal: the runner reports ready, but `degraded` ("lmtp is not
 * listening on 127.0.0.1:8024: address in use"), which `switchyard start`
 * prints and exits 4 on unless `--allow-degraded`; it shows the reason as its
 * status detail in `switchyard status`, logs it, and tries again with a
 * doubling delay, the master's restart backoff (`master.restartBackoff` to
 * `master.restartBackoffMax`: 1 s to 1 min by default). Meanwhile the MTA cannot connect and keeps
 * the mail.
 *
 * stop() (SIGTERM): stop listening, let the transactions in flight finish
 * (up to lmtp.closeTimeout), close the store, resolve. abort() (a second
 * SIGTERM): cut every connection now; nothing unacknowledged is lost, the
 * MTA delivers it again.
 *
 * Files: only queue entries, through src/ingress/ingress-writer.ts (which
 * names its crash windows): killed at any moment, every 250 sent was for a
 * durable entry, and everything else is still the MTA's.
 */
import { IngressWriter } from '../src/ingress/ingress-writer.js';
import { openReopeningStore, ReopeningStore, storeOptions, type StoreHealth } from '../src/store/index.js';
import { LmtpService } from './lmtp/lmtp-server.js';
import { Service } from './service.js';
import { listenFailure } from './listen-failure.js';

// Where it lived before the HTTP service needed it without the LMTP server.
export { listenFailure };

export default class LmtpRunner extends Service {
  private service: LmtpService | undefined;
  private store: ReopeningStore | undefined;
  private listenProblem: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  override statusDetail(): string | undefined {
    const corrupt = this.store?.health.corrupt;
    const storeProblem = corrupt === undefined ? undefined : `list store damaged since ${corrupt.since.toISOString()}, answering 451: ${corrupt.error.message}`;
    return [this.listenProblem, storeProblem].filter((part) => part !== undefined).join('; ') || undefined;
  }

  /** A damaged list store (see src/store/reopening-store.ts): the MTA gets 451 and keeps the mail; say so loudly. */
  private storeHealthChanged(health: StoreHealth): void {
    if (health.corrupt !== undefined) this.log.error({ err: health.corrupt.error, code: health.corrupt.error.code }, 'the list store is damaged: LMTP answers 451 until it is recovered');
    else this.log.warn('the list store is healthy again');
    this.statusChanged();
  }

  protected override onAbort(): void {
    // The graceful close is under way; cutting the connections now only ends it sooner.
    this.service?.close().catch(() => undefined);
  }

  protected async serve(): Promise<void> {
    const config = this.options.config;
    const home = this.options.home;
    const opts = storeOptions(config);
    this.store = openReopeningStore(home, opts, { onChange: (health) => this.storeHealthChanged(health) });
    // Before ready: the MTA's first RCPT should not wait for the open.
    this.store.openNow();
    // Off the event loop while other transactions commit: a file creation waiting for another connection's fsync must not stall them all.
    const writer = new IngressWriter({ spoolRoot: this.options.spoolRoot, durability: this.options.durability, openOffLoop: true });
    this.service = new LmtpService({
      lmtp: config.lmtp,
      ingress: config.ingress,
      store: this.store.store,
      writer,
      log: this.log,
      counters: this.counters,
      onAccepted: (route, queue, id) => {
        this.stats.processed++;
        this.log.info({ entry: id, queue, list: route.listId }, 'LMTP message queued');
        this.progress();
      },
    });
    try {
      await this.listenWithRetry(config.lmtp.host, config.lmtp.port, config.master.restartBackoff, config.master.restartBackoffMax);
      await this.stopRequested;
      clearTimeout(this.retryTimer);
      await this.service.close();
      this.log.debug('LMTP runner stopped: every transaction in flight finished');
    } finally {
      clearTimeout(this.retryTimer);
      await this.store.close();
    }
  }

  /** First attempt before `ready`; on failure keep trying in the background (see the module comment). */
  private async listenWithRetry(host: string, port: number, firstDelayMs: number, maxDelayMs: number): Promise<void> {
    let delay = firstDelayMs;
    let firstFailure: string | undefined;
    const attempt = async (): Promise<void> => {
      if (this.stopping) return;
      try {
        const bound = await this.service!.listen();
        if (this.listenProblem !== undefined) {
          this.listenProblem = undefined;
          this.statusChanged();
        }
        this.log.info({ host: bound.host, port: bound.port }, 'LMTP runner listening');
      } catch (error) {
        const err = error as NodeJS.ErrnoException;
        const why = `not listening on ${host}:${port}: ${listenFailure(err)}`;
        firstFailure ??= `${this.name} is ${why}`;
        this.listenProblem = `${why}; next attempt in ${Math.ceil(delay / 1000)}s`;
        this.stats.lastError = { message: this.listenProblem, at: new Date(this.now()).toISOString(), entry: '-' };
        this.log.error({ err, host, port, code: err.code }, `${this.name} is ${this.listenProblem}; the MTA keeps the mail until it can deliver`);
        this.statusChanged();
        this.retryTimer = setTimeout(() => void attempt(), delay);
        delay = Math.min(maxDelayMs, delay * 2);
      }
    };
    await attempt();
    this.ready(firstFailure === undefined ? undefined : { degraded: [firstFailure] });
  }
}
