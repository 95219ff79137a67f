/**
 * Slices and shard directories.
 *
 * Every queue directory holds 256 shard directories named by the first byte
 * of the entry's sha1 (`00` to `ff`), created on first use. A slice of a
 * queue split into N parts (N a power of two, 1 to 256) is the top log2(N)
 * bits of the sha1, which is Mailman's hash-range rule; it owns exactly the
 * 256/N consecutive shard directories with those top bits. So the slices of
 * one queue partition it exactly, and a consumer lists only its own shard
 * directories, whatever the backlog in other slices.
 */
import { QueueOptionsError } from './errors.js';

export const SHARD_COUNT = 256;
export const MAX_SLICES = SHARD_COUNT;

export function assertSlicing(slice: number, numSlices: number): void {
  if (!Number.isInteger(numSlices) || numSlices < 1 || numSlices > MAX_SLICES || (numSlices & (numSlices - 1)) !== 0) {
    throw new QueueOptionsError(`numSlices must be a power of two from 1 to ${MAX_SLICES}, got ${numSlices}`);
  }
  if (!Number.isInteger(slice) || slice < 0 || slice >= numSlices) {
    throw new QueueOptionsError(`slice must be an integer from 0 to ${numSlices - 1}, got ${slice}`);
  }
}

/** The shard directory name of an entry: the first two hex digits of its sha1. */
export function shardOf(sha1: string): string {
  return sha1.slice(0, 2);
}

/** Which of `numSlices` slices a sha1 belongs to. */
export function sliceOf(sha1: string, numSlices: number): number {
  const firstByte = Number.parseInt(sha1.slice(0, 2), 16);
  return Math.floor((firstByte * numSlices) / SHARD_COUNT);
}

/** The shard directory names a slice owns, in order. */
export function shardsOfSlice(slice: number, numSlices: number): string[] {
  assertSlicing(slice, numSlices);
  const width = SHARD_COUNT / numSlices;
  const shards: string[] = [];
  for (let byte = slice * width; byte < (slice + 1) * width; byte++) {
    shards.push(byte.toString(16).padStart(2, '0'));
  }
  return shards;
}
