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

/** One parsed entry of an address field (groups flattened). */
export type FieldAddress = Readonly<{ name: string; address?: string }>;

/**
 * Pure functions of a string that a post's chain and pipeline ask several
 * times (From by posterAddress, no-from, from-addresses; To and Cc by
 * implicit-destination, max-recipients and the runner), remembered by the
 * string, so the same text is not parsed again: the same field value (often
 * the same From for every post of a thread) always gives the same result.
 */
const parsedFields = new Map<string, readonly FieldAddress[]>();
const normalAddresses = new Map<string, string | null>();
const REMEMBERED = 1_000;
/** Longer texts are parsed each time: a hostile post's megabyte From must not be kept a thousand times. */
const REMEMBERED_LENGTH = 1_000;

function remembered<T>(memory: Map<string, T>, key: string, make: (key: string) => T): T {
  if (key.length > REMEMBERED_LENGTH) return make(key);
  let value = memory.get(key);
  if (value === undefined && !memory.has(key)) {
    value = make(key);
    if (memory.size >= REMEMBERED) memory.clear();
    memory.set(key, value);
  }
  return value as T;
}

/** addressparser(value, { flatten: true }), frozen: callers share it. */
export function fieldAddresses(value: string): readonly FieldAddress[] {
  return remembered(parsedFields, value, (text) => Object.freeze(addressparser(text, { flatten: true }).map((entry) => Object.freeze({ ...entry }))));
}

/** Every address in these header fields (groups flattened), in order, as written. */
export function headerAddresses(message: RawMessage, ...names: string[]): string[] {
  const found: string[] = [];
  for (const name of names) {
    for (const value of message.getAll(name)) {
      for (const entry of fieldAddresses(value)) {
        if (entry.address) found.push(entry.address);
      }
    }
  }
  return found;
}

/** `text` normalised as the store keys it (domain lower-cased), or null when it is not a valid address. */
export function normalAddress(text: string): string | null {
  return remembered(normalAddresses, text, (address) => (addressProblem(address) === null ? parseAddress(address).address : null));
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
