/**
 * List lifecycle events (Mailman's ListCreatedEvent and ListDeletedEvent):
 * the lists use cases (lists.ts) emit them after the store has committed the
 * change, and other parts subscribe instead of being called by the CLI. The
 * MTA files are rewritten this way (src/mta/regenerate.ts
 * regenerateOnListChange).
 *
 * A subscriber's failure does not undo the change, which has happened: emit()
 * runs every subscriber, in the order they subscribed, and returns the
 * errors of those that failed, for the caller to report (the CLI prints a
 * warning and exits 1). Killed after the commit and before a subscriber has
 * run, the subscriber's work is missed until it is redone by hand (for the
 * MTA files: `switchyard aliases`) or by the next event.
 */
import type { MailingList } from '../store/index.js';

export interface ListCreated {
  type: 'ListCreated';
  list: MailingList;
}

export interface ListRemoved {
  type: 'ListRemoved';
  /** The posting address the list had. */
  list: string;
  /** Member records (every role) and held messages removed with it. */
  members: number;
  held: number;
}

/** Every event by its type; a new event is one more entry here. */
export interface AppEventMap {
  ListCreated: ListCreated;
  ListRemoved: ListRemoved;
}

export type AppEventType = keyof AppEventMap;
export type AppEvent = AppEventMap[AppEventType];
export type Subscriber<T extends AppEventType> = (event: AppEventMap[T]) => void | Promise<void>;

export class AppEvents {
  private readonly subscribers: { [T in AppEventType]: Subscriber<T>[] } = { ListCreated: [], ListRemoved: [] };

  /** Call `subscriber` on every `type` event from now on; returns the unsubscribe function. */
  on<T extends AppEventType>(type: T, subscriber: Subscriber<T>): () => void {
    const list = this.subscribers[type] as Subscriber<T>[];
    list.push(subscriber);
    return () => {
      const at = list.indexOf(subscriber);
      if (at >= 0) list.splice(at, 1);
    };
  }

  /** Run every subscriber of the event's type, one after the other; the errors of those that failed. */
  async emit<T extends AppEventType>(event: AppEventMap[T] & { type: T }): Promise<Error[]> {
    const failed: Error[] = [];
    for (const subscriber of [...(this.subscribers[event.type] as Subscriber<T>[])]) {
      try {
        await subscriber(event);
      } catch (error) {
        failed.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return failed;
  }
}
