/**
 * The configuration cache of `inject` (src/config/config-cache.ts): real
 * files in a temp home, the clock moved past the racy window instead of
 * waiting. What matters most: a changed or invalid switchyard.toml is never
 * answered from the cache, even when it keeps its size and mtime.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_MODULES, configCachePath, loadConfigCached, RACY_MS } from '../../src/config/config-cache.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

let home: string;
let file: string;
const later = (): number => Date.now() + RACY_MS + 1_000;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-config-cache-'));
  file = join(home, 'switchyard.toml');
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A whole second a minute ago: utimes() keeps it exactly (a Date would lose the file's nanoseconds). */
const OLD_MTIME = Math.floor(Date.now() / 1000) - 60;

/** Write the file and give it OLD_MTIME. */
async function writeOld(content: string): Promise<void> {
  await writeFile(file, content);
  await utimes(file, OLD_MTIME, OLD_MTIME);
}

/** Put `content` in the file in place (same inode, same size), then give it back its mtime: only ctime tells. */
async function rewriteKeepingMtime(content: string): Promise<void> {
  const before = await stat(file, { bigint: true });
  await writeOld(content);
  const after = await stat(file, { bigint: true });
  expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
}

/** Rewrite the cached configuration's umask to a value no file says: seeing it proves the cache answered. */
async function markCache(): Promise<void> {
  const cache = JSON.parse(await readFile(configCachePath(home), 'utf8')) as { loaded: { config: { queues: { umask: number } } } };
  cache.loaded.config.queues.umask = 0o123;
  await writeFile(configCachePath(home), JSON.stringify(cache));
}

describe('loadConfigCached', () => {
  it('answers what loadConfig answers, caches it mode 0600, and serves the next call from the cache', async () => {
    await writeFile(file, '[queues]\ndurability = "none"\numask = "027"\n\n[ingress]\nmaxMessageSize = 123456\n');
    const loaded = await loadConfigCached({ home, file, now: later });
    expect(loaded).toEqual(await loadConfig(file));
    expect((await stat(configCachePath(home))).mode & 0o777).toBe(0o600);
    expect(await loadConfigCached({ home, file, now: later })).toEqual(loaded);
    await markCache();
    expect((await loadConfigCached({ home, file, now: later })).config.queues.umask).toBe(0o123);
  });

  it('re-validates a file changed in place with the same size and mtime, and uses the new values', async () => {
    await writeOld('[ingress]\nmaxMessageSize = 111111\n');
    await loadConfigCached({ home, file, now: later });
    await markCache();
    await rewriteKeepingMtime('[ingress]\nmaxMessageSize = 222222\n');
    const loaded = await loadConfigCached({ home, file, now: later });
    expect(loaded.config.ingress.maxMessageSize).toBe(222222);
    expect(loaded.config.queues.umask).toBe(0o007);
  });

  it('never serves a cached configuration once the file has become invalid, however often asked', async () => {
    await writeOld('[queues]\ndurability = "fsync"\n');
    await loadConfigCached({ home, file, now: later });
    await rewriteKeepingMtime('[queues]\ndurability = "fsyn!"\n');
    for (let i = 0; i < 2; i++) {
      const error = await loadConfigCached({ home, file, now: later }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('queues.durability');
    }
  });

  it('does not cache a file changed within the racy window (a second write in the same tick would look the same)', async () => {
    await writeFile(file, '[queues]\ndurability = "none"\n');
    const loaded = await loadConfigCached({ home, file, now: () => Date.now() });
    expect(loaded.config.queues.durability).toBe('none');
    expect(readdirSync(home)).not.toContain('config-cache.json');
  });

  it('ignores a garbage or foreign cache file and replaces it', async () => {
    await writeFile(file, '[queues]\ndurability = "none"\n');
    await writeFile(configCachePath(home), '{"format":1,"key":"not this file","loaded":{"config":{}}}');
    expect((await loadConfigCached({ home, file, now: later })).config.queues.durability).toBe('none');
    await writeFile(configCachePath(home), '\0\0\0 torn');
    expect((await loadConfigCached({ home, file, now: later })).config.queues.durability).toBe('none');
    expect(JSON.parse(readFileSync(configCachePath(home), 'utf8'))).toMatchObject({ format: 1, loaded: { config: { queues: { durability: 'none' } } } });
  });

  it('caches the defaults of a home without a file, and drops them once a file appears', async () => {
    expect((await loadConfigCached({ home, file, now: later })).fromFile).toBe(false);
    await markCache();
    expect((await loadConfigCached({ home, file, now: later })).config.queues.umask).toBe(0o123);
    await writeFile(file, '[queues]\numask = "077"\n');
    const loaded = await loadConfigCached({ home, file, now: later });
    expect(loaded.fromFile).toBe(true);
    expect(loaded.config.queues.umask).toBe(0o077);
  });

  it.runIf(process.getuid?.() === 0)("writes no cache into another user's home (the runners' user could not replace it)", async () => {
    await writeFile(file, '[queues]\ndurability = "none"\n');
    await chown(home, 12345, 12345);
    await chmod(home, 0o777);
    expect((await loadConfigCached({ home, file, now: later })).config.queues.durability).toBe('none');
    expect(readdirSync(home)).not.toContain('config-cache.json');
  });
});

describe('the cache key', () => {
  /** The relative imports of a source file, as the compiled module names them. */
  function localImports(path: string): string[] {
    const text = readFileSync(path, 'utf8');
    return [...text.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm)].map((m) => (m[1] ?? m[2])!);
  }

  it('covers every module the validation depends on: load.ts and what it imports, transitively', () => {
    const configDir = fileURLToPath(new URL('../../src/config/', import.meta.url));
    const seen = new Set<string>();
    const visit = (source: string): void => {
      if (seen.has(source)) return;
      seen.add(source);
      for (const spec of localImports(source)) visit(resolve(dirname(source), spec.replace(/\.js$/, '.ts')));
    };
    visit(join(configDir, 'load.ts'));
    seen.add(join(configDir, 'config-cache.ts'));
    const expected = [...seen].map((source) => {
      const path = relative(configDir, source).replace(/\.ts$/, '.js');
      return path.startsWith('.') ? path : `./${path}`;
    });
    expect([...CONFIG_MODULES].sort()).toEqual(expected.sort());
  });
});
