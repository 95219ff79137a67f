/**
 * max-hops: a post with more Received fields than the runner's `maxHops`
 * (`[runner.incoming.options]`, default 25, as Postfix's hopcount_limit) has
 * gone round a mail loop that the loop rule's List-Id / X-BeenThere marks
 * did not catch (a forwarder that strips them, two systems bouncing a
 * message between them): discarded, with a log line. Not held: every turn of
 * the loop would add a held post, and not rejected: a notice would feed the
 * loop.
 */
import type { Rule } from '../chain.js';

export const maxHops: Rule = {
  name: 'max-hops',
  check({ message, limits }) {
    const hops = message.fields.filter((field) => field.key === 'received').length;
    return hops > limits.maxHops ? { action: 'discard', reason: `mail loop: ${hops} Received fields, more than maxHops (${limits.maxHops})` } : undefined;
  },
};
