/**
 * VERP (variable envelope return path) addresses, as Mailman writes them:
 * a copy of a post to `user@example.org` from the list `name@lists.example.net`
 * goes out with the envelope sender
 *
 *     name-bounces+user=example.org@lists.example.net
 *
 * so a bounce names its recipient in the address it comes back to, whatever
 * the bounce message says. decodeVerp() is the parser the bounce runner uses;
 * encodeVerp() the writer the outgoing runner uses; they round-trip every
 * recipient encodeVerp() accepts.
 *
 * The recipient's domain can hold no `=`, so the last `=` of the extension
 * separates it from the local part, which may itself contain `=` and `+`.
 * A quoted local part or one with characters that cannot stand unquoted in
 * a dot-atom cannot be carried: encodeVerp() returns undefined and the
 * caller sends with the plain bounces address instead.
 */

/** Characters of an RFC 5321 dot-atom local part. */
const ATOM_LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[^\]\s]+\]$/;

export interface VerpParts {
  /** The list's posting address, `name@domain`. */
  listPosting: string;
  /** The recipient the bounce is about. */
  recipient: string;
}

function splitAddress(address: string): { local: string; domain: string } | undefined {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return undefined;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The list's bounces address, `name-bounces@domain`. */
export function bouncesAddress(listPosting: string): string {
  const parts = splitAddress(listPosting);
  if (!parts) throw new Error(`not a list posting address: ${JSON.stringify(listPosting)}`);
  return `${parts.local}-bounces@${parts.domain}`;
}

/** The VERP envelope sender for one recipient of `listPosting`, or undefined when the recipient cannot be carried. */
export function encodeVerp(listPosting: string, recipient: string): string | undefined {
  const list = splitAddress(listPosting);
  const rcpt = splitAddress(recipient);
  if (!list || !rcpt) return undefined;
  if (!ATOM_LOCAL.test(rcpt.local) || !DOMAIN.test(rcpt.domain) || rcpt.domain.includes('=')) return undefined;
  return `${list.local}-bounces+${rcpt.local}=${rcpt.domain}@${list.domain}`;
}

/**
 * The list and recipient a VERP bounce address names, or undefined when it is
 * not one. The list's domain is compared case-insensitively by the caller if
 * it wishes; here it is returned as written.
 */
export function decodeVerp(address: string): VerpParts | undefined {
  const parts = splitAddress(address.replace(/^<|>$/g, ''));
  if (!parts) return undefined;
  const marker = parts.local.indexOf('-bounces+');
  if (marker <= 0) return undefined;
  const listLocal = parts.local.slice(0, marker);
  const extension = parts.local.slice(marker + '-bounces+'.length);
  const eq = extension.lastIndexOf('=');
  if (eq <= 0 || eq === extension.length - 1) return undefined;
  const recipient = `${extension.slice(0, eq)}@${extension.slice(eq + 1)}`;
  return { listPosting: `${listLocal}@${parts.domain}`, recipient };
}
