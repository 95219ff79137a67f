/**
 * Picking addresses out of bounce text. Bounces quote addresses every way
 * there is: `<a@b>`, `a@b:`, `'a@b'`, `(a@b)`, `mailto:a@b`, `SMTP=a@b;`.
 * cleanAddress() strips that decoration and returns the address only if what
 * is left looks like one (local@domain.tld, no spaces); the store validates
 * properly before anything is scored.
 */

/** local@domain with a dot in the domain (or an address literal); Unicode allowed. */
const ADDRESS = /^[^\s@<>()[\]",;:]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+[\p{L}\p{N}-]{2,}$|^[^\s@<>()[\]",;:]+@\[[0-9a-fA-F.:]+\]$/u;

/** The address in `text` once quotes, brackets, `mailto:` and trailing punctuation are gone, or undefined. */
export function cleanAddress(text: string): string | undefined {
  let address = text.trim();
  address = address.replace(/^(?:mailto:|smtp:|rfc822;)\s*/i, '');
  address = address.replace(/^[<('"`[]+/, '').replace(/[>)'"`\]:;,.]+$/, '');
  address = address.replace(/^(?:mailto:|smtp:)/i, '');
  return ADDRESS.test(address) ? address : undefined;
}

const ANY_ADDRESS = /[^\s@<>()[\]",;:'`=]+@[^\s@<>()[\]",;:'`]+/gu;

/** Every address-like token in `line`, cleaned, in order. */
export function addressesIn(line: string): string[] {
  const found: string[] = [];
  for (const match of line.matchAll(ANY_ADDRESS)) {
    const address = cleanAddress(match[0]);
    if (address !== undefined) found.push(address);
  }
  return found;
}

/** Addresses without duplicates (compared case-insensitively), first spelling kept. */
export function uniqueAddresses(addresses: Iterable<string>): string[] {
  const seen = new Map<string, string>();
  for (const address of addresses) {
    const key = address.toLowerCase();
    if (!seen.has(key)) seen.set(key, address);
  }
  return [...seen.values()];
}
