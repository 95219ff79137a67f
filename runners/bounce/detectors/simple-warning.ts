/**
 * The generic delayed-delivery phrasings (see patterns.ts): the MTA is still
 * trying, so every address found is a temporary failure, never a permanent
 * one. Runs last, after simple-match.
 */
import type { BounceMessage } from '../bounce-message.js';
import { failures, type Detector } from '../detector.js';
import { matchPatterns, type Pattern } from './patterns.js';

export const WARNING_PATTERNS: readonly Pattern[] = [
  { source: 'Gmail', start: /^\s*Delivery to the following recipients? (?:has been|was) delayed:?\s*$/i, end: /^\s*(?:Message will be retried|Technical details|-{5})/i },
  { source: 'Gmail (2015 on, text part)', start: /^\s*Delivery incomplete\s*$/i, end: /^\s*(?:The response from the remote server|-{5})/i, address: /There was a temporary problem delivering your message to (\S+@\S+?)\.?\s/i },
  { source: 'Courier', start: /^Your message to the following recipients has not been delivered yet/i, end: /^-{5,}/, address: /^<([^<>\s]+@[^<>\s]+)>:/ },
  { source: 'generic', start: /^\s*The following recipients? ha(?:s|ve)n.?t (?:yet )?received this message:?\s*$/i, end: /^\s*-{3,}/ },
  { source: 'generic', start: /^\s*This is (?:just )?a warning(?: message)?(?: only)?[,.]?.*(?:need|have) to (?:take any action|resend)/i, end: /^\s*-{3,}|^\s*(?:Delivery attempts will continue|Will keep trying)/i },
  { source: 'generic', start: /^\s*Message delivery to the following recipients? (?:is|has been) delayed/i, end: /^\s*-{3,}/ },
];

const simpleWarning: Detector = {
  name: 'simple-warning',
  order: 910,
  detect(message: BounceMessage) {
    return failures([], matchPatterns(WARNING_PATTERNS, message.lines()));
  },
};
export default simpleWarning;
