/**
 * Errors of the queue layer. Each carries a stable `code` (documented in the
 * README's error table) and the facts an operator needs: which queue, which
 * entry, which file.
 */

/**
 * The base of the queue layer's errors. It has the shape of switchyard's one
 * base error (src/errors.ts SwitchyardError: `code`, `temporary`,
 * `exitCode`) without extending it, because `queues/` is a standalone library
 * that imports nothing from the mail server; switchyard reads these fields
 * by shape (isSwitchyardError, isTemporary), so a QueueError is handled like
 * any other of its errors. No queue error is temporary: each says what is
 * wrong with a name, an id or a file, which waiting does not change.
 */
export class QueueError extends Error {
  readonly code: string;
  readonly temporary: boolean = false;
  /** What a command line ends with when this error ends it: 1, "the command ran and failed". */
  readonly exitCode: number = 1;

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

/**
 * A queue file that cannot be read for a reason other than its content: not
 * a regular file (a directory, a FIFO, a link), no permission, an I/O error.
 * Raised by queue-file.ts before the entry is set aside; `reason` says what
 * was found in an operator's words, `errno` the system's code (ENOTREG for a
 * FIFO, socket or device, which have none).
 */
export class UnreadableFileError extends QueueError {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly errno: string,
    options?: { cause?: unknown },
  ) {
    super('SY_QUEUE_FILE_UNREADABLE', `cannot read queue file ${path}: ${reason}`, options);
  }
}

/**
 * An entry whose file cannot be read (UnreadableFileError). By the time this
 * is thrown it has been set aside in `bad` (`setAside` true: the file itself
 * renamed beside a record of the reason), or, when even that rename failed,
 * left where it was (`setAside` false, `leftAt` its path): either way the
 * caller goes on to the next entry.
 */
export class UnreadableEntryError extends QueueError {
  constructor(
    readonly queue: string,
    readonly id: string,
    readonly reason: string,
    readonly setAside: boolean,
    readonly leftAt?: string,
    /** The system's code behind it (UnreadableFileError.errno), for a short summary. */
    readonly errno?: string,
  ) {
    super(
      'SY_QUEUE_UNREADABLE',
      setAside
        ? `queue ${queue} entry ${id} cannot be read (${reason}); set aside in bad`
        : `queue ${queue} entry ${id} cannot be read (${reason}) and could not be set aside; left at ${leftAt ?? 'its place'}`,
    );
  }
}
