/**
 * Putting a routed message on its queue: the one place both ways in (the
 * LMTP runner and `switchyard inject`) write ingress entries, so both write
 * the same metadata (the contract in notes/helper-common.md):
 *
 *     { listId, envelopeSender, envelopeRecipient, receivedAt, receivedVia,
 *       ...route metadata (command, token, toOwners) }
 *
 * Files: one new `.pck` per call, by Switchboard.enqueue (temp file,
 * fdatasync, rename, directory fsync). Killed before enqueue resolves: at
 * most a `.tmp` is left (removed by the stale-temp cleanup) and the MTA,
 * which has not had its answer, delivers again: nothing is half-written and
 * nothing the MTA believes delivered is lost. Killed after it resolves but
 * before the MTA heard 250 / exit 0: the MTA delivers again, a duplicate
 * (the documented at-least-once window of every MTA hand-off).
 */
import { Switchboard, type JsonObject } from '../../queues/index.js';
import type { Route } from '../mail/routing.js';

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
}

export class IngressWriter {
  private readonly switchboards = new Map<string, Switchboard>();

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
    return this.switchboard(queue).enqueue(message, IngressWriter.metadata(route, envelope));
  }

  private switchboard(queue: string): Switchboard {
    let switchboard = this.switchboards.get(queue);
    if (switchboard === undefined) {
      switchboard = new Switchboard({ root: this.options.spoolRoot, name: queue, durability: this.options.durability });
      this.switchboards.set(queue, switchboard);
    }
    return switchboard;
  }
}
