/**
 * Errors of the master's lock and control socket, each with a stable `code`
 * (documented in the README's error table). The CLI maps them to exit codes:
 * MasterNotRunningError is exit 3, the others exit 1.
 */
import { EXIT_NOT_RUNNING, SwitchyardError } from '../errors.js';
import type { LockInfo } from './protocol.js';

/** The family of the master's errors (`instanceof MasterError`); code, temporary and exit code as SwitchyardError. */
export class MasterError extends SwitchyardError {}

/** A live master on this host holds `master.lock`. */
export class MasterRunningError extends MasterError {
  constructor(readonly home: string, readonly holder: LockInfo) {
    super(
      'SY_MASTER_RUNNING',
      `a master is already running for ${home} (pid ${holder.pid} on host ${holder.host} since ${holder.startedAt}); use \`switchyard stop\` first`,
    );
  }
}

/** `master.lock` names another host: whether that master lives cannot be checked from here. */
export class ForeignLockError extends MasterError {
  constructor(readonly home: string, readonly holder: LockInfo) {
    super(
      'SY_MASTER_FOREIGN_LOCK',
      `${home} is locked by a master on host ${holder.host} (pid ${holder.pid} since ${holder.startedAt}); ` +
        `if that master is really gone, start again with --force`,
    );
  }
}

/** Other processes kept replacing `master.lock` while we tried to take it. */
export class LockBusyError extends MasterError {
  constructor(readonly lockPath: string, attempts: number) {
    super('SY_MASTER_LOCK_BUSY', `could not take ${lockPath}: it changed under us ${attempts} times (several masters starting at once?); try again`);
  }
}

/** Nothing answers on `master.sock`, or no live master holds the lock. */
export class MasterNotRunningError extends MasterError {
  constructor(readonly home: string, detail?: string) {
    super('SY_MASTER_NOT_RUNNING', `no master is running for ${home}${detail ? ` (${detail})` : ''}`, { exitCode: EXIT_NOT_RUNNING });
  }
}

/** The master's socket accepted us but gave no usable answer in time. */
export class MasterAnswerError extends MasterError {
  constructor(readonly socketPath: string, problem: string) {
    super('SY_MASTER_ANSWER', `the master on ${socketPath} ${problem}`);
  }
}

/**
 * This user may not connect to `master.sock` (EACCES/EPERM): the message says
 * who we are, who owns the home and the socket, and what to do, since a bare
 * `connect EACCES` leaves an operator guessing.
 */
export class MasterAccessError extends MasterError {
  constructor(readonly socketPath: string, explanation: string, options?: { cause?: unknown }) {
    super('SY_MASTER_ACCESS', explanation, options);
  }
}
