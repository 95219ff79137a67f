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
