/**
 * Entry names: `<seconds>.<microseconds>+<sha1 hex>`. The time part orders a
 * queue (FIFO, or due time in `retry`); the sha1 part spreads entries evenly
 * over the hash space, which is what slices and shard directories divide.
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidEntryIdError } from './errors.js';

export const ENTRY_ID_PATTERN = /^(\d{10})\.(\d{6})\+([0-9a-f]{40})$/;

export interface ParsedEntryId {
  /** Microseconds since the epoch. */
  micros: bigint;
  sha1: string;
}

/** Wall-clock time in microseconds. */
export function nowMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

export function formatTime(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const rest = micros % 1_000_000n;
  return `${seconds.toString().padStart(10, '0')}.${rest.toString().padStart(6, '0')}`;
}

/**
 * The sha1 covers the payload, a key the caller chooses (the list id), the
 * time and a random nonce: two processes enqueueing the same bytes in the same
 * microsecond still get different names.
 */
export function makeEntryId(payload: Uint8Array, hashKey: string, micros: bigint): string {
  const sha1 = createHash('sha1')
    .update(payload)
    .update('\0')
    .update(hashKey)
    .update('\0')
    .update(micros.toString())
    .update(randomBytes(16))
    .digest('hex');
  return `${formatTime(micros)}+${sha1}`;
}

export function parseEntryId(id: string): ParsedEntryId {
  const parsed = tryParseEntryId(id);
  if (!parsed) throw new InvalidEntryIdError(id);
  return parsed;
}

/** The parts of `id`, or undefined when it is not an entry id. */
export function tryParseEntryId(id: string): ParsedEntryId | undefined {
  const match = ENTRY_ID_PATTERN.exec(id);
  if (!match) return undefined;
  const [, seconds, micros, sha1] = match as unknown as [string, string, string, string];
  return { micros: BigInt(seconds) * 1_000_000n + BigInt(micros), sha1 };
}

export function isEntryId(id: string): boolean {
  return ENTRY_ID_PATTERN.test(id);
}

/** Same id, new time part: how an entry is rescheduled without changing its slice. */
export function withTime(id: string, micros: bigint): string {
  const { sha1 } = parseEntryId(id);
  return `${formatTime(micros)}+${sha1}`;
}
