/**
 * no-subject: a post whose Subject is missing or empty (also once the list's
 * subject prefix and any `Re:` are taken off) gets the list's noSubjectAction:
 * held by default (Mailman's rule), or accepted.
 */
import type { Rule } from '../chain.js';

export function meaningfulSubject(subject: string, prefix: string): string {
  let text = subject.trim();
  const trimmedPrefix = prefix.trim();
  for (;;) {
    const before = text;
    text = text.replace(/^(re|aw|sv|fwd?)\s*:\s*/i, '');
    if (trimmedPrefix !== '' && text.toLowerCase().startsWith(trimmedPrefix.toLowerCase())) text = text.slice(trimmedPrefix.length).trim();
    if (text === before) return text;
  }
}

export const noSubject: Rule = {
  name: 'no-subject',
  check({ list, message }) {
    if (list.settings.noSubjectAction === 'accept') return undefined;
    const subject = message.decoded('Subject');
    if (subject !== undefined && meaningfulSubject(subject, list.settings.subjectPrefix) !== '') return undefined;
    return { action: 'hold', reason: subject === undefined ? 'the message has no Subject' : 'the message has an empty Subject' };
  },
};
