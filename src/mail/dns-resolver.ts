/**
 * The one way switchyard asks DNS: node:dns's Resolver with the `[dns]`
 * servers (none: the system's) and timeout, tried twice. `switchyard dkim
 * check`, the DMARC policy lookup of the incoming runner and its
 * verification of signatures all take their answers from here, and tests
 * point `[dns] servers` at the DNS responder fixture on 127.0.0.1.
 */
import { Resolver } from 'node:dns/promises';
import type { TxtResolver } from './dmarc-policy.js';

export interface ResolverOptions {
  servers: readonly string[];
  timeoutMs: number;
}

export function makeResolver(options: ResolverOptions): Resolver {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: 2 });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);
  return resolver;
}

/** TXT lookups through a resolver made from `options`. */
export function txtResolver(options: ResolverOptions): TxtResolver {
  const resolver = makeResolver(options);
  return (name) => resolver.resolveTxt(name);
}
