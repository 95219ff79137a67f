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
import { AddressInvalidError, ListNameInvalidError } from './errors.js';
import { addressProblem, asciiDomain, LIST_SUFFIXES, problemOf, type Address } from '../mail/address-syntax.js';

export { addressProblem, asciiDomain, LIST_SUFFIXES, type Address };

const LIST_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

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
