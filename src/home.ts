/**
 * The home directory: everything switchyard keeps on disk lives below it.
 *
 *     <home>/switchyard.toml   configuration (optional; embedded defaults serve)
 *     <home>/queues/<queue>/   the switchboards
 *     <home>/logs/             one log file per runner and the master's
 *     <home>/master.lock       the running master (host, pid, start time)
 *     <home>/master.sock       the master's status socket
 *     <home>/switchyard.db     the list store: lists, members, held messages (SQLite, 0660)
 *     <home>/config-cache.json the validated configuration, for `inject` (0600; see src/config/config-cache.ts)
 *
 * Which home (`findHome`), in this order, as an installed daemon looks for
 * its state (Postfix's `queue_directory`, Mailman's `var_dir`):
 *
 *   1. `--home DIR`
 *   2. `$SWITCHYARD_HOME`
 *   3. `./var`, when it exists (a checkout, where `npm start` created it)
 *   4. `/var/lib/switchyard`, when it exists (an installed system)
 *   5. otherwise `./var`, which only `start` creates (so that `npm start`
 *      works on a fresh checkout); every other command refuses a home that
 *      does not exist (HomeMissingError), since a command run from the wrong
 *      directory must not work on a new, empty store and say "no lists".
 *
 * Node built-ins only: `inject` imports this before anything else.
 */
import { SwitchyardError } from './errors.js';
import { readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve, join } from 'node:path';

export const DEFAULT_HOME = './var';
export const SYSTEM_HOME = '/var/lib/switchyard';

export type HomeSource = '--home' | 'SWITCHYARD_HOME' | './var' | typeof SYSTEM_HOME | 'default';

export interface HomeChoice {
  home: string;
  /** Which step of the search order gave it. */
  source: HomeSource;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The home by the search order of the module comment. `where` is for tests. */
export function findHome(option?: string, env: NodeJS.ProcessEnv = process.env, where: { cwd?: string; systemHome?: string } = {}): HomeChoice {
  const cwd = where.cwd ?? process.cwd();
  if (option !== undefined) return { home: resolve(cwd, option), source: '--home' };
  if (env.SWITCHYARD_HOME !== undefined && env.SWITCHYARD_HOME !== '') return { home: resolve(cwd, env.SWITCHYARD_HOME), source: 'SWITCHYARD_HOME' };
  const local = resolve(cwd, DEFAULT_HOME);
  if (isDirectory(local)) return { home: local, source: './var' };
  const system = where.systemHome ?? SYSTEM_HOME;
  if (isDirectory(system)) return { home: system, source: SYSTEM_HOME };
  return { home: local, source: 'default' };
}

export function resolveHome(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return findHome(option, env).home;
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

export class HomeMissingError extends SwitchyardError {
  constructor(readonly home: string, what = 'no switchyard home') {
    // The fallback of the search: say where else was looked, and who would create it.
    const searched = home === resolve(DEFAULT_HOME) ? ` (nor at ${SYSTEM_HOME}; only \`switchyard start\` creates ./var)` : '';
    super('SY_HOME_MISSING', `${what} at ${home}: pass --home or set SWITCHYARD_HOME${searched}`);
  }
}

/**
 * Every command but `start`: the home must exist (HomeMissingError, or
 * HomeAccessError when it cannot even be looked at).
 */
export function requireHome(home: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(home).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new HomeMissingError(home);
    throw accessError(error, home) ?? error;
  }
  if (!isDir) throw new HomeMissingError(home, 'not a directory, so no switchyard home');
}

/**
 * `start`: the embedded default home (`./var`) is created on first use,
 * 0750 (the switchyard user writes, its group reads, nobody else looks), so
 * that `npm start` works on a fresh checkout; any other must exist, since a
 * typo in --home should not silently start an empty spool.
 */
export async function ensureHome(home: string): Promise<void> {
  try {
    requireHome(home);
  } catch (error) {
    if (!(error instanceof HomeMissingError) || home !== resolve(DEFAULT_HOME)) throw error;
    try {
      await mkdir(home, { recursive: true, mode: 0o750 });
    } catch (mkdirError) {
      // `./var` is a file: the HomeMissingError says so better than EEXIST.
      if ((mkdirError as NodeJS.ErrnoException).code === 'EEXIST') throw error;
      throw accessError(mkdirError, home) ?? mkdirError;
    }
  }
}

/**
 * Permission denied somewhere in the home: which file, who owns the home,
 * and what to do, instead of Node's bare `EACCES: permission denied, open ...`.
 */
export class HomeAccessError extends SwitchyardError {
  constructor(readonly home: string, readonly path: string, cause: unknown) {
    super('SY_HOME_ACCESS', homeAccessMessage(home, path, String((cause as { code?: unknown } | undefined)?.code ?? 'EACCES')), { cause });
  }
}

/** The user name of `uid` from /etc/passwd (Node has no getpwuid), else `uid N`. */
function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[2] === String(uid) && fields[0]) return fields[0];
    }
  } catch {
    // No /etc/passwd to read: the uid serves.
  }
  return `uid ${uid}`;
}

function homeAccessMessage(home: string, path: string, code: string): string {
  let owner: number | undefined;
  try {
    owner = statSync(home).uid;
  } catch {
    owner = undefined;
  }
  const me = process.getuid?.();
  const problem = `permission denied on ${path} (${code})`;
  if (owner === undefined) return `${problem}: this user (${me === undefined ? 'unknown' : userName(me)}) cannot reach the home ${home}; run switchyard as the user who owns it, or fix the modes of its parent directories`;
  const name = userName(owner);
  if (owner === me) return `${problem}: the home ${home} is yours (${name}), but that file is not readable or writable by you; fix its owner or mode (chown ${name} / chmod u+rw)`;
  return `${problem}: the home ${home} belongs to ${name}, and this command runs as ${me === undefined ? 'another user' : userName(me)}; run it as that user (sudo -u ${name} switchyard ...) or add yourself to the home's group`;
}

const ACCESS_CODES = new Set(['EACCES', 'EPERM']);
/** What SQLite says when it cannot open or write the database file. */
const SQLITE_ACCESS_CODES = new Set(['SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_READONLY_DIRECTORY', 'SQLITE_PERM', 'SQLITE_AUTH']);

/** A HomeAccessError for a permission error met in `home`, or undefined for any other error. */
export function accessError(error: unknown, home: string): HomeAccessError | undefined {
  if (error instanceof HomeAccessError) return error;
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown };
  if (typeof code !== 'string') return undefined;
  if (ACCESS_CODES.has(code)) return new HomeAccessError(home, typeof path === 'string' ? path : home, error);
  if (SQLITE_ACCESS_CODES.has(code)) return new HomeAccessError(home, join(home, 'switchyard.db'), error);
  return undefined;
}
