/**
 * Email addresses as the store keeps them. Pure functions, no I/O.
 *
 * - Local part: an RFC 5321/5322 dot-atom (UTF-8 allowed, RFC 6532) or a
 *   quoted string; its case is preserved, as it is the recipient's own.
 * - Domain: a host name, lower-cased and converted to its ASCII (IDNA, `xn--`)
 *   form with node:url's domainToASCII, so `user@Bücher.Example` and
 *   `user@xn--bcher-kva.example` are the same member. Address literals
 *   (`user@[192.0.2.1]`) and single-label domains are refused: list mail
 *   goes to real domains. domainToASCII is a URL host parser: given
 *   `example.org/../../tmp`, `example.org?x` or `ex%41mple.org` it returns
 *   `example.org`, silently dropping or decoding the rest. So the domain
 *   is checked for host-name characters first (letters, digits, marks, `-`,
 *   the dots IDNA maps to `.`), and an ASCII domain must come back only
 *   lower-cased: anything else is refused, never trimmed.
 * - `key`: the whole address lower-cased, used for uniqueness and lookup
 *   (Mailman's rule: nobody expects `Anne@` and `anne@` to be two members).
 * - Control characters, spaces outside quotes, a missing `@`: invalid.
 *
 * List posting addresses are stricter: the name must match
 * `^[a-z0-9][a-z0-9._-]{0,63}$` after lower-casing (it becomes part of file
 * and directory names later) and must not end in one of the suffixes of the
 * list's own service addresses (`-request`, `-bounces`, ...).
 */
import { domainToASCII } from 'node:url';
import { AddressInvalidError, ListNameInvalidError } from './errors.js';

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
const LIST_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
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
function problemOf(text: string): { problem: string } | { local: string; domain: string } {
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

/** Validate and normalise; throws AddressInvalidError naming the rule broken. */
export function parseAddress(text: string): Address {
  const trimmed = text.trim();
  const result = problemOf(trimmed);
  if ('problem' in result) throw new AddressInvalidError(text, result.problem);
  const address = `${result.local}@${result.domain}`;
  return { address, local: result.local, domain: result.domain, key: address.toLowerCase() };
}

export interface ListAddress {
  /** `name@domain`, all lower case. */
  address: string;
  name: string;
  domain: string;
}

/** Validate and normalise a list's posting address; throws ListNameInvalidError. */
export function parseListAddress(text: string): ListAddress {
  const trimmed = text.trim().toLowerCase();
  const at = trimmed.lastIndexOf('@');
  if (at < 0) throw new ListNameInvalidError(text, 'expected NAME@DOMAIN');
  const name = trimmed.slice(0, at);
  if (!LIST_NAME.test(name)) throw new ListNameInvalidError(text, 'the name must be 1-64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit');
  if (name.endsWith('.') || name.includes('..')) throw new ListNameInvalidError(text, 'the name has a trailing or double dot');
  const suffix = LIST_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix !== undefined) throw new ListNameInvalidError(text, `the name may not end in ${suffix} (a service address of the list ${name.slice(0, -suffix.length)})`);
  const result = problemOf(trimmed);
  if ('problem' in result) throw new ListNameInvalidError(text, result.problem);
  return { address: `${name}@${result.domain}`, name, domain: result.domain };
}
