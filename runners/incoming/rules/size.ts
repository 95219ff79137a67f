/**
 * size: a body (everything after the header block) larger than the list's
 * maxMessageSize KB (1 KB = 1024 bytes; 0: no limit) is held.
 *
 * A message larger than the runner's parse limit (`parseMaxSize`) was not
 * given to mailparser, so the body-reading rules (the Approved: line,
 * administrivia commands) could not look at it: it is held here even on a
 * list without a size limit, rather than accepted unread.
 */
import type { Rule } from '../chain.js';

export const size: Rule = {
  name: 'size',
  check({ list, message, summary }) {
    const limitKb = list.settings.maxMessageSize;
    const bytes = message.body.length;
    if (limitKb > 0 && bytes > limitKb * 1024) {
      const attachments = summary.attachments > 0 ? `, ${summary.attachments} attachment(s) of ${summary.attachmentBytes} bytes decoded` : '';
      return { action: 'hold', reason: `the message body is ${Math.ceil(bytes / 1024)} KB, over the list's limit of ${limitKb} KB${attachments}` };
    }
    if (summary.tooLargeToParse !== undefined) {
      return { action: 'hold', reason: `the message (${summary.tooLargeToParse} bytes) is larger than the parse limit and was not inspected` };
    }
    return undefined;
  },
};
