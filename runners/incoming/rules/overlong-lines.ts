/**
 * overlong-lines: a post with a line over the 998 octets RFC 5322 allows
 * that cannot be mended (a header line with no white space to fold at, a
 * part in a transfer encoding that cannot be rewritten; see
 * src/mail/line-length.ts) is held: a strict smarthost would refuse it.
 * Long lines that can be mended pass: the pipeline's line-length step folds
 * or re-encodes them.
 */
import { limitLineLength } from '../../../src/mail/line-length.js';
import type { Rule } from '../chain.js';

export const overlongLines: Rule = {
  name: 'overlong-lines',
  check({ message }) {
    const { problems } = limitLineLength(message);
    return problems.length === 0 ? undefined : { action: 'hold', reason: `lines over 998 octets that cannot be folded or re-encoded: ${problems.join('; ')}` };
  },
};
