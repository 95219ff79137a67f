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
  failures: number;
  reason: string;
}

export class DestinationBackoff {
  private downUntil = 0;
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
    this.failures++;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures - 1, 30));
    this.downUntil = now + delay;
    this.reason = reason;
    return this.downUntil;
  }

  markUp(): void {
    this.failures = 0;
    this.downUntil = 0;
    this.reason = '';
  }

  state(now: number): DestinationState | undefined {
    if (now >= this.downUntil) return undefined;
    return { destination: this.destination, downUntil: this.downUntil, failures: this.failures, reason: this.reason };
  }

  describe(now: number): string | undefined {
    const state = this.state(now);
    if (!state) return undefined;
    return `smarthost ${state.destination} down (${state.reason}); no connection tried until ${new Date(state.downUntil).toISOString()}`;
  }
}
