/**
 * The DMARC policy a sender's domain publishes (RFC 7489 6.6.3), for the
 * posting chain's DMARC rule to decide whether the pipeline's dmarc handler
 * must mitigate (it records `dmarc: true` in the entry's metadata).
 *
 * Looks up `_dmarc.<domain>` TXT; when there is none, the organisational
 * domain's record with its `sp=` (subdomain policy). The organisational
 * domain is approximated as the last two labels (three when the second-level
 * label is a common registry one such as co.uk): without the Public Suffix
 * List this is a heuristic, stated here so nobody mistakes it for the RFC's.
 *
 * The resolver is injected; DNS failures (timeouts, SERVFAIL) yield
 * `undefined` ("unknown"), which the caller logs and treats as no policy.
 */
import { Resolver } from 'node:dns/promises';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
export type TxtResolver = (name: string) => Promise<string[][]>;

const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);
const REGISTRY_SECOND_LEVEL = new Set(['co', 'com', 'net', 'org', 'ac', 'gov', 'edu', 'ne', 'or']);

/** A resolver with a short timeout, so a post waits at most a few seconds on DNS. */
export function systemTxtResolver(timeoutMs = 2_000): TxtResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  return (name) => resolver.resolveTxt(name);
}

export function organisationalDomain(domain: string): string {
  const labels = domain.toLowerCase().replace(/\.$/, '').split('.');
  const keep = labels.length >= 3 && REGISTRY_SECOND_LEVEL.has(labels[labels.length - 2]!) && labels[labels.length - 1]!.length === 2 ? 3 : 2;
  return labels.slice(-keep).join('.');
}

function parseRecord(records: string[][], subdomain: boolean): DmarcPolicy | null {
  for (const chunks of records) {
    const text = chunks.join('');
    if (!/^v\s*=\s*DMARC1\s*(;|$)/i.test(text)) continue;
    const tags = new Map<string, string>();
    for (const part of text.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().toLowerCase());
    }
    const policy = (subdomain ? tags.get('sp') : undefined) ?? tags.get('p');
    return policy === 'reject' || policy === 'quarantine' || policy === 'none' ? policy : 'none';
  }
  return null;
}

async function lookup(resolveTxt: TxtResolver, name: string): Promise<string[][] | null> {
  try {
    return await resolveTxt(name);
  } catch (error) {
    if (NO_RECORD.has((error as NodeJS.ErrnoException).code ?? '')) return null;
    throw error;
  }
}

/** The policy for mail From: `domain`; 'none' without a record; undefined when DNS failed. */
export async function lookupDmarcPolicy(domain: string, resolveTxt: TxtResolver): Promise<DmarcPolicy | undefined> {
  try {
    const own = await lookup(resolveTxt, `_dmarc.${domain}`);
    const ownPolicy = own === null ? null : parseRecord(own, false);
    if (ownPolicy !== null) return ownPolicy;
    const organisational = organisationalDomain(domain);
    if (organisational === domain.toLowerCase()) return 'none';
    const parent = await lookup(resolveTxt, `_dmarc.${organisational}`);
    return (parent === null ? null : parseRecord(parent, true)) ?? 'none';
  } catch {
    return undefined;
  }
}
