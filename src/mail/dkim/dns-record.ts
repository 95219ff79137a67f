/**
 * The DKIM key record in DNS (RFC 6376 §3.6.1): what `dkim keygen` prints
 * for the operator to publish, and what `dkim check` reads back.
 */
import type { DkimKeyType } from './keys.js';

/** A selector: one or more DNS labels (RFC 6376 §3.1). */
export const selectorSyntax = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** The owner name of the record: SELECTOR._domainkey.DOMAIN. */
export function recordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/** The record's text: `v=DKIM1; k=rsa; p=...`. */
export function recordText(type: DkimKeyType, publicKey: string): string {
  return `v=DKIM1; k=${type}; p=${publicKey}`;
}

/** The text as DNS character-strings of at most 255 bytes each (a TXT record's limit per string). */
export function txtStrings(text: string, max = 255): string[] {
  const strings: string[] = [];
  for (let i = 0; i < text.length; i += max) strings.push(text.slice(i, i + max));
  return strings;
}

/** The zone-file line to publish: `NAME IN TXT ( "..." "..." )`. */
export function zoneLine(selector: string, domain: string, type: DkimKeyType, publicKey: string): string {
  const strings = txtStrings(recordText(type, publicKey)).map((s) => `"${s}"`);
  return `${recordName(selector, domain)}. IN TXT ${strings.length === 1 ? strings[0] : `( ${strings.join(' ')} )`}`;
}

/** The tags of a key record (`v`, `k`, `p`, ...), white space removed from the values; undefined when it is not tag=value. */
export function parseRecord(text: string): Map<string, string> | undefined {
  const tags = new Map<string, string>();
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return tags;
}
