/**
 * Errors of the list store. Each carries a stable `code` (documented in the
 * README's error table). `temporary` says what a caller that handles mail
 * should do: a busy or unreachable store is trouble of our own, so ingress
 * answers 4xx / exits 75 (EX_TEMPFAIL) and a runner retries; everything else
 * is permanent for the request that caused it. An invalid address, list
 * name or setting is a usage error on the command line (exit 2).
 */
import { EXIT_USAGE, SwitchyardError } from '../errors.js';

/** The family of the store's errors (`instanceof StoreError`); code, temporary and exit code as SwitchyardError. */
export class StoreError extends SwitchyardError {}

/** Not a valid email address; `reason` says which rule it breaks. */
export class AddressInvalidError extends StoreError {
  constructor(readonly address: string, readonly reason: string) {
    super('SY_ADDRESS_INVALID', `invalid address ${JSON.stringify(address)}: ${reason}`, { exitCode: EXIT_USAGE });
  }
}

/** Not a valid list posting address (`name@domain`, name restricted so it is safe in paths). */
export class ListNameInvalidError extends StoreError {
  constructor(readonly address: string, readonly reason: string) {
    super('SY_LIST_NAME_INVALID', `invalid list address ${JSON.stringify(address)}: ${reason}`, { exitCode: EXIT_USAGE });
  }
}

/**
 * No such list. The one error for it wherever the lookup happens (the CLI,
 * the runners, routing): `message` replaces the default where the caller
 * knows more (a queue entry that names no list at all: `list` is then '').
 */
export class ListUnknownError extends StoreError {
  constructor(readonly list: string, message?: string) {
    super('SY_LIST_UNKNOWN', message ?? `no list ${list} (\`switchyard lists list\` shows them)`);
  }
}

export class ListExistsError extends StoreError {
  constructor(readonly list: string) {
    super('SY_LIST_EXISTS', `list ${list} already exists`);
  }
}

/** A list setting that does not exist, or a value it does not accept. */
export class ListSettingError extends StoreError {
  constructor(readonly key: string, problem: string) {
    super('SY_LIST_SETTING', `list setting ${key}: ${problem}`, { exitCode: EXIT_USAGE });
  }
}

export class MemberExistsError extends StoreError {
  constructor(readonly list: string, readonly address: string, readonly role: string) {
    super('SY_MEMBER_EXISTS', `${address} is already ${role === 'member' ? 'a member' : `an ${role}`} of ${list}`);
  }
}

export class MemberUnknownError extends StoreError {
  constructor(readonly list: string, readonly address: string, readonly role: string) {
    super('SY_MEMBER_UNKNOWN', `${address} is not ${role === 'member' ? 'a member' : `an ${role}`} of ${list}`);
  }
}

export class HeldMessageUnknownError extends StoreError {
  constructor(readonly id: number) {
    super('SY_HELD_UNKNOWN', `no held message ${id}`);
  }
}

export class PendingRequestUnknownError extends StoreError {
  constructor(readonly list: string, readonly id: number) {
    super('SY_REQUEST_UNKNOWN', `no pending request ${id} on ${list} (\`switchyard requests list ${list}\` shows them)`);
  }
}

/** A held message kept by a reference (`queueRef`) this switchyard cannot read back. */
export class HeldMessageUnreadableError extends StoreError {
  constructor(readonly id: number, readonly queueRef: string | null) {
    super('SY_HELD_UNREADABLE', `held message ${id} is kept as ${queueRef ?? '?'}, which this switchyard cannot read`);
  }
}

/**
 * The one temporary failure of the store, whichever backend: SQLite's
 * database stayed locked by another process longer than the busy timeout
 * (`store.busyTimeout`); PostgreSQL gave up a transaction (serialization
 * failure 40001, deadlock 40P01, after a few quick retries), could not be
 * reached, lost the connection, or is shutting down or starting (57P01,
 * 57P03). Temporary: try again later; the pool opens new connections.
 * `why` replaces the SQLite wording for PostgreSQL's reasons.
 */
export class StoreBusyError extends StoreError {
  constructor(readonly file: string, cause: unknown, why = 'busy (locked by another process)') {
    super('SY_STORE_BUSY', `the list store ${file} is ${why}; try again later`, { cause, temporary: true });
  }
}

/**
 * A PostgreSQL store whose schema is older than this switchyard (or empty):
 * PostgreSQL is migrated by the operator, never by whichever process opens it
 * first, because several hosts share it. Temporary, so no mail is refused or
 * lost meanwhile: it waits in `retry` until the migration is run.
 */
export class StoreMigrationNeededError extends StoreError {
  constructor(readonly location: string, readonly found: number, readonly expected: number) {
    super(
      'SY_STORE_MIGRATE',
      `the list store ${location} has schema version ${found}, older than this switchyard's (${expected}): run \`switchyard store migrate\``,
      { temporary: true },
    );
  }
}

/** `[store] url` is not a URL switchyard can open (postgres://... or sqlite:PATH). */
export class StoreUrlError extends StoreError {
  constructor(readonly url: string, problem: string) {
    super('SY_STORE_URL', `store url ${JSON.stringify(url)}: ${problem}`, { exitCode: EXIT_USAGE });
  }
}

/** The database was written by a newer switchyard, or its schema is damaged. */
export class StoreSchemaError extends StoreError {
  constructor(readonly file: string, problem: string) {
    super('SY_STORE_SCHEMA', `the list store ${file} ${problem}`);
  }
}

/**
 * SQLite found `switchyard.db` damaged (SQLITE_CORRUPT) or not a database
 * at all (SQLITE_NOTADB). Temporary for mail: nothing can be routed or held
 * until an operator recovers the file, but the mail is safe meanwhile
 * (ingress answers 4xx / exits 75, runners send entries to `retry`). The
 * message says what to do; the README has the steps.
 */
export class StoreCorruptError extends StoreError {
  constructor(readonly file: string, readonly sqliteCode: string, cause?: unknown) {
    super(
      'SY_STORE_CORRUPT',
      `the list store ${file} is damaged (${sqliteCode}): stop switchyard, recover the file or restore a backup (README "Recovering a damaged list store"); mail waits in the queues meanwhile`,
      { cause, temporary: true },
    );
  }
}

/** A held message given neither or both of a queue reference and the raw bytes (a caller's bug). */
export class HeldMessageInvalidError extends StoreError {
  constructor() {
    super('SY_HELD_INVALID', 'a held message needs exactly one of queueRef and raw');
  }
}

/** A digest issue that is gone (its list was removed while it was being sent). */
export class DigestIssueUnknownError extends StoreError {
  constructor(readonly issueId: number) {
    super('SY_DIGEST_ISSUE_UNKNOWN', `no digest issue ${issueId} (its list was removed)`);
  }
}

/** A call on a store after close() (a process shutting down while a call was still queued). */
export class StoreClosedError extends StoreError {
  constructor(readonly location: string) {
    super('SY_STORE_CLOSED', `the list store ${location} was closed`);
  }
}
