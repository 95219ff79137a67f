/** retryDelay: exponential backoff from initialDelayMs, capped at maxDelayMs, stretched by up to ±jitter. */
import { describe, expect, it } from 'vitest';
import { retryDelay, type RetrySchedule } from '../../runners/retry-schedule.js';

const schedule: RetrySchedule = { initialDelayMs: 1_000, maxDelayMs: 60_000, jitter: 0, lifetimeMs: 86_400_000 };

describe('retryDelay', () => {
  it('doubles per attempt from the initial delay (attempt 1 waits the initial delay)', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelay(schedule, attempt))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
  });

  it('treats attempt 0 or less as the first attempt', () => {
    expect(retryDelay(schedule, 0)).toBe(1_000);
    expect(retryDelay(schedule, -3)).toBe(1_000);
  });

  it('is capped at maxDelayMs, also for absurd attempt counts', () => {
    expect(retryDelay(schedule, 7)).toBe(60_000);
    expect(retryDelay(schedule, 50)).toBe(60_000);
    expect(retryDelay(schedule, 10_000)).toBe(60_000);
    expect(retryDelay({ ...schedule, maxDelayMs: 1_500 }, 2)).toBe(1_500);
  });

  it('with jitter, stays within base × (1 ± jitter), reaching both ends for random 0 and nearly 1', () => {
    const jittery = { ...schedule, jitter: 0.25 };
    expect(retryDelay(jittery, 3, () => 0)).toBe(3_000);
    expect(retryDelay(jittery, 3, () => 0.5)).toBe(4_000);
    expect(retryDelay(jittery, 3, () => 0.999_999_999)).toBe(5_000);
    // maxDelayMs is a hard bound: at the cap jitter only shortens.
    expect(retryDelay(jittery, 10, () => 0.999_999_999)).toBe(60_000);
    expect(retryDelay(jittery, 10, () => 0)).toBe(45_000);
    // Math.random: inside the bounds, and actually spread over them.
    const samples = Array.from({ length: 10_000 }, () => retryDelay(jittery, 2));
    const lowest = Math.min(...samples);
    const highest = Math.max(...samples);
    expect(lowest).toBeGreaterThanOrEqual(1_500);
    expect(highest).toBeLessThanOrEqual(2_500);
    expect(lowest).toBeLessThan(1_600);
    expect(highest).toBeGreaterThan(2_400);
    expect(new Set(samples).size).toBeGreaterThan(100);
  });

  it('never returns a negative delay, even with full jitter', () => {
    expect(retryDelay({ ...schedule, jitter: 1 }, 1, () => 0)).toBe(0);
    expect(retryDelay({ ...schedule, initialDelayMs: 0 }, 5)).toBe(0);
  });
});
