/**
 * no-from: a post whose From field is missing, repeated, or names no usable
 * address (`From: <>`, `From: undisclosed`) is held. RFC 5322 3.6 requires
 * exactly one From with at least one address; members' mail clients and
 * strict servers downstream cannot handle a post without one, and nobody
 * could reply to it. Held rather than rejected: the only place to send a
 * rejection would be a Sender or envelope address the post itself does not
 * vouch for.
 */
import { fieldAddresses } from '../addresses.js';
import type { Rule } from '../chain.js';

export const noFrom: Rule = {
  name: 'no-from',
  check({ message }) {
    const values = message.getAll('From');
    if (values.length === 0) return { action: 'hold', reason: 'the message has no From field' };
    if (values.length > 1) return { action: 'hold', reason: `the message has ${values.length} From fields (RFC 5322 allows one)` };
    const addresses = fieldAddresses(values[0]!).filter((entry) => /^[^@\s]+@[^@\s]+$/.test(entry.address ?? ''));
    if (addresses.length === 0) return { action: 'hold', reason: `the From field names no address (From: ${values[0]!.slice(0, 100)})` };
    return undefined;
  },
};
