/**
 * Addresses the chain reads from a post's header fields. Pure functions.
 *
 * The poster whose membership decides moderation is the first From: address,
 * else the first Sender: address, else the envelope sender (Mailman reads
 * the From and Sender headers the same way). Entries re-injected by an
 * operator may lack the envelope sender; posts without any of the three
 * are moderated as coming from a non-member.
 */
import addressparser from 'nodemailer/lib/addressparser';
import type { RawMessage } from '../../src/mail/raw-message.js';
import { addressProblem, parseAddress } from '../../src/store/index.js';

/** Every address in these header fields (groups flattened), in order, as written. */
export function headerAddresses(message: RawMessage, ...names: string[]): string[] {
  const found: string[] = [];
  for (const name of names) {
    for (const value of message.getAll(name)) {
      for (const entry of addressparser(value, { flatten: true })) {
        if (entry.address) found.push(entry.address);
      }
    }
  }
  return found;
}

/** `text` normalised as the store keys it (domain lower-cased), or null when it is not a valid address. */
export function normalAddress(text: string): string | null {
  return addressProblem(text) === null ? parseAddress(text).address : null;
}

/** The poster: see the module comment. Null when no candidate is a valid address. */
export function posterAddress(message: RawMessage, envelopeSender: string | undefined): string | null {
  for (const name of ['From', 'Sender']) {
    const first = headerAddresses(message, name)[0];
    if (first !== undefined) {
      const address = normalAddress(first);
      if (address !== null) return address;
    }
  }
  return envelopeSender ? normalAddress(envelopeSender) : null;
}
