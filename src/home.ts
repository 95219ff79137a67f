/**
 * The home directory: everything switchyard keeps on disk lives below it.
 *
 *     <home>/switchyard.toml   configuration (optional; embedded defaults serve)
 *     <home>/queues/<queue>/   the switchboards
 *     <home>/logs/             one log file per runner and the master's
 *     <home>/master.lock       the running master (host, pid, start time)
 *     <home>/master.sock       the master's status socket
 *     <home>/switchyard.db     the list store: lists, members, held messages (SQLite, 0660)
 *
 * Chosen by `--home DIR`, else SWITCHYARD_HOME, else `./var`.
 */
import { mkdir, stat } from 'node:fs/promises';
import { resolve, join } from 'node:path';

export const DEFAULT_HOME = './var';

export function resolveHome(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? env.SWITCHYARD_HOME ?? DEFAULT_HOME);
}

export interface HomePaths {
  home: string;
  config: string;
  queues: string;
  logs: string;
  lock: string;
  socket: string;
  store: string;
}

export function homePaths(home: string): HomePaths {
  return {
    home,
    config: join(home, 'switchyard.toml'),
    queues: join(home, 'queues'),
    logs: join(home, 'logs'),
    lock: join(home, 'master.lock'),
    socket: join(home, 'master.sock'),
    store: join(home, 'switchyard.db'),
  };
}

export class HomeMissingError extends Error {
  readonly code = 'SY_HOME_MISSING';
  constructor(readonly home: string) {
    super(`home directory ${home} does not exist: create it (owned by the switchyard user) or pass --home / set SWITCHYARD_HOME`);
    this.name = 'HomeMissingError';
  }
}

/**
 * The embedded default home (`./var`) is created on first use, so that
 * `npm start` works on a fresh checkout; any other must exist, since a typo
 * in --home should not silently start an empty spool.
 */
export async function ensureHome(home: string): Promise<void> {
  try {
    if (!(await stat(home)).isDirectory()) throw new HomeMissingError(home);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (home !== resolveHome(DEFAULT_HOME, {})) throw new HomeMissingError(home);
    await mkdir(home, { recursive: true, mode: 0o770 });
  }
}
