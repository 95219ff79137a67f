/**
 * unparseable: mailparser gave up on the post (parse-worker.ts). It is held,
 * not sent: members' clients would likely fail on it too, and a moderator can
 * still look at the raw bytes (`switchyard held show --raw`) and approve it.
 */
import type { Rule } from '../chain.js';

export const unparseable: Rule = {
  name: 'unparseable',
  check({ summary }) {
    return summary.parseError === undefined ? undefined : { action: 'hold', reason: `the message could not be parsed: ${summary.parseError}` };
  },
};
