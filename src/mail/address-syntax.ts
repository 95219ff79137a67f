/**
 * The syntax of an email address, on its own (no store, no errors module):
 * the configuration checks `[site] owner` with it, and the master, which
 * validates the configuration, loads no store module. src/store/address.ts
 * builds the store's parsing on it; its module comment states the rules.
 */
import { domainToASCII } from 'node:url';

export interface Address {
  /** Local part as given (case preserved), `@`, the ASCII lower-case domain. */
  address: string;
  local: string;
  domain: string;
  /** `address` lower-cased: what uniqueness and lookups compare. */
  key: string;
}

/** atext of RFC 5322 plus any non-ASCII character (RFC 6532); controls are refused before this is consulted. */
const ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+$/u;
/** qtext or quoted-pair contents: printable ASCII (and UTF-8) except `"` and `\` unescaped. */
const QUOTED = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\u{10FFFF}]|\\[\x20-\x7e])*"$/u;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
/** What a domain may hold before IDNA: letters, digits, combining marks, `-`, and the full stops UTS #46 maps to `.`. */
const DOMAIN_CHARS = /^[\p{L}\p{M}\p{N}\-.\u3002\uff0e\uff61]+$/u;
/** Service addresses a list answers on (Mailman's sub-addresses): a list may not be named like one of them. */
export const LIST_SUFFIXES = ['-bounces', '-confirm', '-join', '-leave', '-owner', '-request', '-subscribe', '-unsubscribe'] as const;

/**
 * The ASCII (IDNA), lower-case form of a domain, or null when it is not a
 * host name. Never a shortened or decoded form of the input (see the module
 * comment): `example.org/x` is null, not `example.org`.
 */
export function asciiDomain(raw: string): string | null {
  if (!DOMAIN_CHARS.test(raw)) return null;
  const domain = domainToASCII(raw);
  if (domain === '') return null;
  // Belt and braces: for ASCII input IDNA may only lower-case.
  if (/^[\x00-\x7f]*$/.test(raw) && domain !== raw.toLowerCase()) return null;
  return domain;
}

/** Why `text` is not a valid address, or null when it is. Cheap enough for 100 000 calls a second. */
export function problemOf(text: string): { problem: string } | { local: string; domain: string } {
  if (text.length === 0) return { problem: 'empty' };
  if (CONTROL.test(text)) return { problem: 'contains a control character' };
  const at = text.lastIndexOf('@');
  if (at < 0) return { problem: 'no @' };
  const local = text.slice(0, at);
  const rawDomain = text.slice(at + 1);
  if (local.length === 0) return { problem: 'empty local part' };
  if (Buffer.byteLength(local) > 64) return { problem: 'local part longer than 64 octets' };
  if (local.startsWith('"')) {
    if (!QUOTED.test(local)) return { problem: 'malformed quoted local part' };
  } else {
    if (/\s/u.test(local)) return { problem: 'space in local part' };
    const atoms = local.split('.');
    if (atoms.some((atom) => atom.length === 0)) return { problem: 'local part has a leading, trailing or double dot' };
    if (!atoms.every((atom) => ATOM.test(atom))) return { problem: 'local part has a character not allowed unquoted (such as @ , ; < > ( ) [ ] \\ ")' };
  }
  if (rawDomain.length === 0) return { problem: 'empty domain' };
  if (rawDomain.startsWith('[')) return { problem: 'address literals are not accepted' };
  if (/\s/u.test(rawDomain)) return { problem: 'space in domain' };
  if (rawDomain.endsWith('.')) return { problem: 'domain ends with a dot' };
  const domain = asciiDomain(rawDomain);
  if (domain === null) return { problem: 'domain is not a valid host name (only letters, digits, "-" and ".")' };
  if (domain.length > 253) return { problem: 'domain longer than 253 characters' };
  const labels = domain.split('.');
  if (labels.length < 2) return { problem: 'domain has no dot' };
  if (!labels.every((label) => LABEL.test(label))) return { problem: 'domain is not a valid host name' };
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return { problem: 'domain is an IP address' };
  if (Buffer.byteLength(local) + 1 + domain.length > 254) return { problem: 'longer than 254 octets' };
  return { local, domain };
}

/** The reason `text` is not a valid address, or null. Surrounding white space is ignored. */
export function addressProblem(text: string): string | null {
  const result = problemOf(text.trim());
  return 'problem' in result ? result.problem : null;
}
