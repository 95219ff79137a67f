/**
 * A streamed enqueue: one payload that arrives in pieces, written once and
 * enqueued as one entry per target (a queue and the caller's metadata), so a
 * payload of any size costs a bounded amount of memory. The caller writes the
 * pieces, then commits (every target's entry made durable, one outcome per
 * target) or discards.
 *
 * Files:
 * - A payload that ends within `spillBytes` never touches the disk before
 *   commit: each target is a plain Switchboard.enqueue (temp, fdatasync,
 *   rename, directory fsync).
 * - A larger one spills into the first target's temp file
 *   `<queue>/<shard>/<id>.pck.<random>.tmp`: header line (message length
 *   reserved as STREAMED_LENGTH_WIDTH zeros, file-format.ts) and JSON first,
 *   then each piece appended as it comes. commit() rewrites the header line in
 *   place with the real length (same width), fdatasyncs, renames the temp to
 *   `<id>.pck` and fsyncs the directory. Every further target gets its own
 *   temp file, with its own header and JSON and the payload copied from the
 *   first file's descriptor, then the same fdatasync, rename, directory fsync.
 *
 * Crash windows: killed while the payload streams in, or at commit before a
 * target's rename, only `.tmp` files are left: not entries, never listed or
 * dequeued, removed by removeStaleTemps() (each runner's start and the
 * master's); the caller acknowledged nothing. Killed after some targets'
 * renames: those entries exist and the caller (which acknowledges only after
 * commit resolves) acknowledged none, so its sender sends again: the
 * duplicate window every enqueue has. Killed between a rename and its
 * directory fsync: the entry exists; a power cut may forget it, which is why
 * commit resolves only after the fsync (shared with concurrent writers into
 * the same directory: directory-sync.ts). A directory fsync that fails
 * withdraws (unlinks) its target's entry before that target's outcome is
 * a failure, so the sender's retry of it is no duplicate.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { fsyncDirectoryOrWithdraw, tempNameFor, writeAll } from './durable-file.js';
import { QueueOptionsError } from './errors.js';
import { encodeEntryHead, encodeHeaderLine, STREAMED_LENGTH_WIDTH } from './file-format.js';
import type { JsonObject } from './json.js';
import type { EnqueueOptions, NewEntry, Switchboard } from './switchboard.js';

/** Payload held in memory before it spills into a temp file: small messages cost no extra system calls. */
export const DEFAULT_SPILL_BYTES = 64 * 1024;
/** Read size of the copy for every target after the first, and how many such copies run at once. */
const COPY_CHUNK_BYTES = 256 * 1024;
const COPY_CONCURRENCY = 4;

export interface StreamTarget {
  switchboard: Switchboard;
  metadata: JsonObject;
  options?: EnqueueOptions;
}

export interface StreamEnqueueOptions {
  /** See DEFAULT_SPILL_BYTES. */
  spillBytes?: number;
  /**
   * Create the entry files of a payload held in memory off the event loop
   * (durable-file.ts, WriteOptions.openOffLoop); a function is asked at
   * commit (the LMTP runner: only while other messages are committing).
   */
  openOffLoop?: boolean | (() => boolean);
}

/** The spilled payload: the first target's temp file, open for appending and later for copying. */
interface SpillFile {
  entry: NewEntry;
  temp: string;
  handle: FileHandle;
  /** Offset of the first payload byte. */
  payloadStart: number;
  /** Length of the JSON, for the rewritten header line. */
  jsonLength: number;
  renamed: boolean;
}

export class StreamEnqueue {
  private readonly targets: readonly StreamTarget[];
  private readonly spillBytes: number;
  private readonly openOffLoop: boolean | (() => boolean);
  private held: Buffer[] = [];
  private heldBytes = 0;
  private spill: SpillFile | undefined;
  private bytes = 0;
  private state: 'open' | 'committing' | 'closed' = 'open';
  private writing = false;
  /** The first write failure: every later write and the commit fail with it. */
  private failure: unknown;

  constructor(targets: readonly StreamTarget[], options: StreamEnqueueOptions = {}) {
    if (targets.length === 0) throw new QueueOptionsError('a streamed enqueue needs at least one target');
    this.targets = targets;
    this.spillBytes = options.spillBytes ?? DEFAULT_SPILL_BYTES;
    this.openOffLoop = options.openOffLoop ?? false;
  }

  /** Payload bytes written so far. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Append a piece; resolves once it is held or written. One write at a time
   * (await each: that is the backpressure). Rejects with the write error
   * (ENOSPC, say), after which the stream is closed and its temp file gone.
   */
  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.writing) throw new QueueOptionsError('streamed enqueue: a write is already in progress (await each write)');
    if (chunk.length === 0) return;
    this.held.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.heldBytes += chunk.length;
    this.bytes += chunk.length;
    if (this.heldBytes < this.spillBytes) return;
    this.writing = true;
    try {
      await this.flush();
    } finally {
      this.writing = false;
    }
  }

  /**
   * Make every target's entry durable. One outcome per target, in order: the
   * entry id, or why that target failed (the others are not affected).
   * Rejects only when the payload itself could not be written (no target has
   * an entry then).
   */
  async commit(): Promise<PromiseSettledResult<string>[]> {
    this.assertOpen();
    if (this.writing) throw new QueueOptionsError('streamed enqueue: commit while a write is in progress (await each write)');
    this.state = 'committing';
    try {
      if (this.spill === undefined) {
        const payload = Buffer.concat(this.held, this.heldBytes);
        this.held = [];
        const offLoop = typeof this.openOffLoop === 'function' ? this.openOffLoop() : this.openOffLoop;
        return await Promise.allSettled(this.targets.map((target) => this.enqueueHeld(target, payload, offLoop)));
      }
      await this.flush();
      const spill = this.spill;
      const rest = this.targets.slice(1);
      const results = await Promise.allSettled([this.commitSpill(spill), this.copyToAll(spill, rest)]);
      const [firstResult, copiesResult] = results as [PromiseSettledResult<string>, PromiseSettledResult<PromiseSettledResult<string>[]>];
      return [firstResult, ...(copiesResult.status === 'fulfilled' ? copiesResult.value : rest.map(() => copiesResult))];
    } finally {
      await this.close();
    }
  }

  /** A payload held in memory: Switchboard.enqueue, with the open where the caller asked for it. */
  private enqueueHeld(target: StreamTarget, payload: Buffer, offLoop: boolean): Promise<string> {
    return target.switchboard.enqueue(payload, target.metadata, { ...target.options, openOffLoop: offLoop });
  }

  /** Give up: nothing is enqueued, the temp file (if any) is removed. Safe to call at any time, and more than once. */
  async discard(): Promise<void> {
    await this.close();
  }

  private assertOpen(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.state !== 'open') throw new QueueOptionsError(`streamed enqueue already ${this.state === 'committing' ? 'committing' : 'closed'}`);
  }

  private async flush(): Promise<void> {
    if (this.heldBytes === 0) return;
    const chunks = this.held;
    this.held = [];
    this.heldBytes = 0;
    try {
      const spill = this.spill ?? (await this.openSpill());
      await writeAll(spill.handle, chunks);
    } catch (error) {
      this.failure = error;
      await this.close();
      throw error;
    }
  }

  private async openSpill(): Promise<SpillFile> {
    const target = this.targets[0]!;
    const entry = await target.switchboard.newEntry(target.metadata, target.options);
    const temp = tempNameFor(entry.path);
    // Read back for the other targets' copies: read-write, created exclusively.
    const handle = await open(temp, 'wx+', entry.write.mode);
    const head = encodeEntryHead(target.metadata, entry.control, 0, STREAMED_LENGTH_WIDTH);
    this.spill = { entry, temp, handle, payloadStart: head.reduce((sum, part) => sum + part.length, 0), jsonLength: head[1]!.length, renamed: false };
    await writeAll(handle, head);
    return this.spill;
  }

  private async commitSpill(spill: SpillFile): Promise<string> {
    await writeAll(spill.handle, [encodeHeaderLine(spill.jsonLength, this.bytes, STREAMED_LENGTH_WIDTH)], 0);
    if (spill.entry.write.fsync) await spill.handle.datasync();
    await rename(spill.temp, spill.entry.path);
    spill.renamed = true;
    if (spill.entry.write.fsync) await fsyncDirectoryOrWithdraw(spill.entry.path, spill.entry.write.directories);
    return spill.entry.id;
  }

  /** Every further target, at most COPY_CONCURRENCY at once (each copy holds one read buffer). */
  private async copyToAll(spill: SpillFile, targets: readonly StreamTarget[]): Promise<PromiseSettledResult<string>[]> {
    const results: PromiseSettledResult<string>[] = new Array(targets.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, Math.max(1, this.bytes)));
      while (next < targets.length) {
        const index = next++;
        try {
          results[index] = { status: 'fulfilled', value: await this.copyTo(spill, targets[index]!, buffer) };
        } catch (reason) {
          results[index] = { status: 'rejected', reason };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, targets.length) }, worker));
    return results;
  }

  private async copyTo(spill: SpillFile, target: StreamTarget, buffer: Buffer): Promise<string> {
    const entry = await target.switchboard.newEntry(target.metadata, target.options);
    const temp = tempNameFor(entry.path);
    const handle = await open(temp, 'wx', entry.write.mode);
    try {
      await writeAll(handle, encodeEntryHead(target.metadata, entry.control, this.bytes));
      for (let done = 0; done < this.bytes; ) {
        const { bytesRead } = await spill.handle.read(buffer, 0, Math.min(buffer.length, this.bytes - done), spill.payloadStart + done);
        if (bytesRead === 0) throw new Error(`streamed payload shorter than written: ${done} of ${this.bytes} bytes read back from ${spill.temp}`);
        await writeAll(handle, [buffer.subarray(0, bytesRead)]);
        done += bytesRead;
      }
      if (entry.write.fsync) await handle.datasync();
      await handle.close();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    try {
      await rename(temp, entry.path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    if (entry.write.fsync) await fsyncDirectoryOrWithdraw(entry.path, entry.write.directories);
    return entry.id;
  }

  private async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.held = [];
    this.heldBytes = 0;
    const spill = this.spill;
    if (spill === undefined) return;
    await spill.handle.close().catch(() => undefined);
    if (!spill.renamed) await unlink(spill.temp).catch(() => undefined);
  }
}

