/**
 * Address-list header values (From, Reply-To, Cc) read into mailboxes and
 * written back, for the handlers that rewrite them. Reading uses nodemailer's
 * addressparser (lenient: groups flattened, garbage yields what it can);
 * display names come back decoded; writing quotes or RFC 2047-encodes them.
 */
import addressparser from 'nodemailer/lib/addressparser';
import { libmime } from './lazy-libmime.js';
import { oneLine } from './header-field.js';
import { decodeWords } from './raw-message.js';

export interface Mailbox {
  /** Decoded display name; '' when none. */
  readonly name: string;
  readonly address: string;
}

/** The mailboxes of an address-list value (unfolded text), groups flattened; those without an address dropped. */
export function parseMailboxes(value: string): Mailbox[] {
  const result: Mailbox[] = [];
  try {
    for (const entry of addressparser(value, { flatten: true })) {
      if (typeof entry.address === 'string' && entry.address.includes('@')) result.push({ name: decodeWords(entry.name ?? '').trim(), address: entry.address });
    }
  } catch {
    // A value addressparser chokes on has no usable mailbox.
  }
  return result;
}

/** `name <address>` with the name as an atom phrase, a quoted string, or encoded words when not ASCII. */
export function formatMailbox(mailbox: Mailbox): string {
  // Names come from messages (decoded words may hold any character): one line, never a new field.
  const name = oneLine(mailbox.name).trim();
  if (name === '') return mailbox.address;
  let phrase: string;
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name)) phrase = name;
  else if (/^[\x20-\x7e]+$/.test(name)) phrase = `"${name.replace(/(["\\])/g, '\\$1')}"`;
  else phrase = libmime().encodeWords(name, 'Q', 52);
  return `${phrase} <${mailbox.address}>`;
}

/** The list without later duplicates of an address (compared without case). */
export function uniqueMailboxes(mailboxes: readonly Mailbox[]): Mailbox[] {
  const seen = new Set<string>();
  return mailboxes.filter((mailbox) => {
    const key = mailbox.address.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
