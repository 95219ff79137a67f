/**
 * Backing off from a smarthost that is down. After a connection-level
 * failure (refused, timed out, 421, TLS or AUTH failure) no connection is
 * tried for `destinationBackoff`, doubled per consecutive failure up to
 * `destinationBackoffMax`; entries taken meanwhile are deferred to `retry` at
 * once, so a dead MTA costs one failed connect per backoff period, not one
 * per entry. Any transaction the MTA answers ends the backoff. In memory
 * only: a restarted runner tries once and learns again.
 */
export interface DestinationState {
  destination: string;
  downUntil: number;
  /** When this outage began: the first failure since the destination last answered. */
  downSince: number;
  failures: number;
  reason: string;
}

export class DestinationBackoff {
  private downUntil = 0;
  private downSince = 0;
  private failures = 0;
  private reason = '';

  constructor(
    readonly destination: string,
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** The time until which no connection is tried, or undefined when the destination is up. */
  downAt(now: number): number | undefined {
    return now < this.downUntil ? this.downUntil : undefined;
  }

  markDown(now: number, reason: string): number {
    // Several transactions in flight fail together: one outage, one step of the backoff.
    if (now < this.downUntil) return this.downUntil;
    if (this.failures === 0) this.downSince = now;
    this.failures++;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures - 1, 30));
    this.downUntil = now + delay;
    this.reason = reason;
    return this.downUntil;
  }

  /** The destination answered; true when that ended an outage (it had been marked down). */
  markUp(): boolean {
    const wasDown = this.failures > 0;
    this.failures = 0;
    this.downSince = 0;
    this.downUntil = 0;
    this.reason = '';
    return wasDown;
  }

  state(now: number): DestinationState | undefined {
    if (now >= this.downUntil) return undefined;
    return { destination: this.destination, downUntil: this.downUntil, downSince: this.downSince, failures: this.failures, reason: this.reason };
  }

  describe(now: number): string | undefined {
    const state = this.state(now);
    if (!state) return undefined;
    return `smarthost ${state.destination} down (${state.reason}); no connection tried until ${new Date(state.downUntil).toISOString()}`;
  }

  /** For `switchyard status`: `smarthost HOST:PORT down since <ISO> (<reason>); next attempt <ISO>`, undefined when up. */
  statusLine(now: number): string | undefined {
    const state = this.state(now);
    if (!state) return undefined;
    return `smarthost ${state.destination} down since ${new Date(state.downSince).toISOString()} (${state.reason}); next attempt ${new Date(state.downUntil).toISOString()}`;
  }
}
