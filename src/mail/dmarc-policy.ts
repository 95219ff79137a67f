/**
 * The DMARC policy an author's domain publishes (RFC 7489 6.6.3), for the
 * posting chain's dmarc-mitigation rule and the pipeline's dmarc handler to
 * decide whether a post must be mitigated (munged From, wrapped, refused).
 *
 * Policy discovery as the RFC has it: the TXT records at `_dmarc.<domain>`
 * that begin with `v=DMARC1`; when there is none, those of the organisational
 * domain (the Public Suffix List's registrable domain, `tldts`, with the
 * private section as mailauth uses it, so our decision and the
 * Authentication-Results we record agree), where `sp=` rules the subdomain.
 * Exactly one record or no policy: two records, or one whose `p=` is missing
 * or invalid, is no policy (6.6.3 step 6: such a record is ignored). `pct=`
 * (default 100) is kept: a sampled policy still hits some copies, so only
 * `quarantine` at `pct=0` (everything falls back to `none`) needs nothing.
 *
 * DNS failures other than "no such name / no data" (timeouts, SERVFAIL,
 * refused) are `temperror`: the caller logs it and treats it as no policy,
 * as Mailman does, so a DNS outage never holds up or loses a post.
 */
import { createRequire } from 'node:module';
import type { getDomain as GetDomain } from 'tldts';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
/** TXT lookup: the records at `name`, each as its character-strings (node:dns resolveTxt's shape). */
export type TxtResolver = (name: string) => Promise<string[][]>;

export interface DmarcRecord {
  readonly p: DmarcPolicy;
  /** The subdomain policy, when the record has a valid one. */
  readonly sp?: DmarcPolicy;
  /** Percentage of failing mail the policy applies to, 0-100. */
  readonly pct: number;
}

export type DmarcLookup =
  | {
      readonly status: 'policy';
      /** The author's domain asked about. */
      readonly domain: string;
      /** The domain whose `_dmarc` record answered (the organisational one for a subdomain without its own). */
      readonly recordDomain: string;
      /** The policy that applies to `domain`: sp= when the organisational record answered for a subdomain and has one, else p=. */
      readonly policy: DmarcPolicy;
      readonly pct: number;
      readonly record: string;
    }
  | { readonly status: 'none'; readonly domain: string; readonly reason: string }
  | { readonly status: 'temperror'; readonly domain: string; readonly reason: string };

const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);
const POLICIES = new Set<string>(['none', 'quarantine', 'reject']);
const TLDTS_OPTIONS = { allowIcannDomains: true, allowPrivateDomains: true } as const;

// tldts (the Public Suffix List, megabytes) loaded at its first use, not with every module that may look up a policy.
// require(): organisationalDomain is synchronous, and tldts ships CommonJS.
let loadedGetDomain: typeof GetDomain | undefined;
function getDomain(): typeof GetDomain {
  return (loadedGetDomain ??= (createRequire(import.meta.url)('tldts') as { getDomain: typeof GetDomain }).getDomain);
}

/** The organisational domain of `domain` by the Public Suffix List; undefined for a public suffix itself or a name it cannot place. */
export function organisationalDomain(domain: string): string | undefined {
  return getDomain()(normalise(domain), TLDTS_OPTIONS) ?? undefined;
}

function normalise(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** The tags of a DMARC record, or a reason it is not one with a policy. */
export function parseDmarcRecord(text: string): DmarcRecord | { malformed: string } {
  const parts = text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const tags = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { malformed: `"${part}" is not a tag=value pair` };
    const name = part.slice(0, eq).trim().toLowerCase();
    if (!tags.has(name)) tags.set(name, part.slice(eq + 1).trim());
  }
  // v=DMARC1 must be the first tag (6.3), exactly so.
  const first = parts[0] === undefined ? '' : parts[0].slice(0, parts[0].indexOf('=')).trim().toLowerCase();
  if (first !== 'v' || tags.get('v') !== 'DMARC1') return { malformed: 'does not begin with v=DMARC1' };
  const p = tags.get('p')?.toLowerCase();
  if (p === undefined) return { malformed: 'no p= tag' };
  if (!POLICIES.has(p)) return { malformed: `p=${p} is not none, quarantine or reject` };
  const sp = tags.get('sp')?.toLowerCase();
  const pctText = tags.get('pct');
  // An invalid pct or sp is ignored for its default (6.3: "discarded in favor of default values").
  const pct = pctText !== undefined && /^\d{1,3}$/.test(pctText) && Number(pctText) <= 100 ? Number(pctText) : 100;
  return { p: p as DmarcPolicy, ...(sp !== undefined && POLICIES.has(sp) ? { sp: sp as DmarcPolicy } : {}), pct };
}

type Found = { records: string[] } | { temperror: string };

async function dmarcRecords(resolveTxt: TxtResolver, domain: string): Promise<Found> {
  let answer: string[][];
  try {
    answer = await resolveTxt(`_dmarc.${domain}`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (NO_RECORD.has(code)) return { records: [] };
    return { temperror: `DNS lookup of _dmarc.${domain} failed: ${code !== '' ? code : (error as Error).message}` };
  }
  return { records: answer.map((strings) => strings.join('').trim()).filter((text) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(text)) };
}

/** The DMARC policy that applies to mail From: an address at `domain`. Never throws. */
export async function lookupDmarcPolicy(domain: string, resolveTxt: TxtResolver): Promise<DmarcLookup> {
  const asked = normalise(domain);
  let recordDomain = asked;
  let found = await dmarcRecords(resolveTxt, asked);
  if ('records' in found && found.records.length === 0) {
    const organisational = organisationalDomain(asked);
    if (organisational === undefined || organisational === asked) return { status: 'none', domain: asked, reason: `no DMARC record at _dmarc.${asked}` };
    recordDomain = organisational;
    found = await dmarcRecords(resolveTxt, organisational);
  }
  if ('temperror' in found) return { status: 'temperror', domain: asked, reason: found.temperror };
  if (found.records.length === 0) return { status: 'none', domain: asked, reason: recordDomain === asked ? `no DMARC record at _dmarc.${asked}` : `no DMARC record at _dmarc.${asked} or _dmarc.${recordDomain}` };
  if (found.records.length > 1) return { status: 'none', domain: asked, reason: `${found.records.length} DMARC records at _dmarc.${recordDomain}: no policy (RFC 7489 6.6.3)` };
  const record = found.records[0]!;
  const parsed = parseDmarcRecord(record);
  if ('malformed' in parsed) return { status: 'none', domain: asked, reason: `malformed DMARC record at _dmarc.${recordDomain} (${parsed.malformed}): no policy` };
  const policy = recordDomain !== asked && parsed.sp !== undefined ? parsed.sp : parsed.p;
  return { status: 'policy', domain: asked, recordDomain, policy, pct: parsed.pct, record };
}

/**
 * Whether a re-sent copy of this author's mail risks quarantine or rejection:
 * a reject policy always does (at pct<100 the rest is quarantined, 6.6.4), a
 * quarantine policy unless pct=0.
 */
export function policyCallsForMitigation(lookup: DmarcLookup): boolean {
  if (lookup.status !== 'policy') return false;
  if (lookup.policy === 'reject') return true;
  return lookup.policy === 'quarantine' && lookup.pct > 0;
}
