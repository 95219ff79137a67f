/**
 * Putting a routed message on its queue: the one place both ways in (the
 * LMTP runner and `switchyard inject`) write ingress entries, so both write
 * the same metadata (the contract in notes/helper-common.md):
 *
 *     { listId, envelopeSender, envelopeRecipient, receivedAt, receivedVia,
 *       ...route metadata (command, token, toOwners) }
 *
 * Every message goes in through an IngressMessage (begin(); accept() is
 * begin, one write, finish): the one path the bytes of both ways in take to
 * the spool, written as they arrive (queues/stream-enqueue.ts), so a message
 * of any size costs bounded memory.
 *
 * Files: one new `.pck` per recipient, made durable by the streamed enqueue
 * (temp file, fdatasync, rename, directory fsync; a large message is streamed
 * into its first recipient's temp file and copied for the others). Killed
 * before finish() resolves: at most `.tmp` files and the entries of some
 * recipients are left; the MTA, which has not had its answer, delivers
 * again: nothing is half-written and nothing the MTA believes delivered is
 * lost (the entries already made are the duplicate below). Killed after it
 * resolves but before the MTA heard 250 / exit 0: the MTA delivers again, a
 * duplicate (the documented at-least-once window of every MTA hand-off).
 * `.tmp` files are removed by the stale-temp cleanup.
 */
import { StreamEnqueue, Switchboard, type JsonObject } from '../../queues/index.js';
import { SWITCHBOARD_OPTIONS } from '../../runners/queue-ids.js';
import type { Route } from './routing.js';

export interface Envelope {
  /** '' for the null sender `<>`. */
  sender: string;
  /** The recipient as the MTA gave it. */
  recipient: string;
  via: 'lmtp' | 'inject';
  receivedAt?: Date;
}

export interface IngressWriterOptions {
  /** `<home>/queues`. */
  spoolRoot: string;
  durability: 'fsync' | 'none';
  /**
   * While other messages are committing, create entry files off the event
   * loop (queues/durable-file.ts, WriteOptions.openOffLoop): in a server with
   * many connections a creation waiting for another one's fsync would stall
   * them all. A message committing alone opens synchronously: one thread-pool
   * round trip less, and nobody to block.
   */
  openOffLoop?: boolean;
}

export class IngressWriter {
  private readonly switchboards = new Map<string, Switchboard>();
  /** Messages between finish() and its outcome (see IngressWriterOptions.openOffLoop). */
  private readonly committing = { count: 0 };

  constructor(private readonly options: IngressWriterOptions) {}

  /** The metadata of an ingress entry for `route` and `envelope`. */
  static metadata(route: Route, envelope: Envelope): JsonObject {
    return {
      listId: route.listId,
      envelopeSender: envelope.sender,
      envelopeRecipient: envelope.recipient,
      receivedAt: (envelope.receivedAt ?? new Date()).toISOString(),
      receivedVia: envelope.via,
      ...route.metadata,
    };
  }

  /** Durably enqueue; resolves with the entry id once the MTA may be told the message is ours. */
  async accept(route: Route, message: Uint8Array, envelope: Envelope, queue: string = route.queue): Promise<string> {
    const incoming = this.begin([{ route, envelope, queue }]);
    try {
      await incoming.write(message);
    } catch (error) {
      await incoming.discard();
      throw error;
    }
    const [outcome] = await incoming.finish();
    if (outcome!.status === 'rejected') throw outcome!.reason;
    return outcome!.value;
  }

  /** A message about to arrive in pieces, for one entry per recipient (in order; at least one). */
  begin(recipients: readonly IngressRecipient[]): IngressMessage {
    const committing = this.committing;
    return new IngressMessage(
      new StreamEnqueue(
        recipients.map(({ route, envelope, queue }) => ({ switchboard: this.switchboard(queue ?? route.queue), metadata: IngressWriter.metadata(route, envelope) })),
        // Counted by finish(), this message included.
        { openOffLoop: this.options.openOffLoop === true ? () => committing.count > 1 : false },
      ),
      committing,
    );
  }

  private switchboard(queue: string): Switchboard {
    let switchboard = this.switchboards.get(queue);
    if (switchboard === undefined) {
      switchboard = new Switchboard({ root: this.options.spoolRoot, name: queue, durability: this.options.durability, ...SWITCHBOARD_OPTIONS });
      this.switchboards.set(queue, switchboard);
    }
    return switchboard;
  }
}

export interface IngressRecipient {
  route: Route;
  envelope: Envelope;
  /** Default: the route's queue. */
  queue?: string;
}

/**
 * One message on its way in (IngressWriter.begin): write() each piece as it
 * arrives (awaiting each), then finish() for every recipient's entry, or
 * discard() to keep nothing.
 */
export class IngressMessage {
  constructor(
    private readonly entries: StreamEnqueue,
    private readonly committing: { count: number } = { count: 0 },
  ) {}

  /** Bytes written so far. */
  get size(): number {
    return this.entries.size;
  }

  /** Rejects with the write error (ENOSPC, say); the message is then discarded. */
  write(chunk: Uint8Array): Promise<void> {
    return this.entries.write(chunk);
  }

  /** Every recipient's entry made durable: its id or why it failed, in the order of begin(). */
  async finish(): Promise<PromiseSettledResult<string>[]> {
    this.committing.count++;
    try {
      return await this.entries.commit();
    } finally {
      this.committing.count--;
    }
  }

  /** Keep nothing (safe at any time, and more than once). */
  discard(): Promise<void> {
    return this.entries.discard();
  }
}
