/**
 * from-addresses: a From naming more authors than the runner's
 * `maxFromAddresses` (`[runner.incoming.options]`, default 10) is held. RFC
 * 5322 allows several authors, but hundreds are a mark of abuse (a header
 * built to blow up every member's client, or to smuggle addresses past the
 * moderation rule, which only looks at the first).
 */
import { fieldAddresses } from '../addresses.js';
import type { Rule } from '../chain.js';

export const fromAddresses: Rule = {
  name: 'from-addresses',
  check({ message, limits }) {
    const count = message.getAll('From').reduce((sum, value) => sum + fieldAddresses(value).length, 0);
    return count > limits.maxFromAddresses
      ? { action: 'hold', reason: `the From field names ${count} addresses, more than maxFromAddresses (${limits.maxFromAddresses})` }
      : undefined;
  },
};
