/**
 * implicit-destination: with requireExplicitDestination, a post whose To,
 * Cc, Resent-To and Resent-Cc do not name the list's posting address (it
 * came by Bcc, or through an alias) is held: often spam sent to many lists
 * at once.
 */
import type { Rule } from '../chain.js';
import { headerAddresses } from '../addresses.js';

export const implicitDestination: Rule = {
  name: 'implicit-destination',
  check({ list, message }) {
    if (!list.settings.requireExplicitDestination) return undefined;
    const address = list.address.toLowerCase();
    const named = headerAddresses(message, 'To', 'Cc', 'Resent-To', 'Resent-Cc').some((a) => a.trim().toLowerCase() === address);
    return named ? undefined : { action: 'hold', reason: `the list (${list.address}) is not named in To or Cc` };
  },
};
