/** emergency: while the list's `emergency` flag is set, every post is held for the moderators. */
import type { Rule } from '../chain.js';

export const emergency: Rule = {
  name: 'emergency',
  check({ list }) {
    return list.settings.emergency ? { action: 'hold', reason: 'the list is in emergency moderation: every post is held' } : undefined;
  },
};
