/**
 * A cache of the validated configuration, for `switchyard inject`: one
 * process per message cannot afford to load zod and validate
 * switchyard.toml each time (about half of its start-up). The cache is the
 * LoadedConfig that loadConfig() returned, as JSON, with the key it is valid
 * for:
 *
 *   - the configuration file: device, inode, size, mtime and ctime (ns), or
 *     its absence. Any write, rename over it, chmod or `touch` changes the
 *     ctime at least, so a changed file is never served from the cache;
 *   - the code that validates it: the same facts of every module of the
 *     schema (CONFIG_MODULES), so an upgrade with new defaults re-validates.
 *
 * A file changed within RACY_MS of now is not cached (as git's "racily
 * clean" index entries): two writes within one tick of the file system's
 * clock leave the same mtime and ctime, and the cache of the first must not
 * answer for the second. An invalid configuration is never cached: every
 * call re-validates it and throws ConfigError, as loadConfig() does.
 *
 * Files: `<home>/config-cache.json`, mode 0600 (it holds what the TOML file
 * holds, smtp.password included), written to a temporary file beside it
 * (`config-cache.json.PID.tmp`, 0600, exclusive create) and renamed over
 * it. Killed before the rename: a temporary file is left, ignored, and
 * overwritten by no one (the next writer has another pid; `queue` tempfile
 * cleanup does not look here, so it stays until removed by hand, one small
 * file). Torn or garbage content after a power cut: it fails to parse or
 * its key does not match, and the file is validated afresh. Written only by
 * the home's owner, so that root (or another user) running a command never
 * leaves a cache the runners' user cannot replace.
 *
 * In inject's bundle (src/build/bundle-cli.ts) this module's import.meta.url
 * is still its own dist/ file's, so CONFIG_MODULES name the same files and
 * a bundled and an unbundled inject share one cache (test/cli/bundle.test.ts).
 *
 * Node built-ins only; load.js (zod) is imported on a miss.
 */
import { statSync } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from './load.js';

export const CONFIG_CACHE_NAME = 'config-cache.json';
const FORMAT = 1;

/** A file changed this recently (ms) may change again within the same timestamp: not cached. */
export const RACY_MS = 2_000;

/**
 * Every module the validated configuration depends on (load.ts's imports,
 * transitively, and this file for the cache format), relative to this one.
 * test/config/config-cache.test.ts checks the list against the imports.
 */
export const CONFIG_MODULES: readonly string[] = [
  './config-cache.js',
  './load.js',
  './schema.js',
  './knob-types.js',
  './duration.js',
  './smtp-schema.js',
  './auth-schema.js',
  './dkim-schema.js',
  './dns-schema.js',
  '../errors.js',
  '../mail/ban-pattern.js',
  '../mail/ban-match.js',
  '../mail/address-syntax.js',
  '../mail/dkim/dns-record.js',
  '../ingress/ingress-schema.js',
  '../mta/mta-schema.js',
  '../http/http-schema.js',
  '../../runners/builtin.js',
  '../../runners/incoming/options.js',
  '../../runners/queue-ids.js',
  '../../queues/directory-sync.js',
  '../../queues/durable-file.js',
  '../../queues/entry-id-list.js',
  '../../queues/entry-id.js',
  '../../queues/entry-names.js',
  '../../queues/errors.js',
  '../../queues/file-format.js',
  '../../queues/json.js',
  '../../queues/queue-file.js',
  '../../queues/slice-watcher.js',
  '../../queues/slice.js',
  '../../queues/switchboard.js',
];

interface CacheFile {
  format: number;
  key: string;
  loaded: LoadedConfig;
}

export interface ConfigCacheOptions {
  /** The home's directory (where the cache lives). */
  home: string;
  /** The configuration file (`<home>/switchyard.toml`). */
  file: string;
  /** Wall clock in ms; tests move it. */
  now?: () => number;
}

/** The identity of a file as far as caching goes, or `absent`. Synchronous: some thirty stats cost less than as many trips through the thread pool. */
function fileFacts(path: string): string {
  try {
    const facts = statSync(path, { bigint: true });
    return [facts.dev, facts.ino, facts.size, facts.mtimeNs, facts.ctimeNs].join(':');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
}

/** The newer of the file's mtime and ctime in ms, or undefined when absent. */
async function changedAt(path: string): Promise<number | undefined> {
  try {
    const facts = await stat(path);
    return Math.max(facts.mtimeMs, facts.ctimeMs);
  } catch {
    return undefined;
  }
}

/** The cache key of `file` with today's code. */
export async function configCacheKey(file: string): Promise<string> {
  const code = CONFIG_MODULES.map((module) => fileFacts(fileURLToPath(new URL(module, import.meta.url))));
  return JSON.stringify({ file, facts: fileFacts(file), code });
}

async function readCache(path: string): Promise<CacheFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<CacheFile> | null;
    if (parsed === null || typeof parsed !== 'object' || parsed.format !== FORMAT || typeof parsed.key !== 'string' || typeof parsed.loaded !== 'object' || parsed.loaded === null) return undefined;
    return parsed as CacheFile;
  } catch {
    // Absent, unreadable (another user's home), torn or garbage: validate afresh.
    return undefined;
  }
}

/** Write `content` to `path` atomically, mode 0600; false when it could not (best effort: a cache). */
async function writeAtomically(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    return true;
  } catch {
    await unlink(temp).catch(() => undefined);
    return false;
  }
}

/** Whether this process may write the cache: it runs as the home's owner. */
async function ownsHome(home: string): Promise<boolean> {
  const uid = process.getuid?.();
  if (uid === undefined) return false;
  try {
    return (await stat(home)).uid === uid;
  } catch {
    return false;
  }
}

/**
 * loadConfig(file), served from the cache when the file and the code are
 * those it was made from; otherwise validated (throwing ConfigError as
 * loadConfig does) and, when valid and not racy, cached.
 */
export async function loadConfigCached(options: ConfigCacheOptions): Promise<LoadedConfig> {
  const cachePath = join(options.home, CONFIG_CACHE_NAME);
  const key = await configCacheKey(options.file);
  const cached = await readCache(cachePath);
  if (cached !== undefined && cached.key === key) return cached.loaded;

  const { loadConfig } = await import('./load.js');
  const loaded = await loadConfig(options.file);
  const now = (options.now ?? Date.now)();
  const changed = await changedAt(options.file);
  // Re-read the key: a file changed while it was being validated must not be cached under the old key.
  if ((changed === undefined || changed < now - RACY_MS) && (await configCacheKey(options.file)) === key && (await ownsHome(options.home))) {
    await writeAtomically(cachePath, JSON.stringify({ format: FORMAT, key, loaded } satisfies CacheFile));
  }
  return loaded;
}

/** The cache file of a home (for `home.ts`'s layout and the tests). */
export function configCachePath(home: string): string {
  return join(home, CONFIG_CACHE_NAME);
}
