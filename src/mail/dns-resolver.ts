/**
 * The one way switchyard asks DNS: node:dns's Resolver with the `[dns]`
 * servers (none: the system's) and timeout, tried twice. `switchyard dkim
 * check`, the DMARC policy lookup of the incoming runner and its
 * verification of signatures all take their answers from here, and tests
 * point `[dns] servers` at the DNS responder fixture on 127.0.0.1. The
 * runners' lookups go through a cache (dns-cache.ts, `[dns] cacheSize` and
 * `cacheTtl`); a one-shot command's do not.
 */
import { Resolver } from 'node:dns/promises';
import { cachedLookup } from './dns-cache.js';
import type { TxtResolver } from './dmarc-policy.js';

export interface ResolverOptions {
  servers: readonly string[];
  timeoutMs: number;
  /** The cache in front of it (entries, ms); absent or 0 entries: none. */
  cacheSize?: number;
  cacheTtlMs?: number;
}

/** `resolve(name, rrtype)` of a resolver made from `options`, behind its cache. */
export function cachedResolve(options: ResolverOptions): (name: string, rrtype: string) => Promise<unknown> {
  const resolver = makeResolver(options);
  return cachedLookup((name, rrtype) => resolver.resolve(name, rrtype) as Promise<unknown>, { maxEntries: options.cacheSize ?? 0, ttlMs: options.cacheTtlMs ?? 0 });
}

export function makeResolver(options: ResolverOptions): Resolver {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: 2 });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);
  return resolver;
}

/** TXT lookups through a resolver made from `options`. */
export function txtResolver(options: ResolverOptions): TxtResolver {
  const resolve = cachedResolve(options);
  return (name) => resolve(name, 'TXT') as Promise<string[][]>;
}
