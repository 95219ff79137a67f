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

/**
 * Every address-like token of a text is a run of characters other than these around an `@` (the `=` is
 * allowed after the `@` only), i.e. the matches of
 * /[^\s@<>()[\]",;:'`=]+@[^\s@<>()[\]",;:'`]+/gu. Found by looking for each `@` and widening from it
 * rather than by that expression, which tries a match at every character of the text: addresses are
 * sought in whole reports, most of whose characters are nowhere near an `@`.
 */
function isSpace(code: number): boolean {
  // \s: WhiteSpace and LineTerminator (ECMA-262).
  return (
    code === 0x20 ||
    (code >= 0x09 && code <= 0x0d) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** A character that ends the domain side of an address token. */
function endsDomain(code: number): boolean {
  switch (code) {
    case 0x40: // @
    case 0x3c: // <
    case 0x3e: // >
    case 0x28: // (
    case 0x29: // )
    case 0x5b: // [
    case 0x5d: // ]
    case 0x22: // "
    case 0x2c: // ,
    case 0x3b: // ;
    case 0x3a: // :
    case 0x27: // '
    case 0x60: // `
      return true;
    default:
      return isSpace(code);
  }
}

/** A character that ends the local side (read leftwards from the `@`). */
function endsLocal(code: number): boolean {
  return code === 0x3d || endsDomain(code);
}

/** Every address-like token in `line`, cleaned, in order. */
export function addressesIn(line: string): string[] {
  const found: string[] = [];
  // Where the previous token ended: a token never overlaps the one before it.
  let from = 0;
  for (let at = line.indexOf('@'); at >= 0; at = line.indexOf('@', at + 1)) {
    let start = at;
    while (start > from && !endsLocal(line.charCodeAt(start - 1))) start--;
    if (start === at) continue;
    let end = at + 1;
    while (end < line.length && !endsDomain(line.charCodeAt(end))) end++;
    if (end === at + 1) continue;
    const address = cleanAddress(line.slice(start, end));
    if (address !== undefined) found.push(address);
    from = end;
    at = end - 1;
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
