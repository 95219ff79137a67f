/**
 * max-recipients: a post with more than the list's maxNumRecipients
 * addresses in To and Cc (0: no limit) is held: a long recipient list is a
 * mark of spam.
 */
import type { Rule } from '../chain.js';
import { headerAddresses } from '../addresses.js';

export const maxRecipients: Rule = {
  name: 'max-recipients',
  check({ list, message }) {
    const max = list.settings.maxNumRecipients;
    if (max === 0) return undefined;
    const count = headerAddresses(message, 'To', 'Cc').length;
    return count > max ? { action: 'hold', reason: `the message has ${count} recipients in To and Cc, more than the list's limit of ${max}` } : undefined;
  },
};
