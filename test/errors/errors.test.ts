/**
 * The one base error (src/errors.ts): code, temporary and exit code on every
 * family, the queue layer's by shape; isTemporary() as the runners and
 * ingress read it; the one errno reading (a full disk); and the classes
 * agreeing with what src/error-table.ts says of their codes.
 */
import { describe, expect, it } from 'vitest';
import { EntryNotFoundError, QueueError, UnknownEntryError } from '../../queues/index.js';
import { RunnerError, TaskTimeoutError, TemporaryFailure } from '../../runners/errors.js';
import { unknownListError } from '../../runners/incoming/errors.js';
import { CliError } from '../../src/cli/exit-codes.js';
import { ConfigError } from '../../src/config/load.js';
import { ERROR_TABLE } from '../../src/error-table.js';
import {
  EXIT_ERROR,
  EXIT_NOT_RUNNING,
  EXIT_USAGE,
  errorCode,
  isStorageExhausted,
  isSwitchyardError,
  isTemporary,
  SwitchyardError,
  type SwitchyardErrorShape,
} from '../../src/errors.js';
import { HomeMissingError } from '../../src/home.js';
import { classifyIngressError, EmptyMessageError, MessageTooLargeError } from '../../src/ingress/errors.js';
import { HeaderValueError } from '../../src/mail/header-field.js';
import { RecipientUnknownError } from '../../src/ingress/routing.js';
import { MasterError, MasterNotRunningError } from '../../src/master/errors.js';
import { HeaderSettingError } from '../../src/store/header-settings.js';
import { AddressInvalidError, ListNameInvalidError, ListSettingError, ListUnknownError, StoreBusyError, StoreCorruptError, StoreError } from '../../src/store/errors.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, write`), { code });
}

describe('SwitchyardError', () => {
  it('carries code, temporary (default false), exit code (default 1), cause, and the subclass name', () => {
    const cause = new Error('below');
    const plain = new SwitchyardError('SY_COMMAND_FAILED', 'no');
    expect(plain).toMatchObject({ code: 'SY_COMMAND_FAILED', message: 'no', temporary: false, exitCode: EXIT_ERROR, name: 'SwitchyardError' });
    const busy = new StoreBusyError('/h/switchyard.db', cause);
    expect(busy).toBeInstanceOf(StoreError);
    expect(busy).toBeInstanceOf(SwitchyardError);
    expect(busy).toMatchObject({ code: 'SY_STORE_BUSY', temporary: true, name: 'StoreBusyError', cause });
  });

  it('is the base of every family: store, runners, master, config, home, mail, ingress, CLI', () => {
    const errors: Error[] = [
      new ListUnknownError('x@example.org'),
      new TemporaryFailure('later'),
      new MasterNotRunningError('/h'),
      new ConfigError('/h/switchyard.toml', ['x: bad']),
      new HomeMissingError('/nowhere'),
      new HeaderValueError('Subject', 'contains a line feed (LF)'),
      new RecipientUnknownError('a@b', 'no such list'),
      new EmptyMessageError(),
      new CliError('refused'),
    ];
    for (const error of errors) expect(error, error.name).toBeInstanceOf(SwitchyardError);
    expect(new MasterNotRunningError('/h')).toBeInstanceOf(MasterError);
  });

  it('has a QueueError of the same shape, though queues/ cannot import it', () => {
    const error = new EntryNotFoundError('in', 'id', 'pck');
    expect(error).toBeInstanceOf(QueueError);
    expect(error).not.toBeInstanceOf(SwitchyardError);
    expect(isSwitchyardError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'SY_QUEUE_ENTRY_MISSING', temporary: false, exitCode: EXIT_ERROR });
    expect(errorCode(new UnknownEntryError('id'))).toBe('SY_QUEUE_ENTRY_UNKNOWN');
  });

  it('gives anything else the code SY_INTERNAL', () => {
    expect(isSwitchyardError(new TypeError('x is undefined'))).toBe(false);
    expect(errorCode(new TypeError('x is undefined'))).toBe('SY_INTERNAL');
    expect(errorCode('a string')).toBe('SY_INTERNAL');
    expect(isSwitchyardError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
  });
});

describe('isTemporary', () => {
  it('reads the temporary flag, whatever the class: TemporaryFailure, a busy or damaged store, a deferred oversize message', () => {
    expect(isTemporary(new TemporaryFailure('451 later'))).toBe(true);
    expect(isTemporary(new RunnerError('SY_TEMPFAIL', 'x', { temporary: true }))).toBe(true);
    expect(isTemporary(new StoreBusyError('/db', undefined))).toBe(true);
    expect(isTemporary(new StoreCorruptError('/db', 'SQLITE_CORRUPT'))).toBe(true);
    expect(isTemporary(new MessageTooLargeError(10, false))).toBe(true);
    expect(isTemporary(new MessageTooLargeError(10, true))).toBe(false);
    expect(isTemporary(new TaskTimeoutError('parse', 10))).toBe(false);
    expect(isTemporary(new ListUnknownError('x@example.org'))).toBe(false);
    expect(isTemporary(errno('ENOSPC'))).toBe(false);
    expect(isTemporary(undefined)).toBe(false);
  });
});

describe('isStorageExhausted (the one errno reading)', () => {
  it('is true for ENOSPC and EDQUOT only', () => {
    expect(isStorageExhausted(errno('ENOSPC'))).toBe(true);
    expect(isStorageExhausted(errno('EDQUOT'))).toBe(true);
    for (const code of ['EIO', 'EACCES', 'ENOENT', 'SY_STORE_BUSY']) expect(isStorageExhausted(errno(code)), code).toBe(false);
    expect(isStorageExhausted(new Error('no code'))).toBe(false);
    expect(isStorageExhausted(null)).toBe(false);
  });
});

describe('ingress decides from temporary', () => {
  it('permanent only for the sender\'s own problems; a full disk is temporary with storage set; anything else of ours temporary', () => {
    expect(classifyIngressError(new RecipientUnknownError('a@b', 'no such list')).kind).toBe('unknown-recipient');
    expect(classifyIngressError(new EmptyMessageError()).kind).toBe('empty');
    expect(classifyIngressError(new MessageTooLargeError(10, true)).kind).toBe('too-large');
    expect(classifyIngressError(new MessageTooLargeError(10, false))).toMatchObject({ kind: 'temporary', storage: false });
    expect(classifyIngressError(errno('ENOSPC'))).toMatchObject({ kind: 'temporary', storage: true });
    expect(classifyIngressError(errno('EDQUOT'))).toMatchObject({ kind: 'temporary', storage: true });
    expect(classifyIngressError(new StoreBusyError('/db', undefined))).toMatchObject({ kind: 'temporary', storage: false });
    // Permanent for a command line, but our trouble for mail: never a 5xx.
    expect(classifyIngressError(new ListSettingError('x', 'bad')).kind).toBe('temporary');
    expect(classifyIngressError(new TypeError('a bug')).kind).toBe('temporary');
  });
});

describe('the classes and the table agree', () => {
  it('on temporary and the exit code of each code thrown here', () => {
    const samples: SwitchyardErrorShape[] = [
      new StoreBusyError('/db', undefined),
      new StoreCorruptError('/db', 'SQLITE_NOTADB'),
      new TemporaryFailure('later'),
      new ListUnknownError('x@example.org'),
      unknownListError(undefined, 'in'),
      new ListNameInvalidError('x', 'bad'),
      new AddressInvalidError('x', 'bad'),
      new ListSettingError('k', 'bad'),
      new HeaderSettingError('subjectPrefix', 'contains a line feed (LF)'),
      new HeaderValueError('Subject', 'bad'),
      new MasterNotRunningError('/h'),
      new ConfigError('/f', ['x']),
      new HomeMissingError('/nowhere'),
      new EntryNotFoundError('in', 'id', 'pck'),
      new UnknownEntryError('id'),
      new TaskTimeoutError('parse', 10),
      new RecipientUnknownError('a@b', 'no'),
      new EmptyMessageError(),
      new CliError('refused'),
    ];
    for (const error of samples) {
      const entry = ERROR_TABLE[error.code];
      expect(entry, error.code).toBeDefined();
      expect(error.temporary, error.code).toBe(entry!.temporary);
      expect(error.exitCode, error.code).toBe(entry!.exitCode);
    }
    expect(new MasterNotRunningError('/h').exitCode).toBe(EXIT_NOT_RUNNING);
    expect(new ListSettingError('k', 'bad').exitCode).toBe(EXIT_USAGE);
    // Set by the setting: permanent with 'reject', temporary with 'defer'.
    expect(ERROR_TABLE.SY_MESSAGE_TOO_LARGE!.temporary).toBe('setting');
  });

  it('an unknown list is one code and one class wherever it is found: the store, or a runner\'s entry', () => {
    const fromRunner = unknownListError('gone@example.org', 'in');
    expect(fromRunner).toBeInstanceOf(ListUnknownError);
    expect(fromRunner.code).toBe('SY_LIST_UNKNOWN');
    expect(fromRunner.message).toContain('no list gone@example.org for this in entry');
  });

  it('a CliError rewording another error keeps its code and temporary flag', () => {
    const busy = new StoreBusyError('/db', undefined);
    const worded = CliError.of(busy, 'busy; looked in the home /h');
    expect(worded).toMatchObject({ code: 'SY_STORE_BUSY', temporary: true, exitCode: EXIT_ERROR, cause: busy });
    expect(CliError.of(new TypeError('x'), 'x').code).toBe('SY_COMMAND_FAILED');
    expect(new CliError('--yes needed', EXIT_USAGE)).toMatchObject({ code: 'SY_COMMAND_FAILED', exitCode: EXIT_USAGE });
  });
});
