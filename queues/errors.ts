/**
 * Errors of the queue layer. Each carries a stable `code` (documented in the
 * README's error table) and the facts an operator needs: which queue, which
 * entry, which file.
 */

export class QueueError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A queue name that could not safely become a directory name. */
export class InvalidQueueNameError extends QueueError {
  constructor(readonly queue: string) {
    super('SY_QUEUE_NAME', `invalid queue name ${JSON.stringify(queue)}: use 1-32 of a-z, 0-9, '-' or '_', starting with a letter`);
  }
}

/** An entry id that is not `<seconds>.<micros>+<40 hex sha1>`. */
export class InvalidEntryIdError extends QueueError {
  constructor(readonly id: string) {
    super('SY_QUEUE_ENTRY_ID', `invalid queue entry id ${JSON.stringify(id)}: expected <seconds>.<microseconds>+<40 hex digits>`);
  }
}

/** Bad construction options (slice numbers, restore limits). */
export class QueueOptionsError extends QueueError {
  constructor(message: string) {
    super('SY_QUEUE_OPTIONS', message);
  }
}

/** The entry is not where it was looked for: finished, moved or taken by another process. */
export class EntryNotFoundError extends QueueError {
  constructor(readonly queue: string, readonly id: string, readonly state: string) {
    super('SY_QUEUE_ENTRY_MISSING', `no ${state} entry ${id} in queue ${queue}`);
  }
}

/**
 * A queue file that could not be decoded. By the time this is thrown the file
 * has already been quarantined in `bad` (as `quarantinedId`) with `reason`, so
 * the caller only has to move on to the next entry.
 */
export class CorruptEntryError extends QueueError {
  constructor(
    readonly queue: string,
    readonly id: string,
    readonly reason: string,
  ) {
    super('SY_QUEUE_CORRUPT', `queue ${queue} entry ${id} is corrupt (${reason}); quarantined in bad`);
  }
}

/** The file content itself is malformed; raised by the decoder, before quarantine. */
export class FileFormatError extends QueueError {
  constructor(message: string) {
    super('SY_QUEUE_FORMAT', message);
  }
}
