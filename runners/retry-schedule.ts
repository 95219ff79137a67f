/**
 * When a temporarily failed entry is due again: exponential backoff from
 * `initialDelayMs`, doubling per attempt up to `maxDelayMs`, each delay
 * randomly stretched or shrunk by up to `jitter` so that a burst of failures
 * does not come back as a burst. `maxDelayMs` is a hard bound, as Postfix's
 * maximal_backoff_time is: at the cap the jitter can only shorten a delay.
 */

export interface RetrySchedule {
  initialDelayMs: number;
  maxDelayMs: number;
  /** 0 to 1. */
  jitter: number;
  /** Give up (to shunt) when the first failure is older than this. */
  lifetimeMs: number;
}

export function retryDelay(schedule: RetrySchedule, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(schedule.maxDelayMs, schedule.initialDelayMs * 2 ** Math.min(exponent, 52));
  const spread = base * schedule.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(schedule.maxDelayMs, Math.round(base + spread)));
}
