/**
 * suspicious-header: the list's `suspiciousHeaders` regular expressions
 * (case-insensitive) are matched against every header line, unfolded, as
 * `Name: value`; the first match holds the post.
 */
import type { Rule } from '../chain.js';

export const suspiciousHeader: Rule = {
  name: 'suspicious-header',
  check({ list, message }) {
    const patterns = list.settings.suspiciousHeaders.map((source) => ({ source, regex: new RegExp(source, 'i') }));
    if (patterns.length === 0) return undefined;
    for (const field of message.fields) {
      const line = field.raw.toString('utf8').replace(/\r?\n([ \t])/g, '$1').replace(/\r?\n$/, '');
      const hit = patterns.find(({ regex }) => regex.test(line));
      if (hit) return { action: 'hold', reason: `header ${field.name} matches the suspicious-header pattern ${JSON.stringify(hit.source)}` };
    }
    return undefined;
  },
};
