/**
 * A cache in front of switchyard's DNS lookups (`[dns] cacheSize`,
 * `cacheTtl`): a list's posts come from a few domains, and each post's
 * verification asks for the same DKIM keys, SPF and DMARC records again.
 * Without it every post costs several round trips to the resolver, and a
 * slow resolver slows every post.
 *
 * - An answer is kept for `ttlMs` (node:dns does not give a TXT record's own
 *   TTL, so one bound for all), at most `maxEntries` of them, the least
 *   recently used dropped first.
 * - "No such name" and "no such record" (ENOTFOUND, ENODATA) are answers
 *   too, and kept the same way (negative caching, RFC 2308): a domain without
 *   a DMARC record is asked once, not once per post.
 * - Any other failure (a timeout, SERVFAIL, a refused connection) is not
 *   kept: the next lookup asks again.
 * - Lookups of the same name and type while one is in flight share it.
 *
 * One cache per process or worker thread; nothing is written anywhere.
 */

export type Lookup<T> = (name: string, rrtype: string) => Promise<T>;

export interface DnsCacheOptions {
  /** Entries kept; 0: no cache (every lookup asks). */
  maxEntries: number;
  ttlMs: number;
  now?: () => number;
}

/** DNS error codes that are answers (the name or the record does not exist), cached like records. */
const NEGATIVE_ANSWERS = new Set(['ENOTFOUND', 'ENODATA']);

interface Entry<T> {
  until: number;
  result: Promise<T>;
}

/** `lookup` behind a cache as described above. */
export function cachedLookup<T>(lookup: Lookup<T>, options: DnsCacheOptions): Lookup<T> {
  if (options.maxEntries <= 0) return lookup;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry<T>>();
  const forget = (key: string, entry: Entry<T>): void => {
    if (entries.get(key) === entry) entries.delete(key);
  };
  return (name, rrtype) => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const found = entries.get(key);
    if (found !== undefined) {
      entries.delete(key);
      if (found.until > now()) {
        entries.set(key, found);
        return found.result;
      }
    }
    const entry: Entry<T> = { until: Number.POSITIVE_INFINITY, result: lookup(name, rrtype) };
    entries.set(key, entry);
    while (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
    entry.result.then(
      () => {
        entry.until = now() + options.ttlMs;
      },
      (error: unknown) => {
        if (NEGATIVE_ANSWERS.has((error as NodeJS.ErrnoException | undefined)?.code ?? '')) entry.until = now() + options.ttlMs;
        else forget(key, entry);
      },
    );
    return entry.result;
  };
}
