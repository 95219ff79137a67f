/**
 * The generic failure phrasings of MTAs and gateways with no detector of
 * their own (see patterns.ts). Runs after every MTA-specific detector and
 * after the auto-reply check, so only a message nothing more specific
 * recognised, and that is not an auto-reply, gets here. Every address found
 * is permanent.
 */
import type { BounceMessage } from '../bounce-message.js';
import { failures, type Detector } from '../detector.js';
import { matchPatterns, type Pattern } from './patterns.js';

const ADDR_IN_ANGLES = /<([^<>\s]+@[^<>\s]+)>/;

export const FAILURE_PATTERNS: readonly Pattern[] = [
  { source: 'Gmail (before 2015)', start: /Delivery to the following recipients? failed permanently:/i, end: /^\s*(?:Technical details of permanent failure|-{5}\s*Original message)/i },
  { source: 'Google Groups, Gmail relays', start: /^\s*Delivery to the following recipients? failed\.?\s*$/i, end: /^\s*-{3,}/ },
  { source: 'Courier', start: /^Your message to the following recipients cannot be delivered:/i, end: /^-{5,}/, address: /^<([^<>\s]+@[^<>\s]+)>:/ },
  { source: 'Smail', start: /failed addresses follow:/i, end: /message text follows:/i, address: /^\s*(\S+@\S+)/ },
  { source: 'MDaemon', start: /The following addresses did NOT reach their destination/i, end: /--- BEGIN ORIGINAL MESSAGE ---/i, address: ADDR_IN_ANGLES },
  { source: 'Microsoft SMTPSVC', start: /The email below could not be delivered to the following user:/i, end: /^Old message:/i, address: ADDR_IN_ANGLES },
  { source: 'usa.net, older webmail', start: /^\s*Intended recipient:\s*(\S+@\S+)/i, end: /-{4,}\s*RETURNED MAIL FOLLOWS/i, address: /^\s*Intended recipient:\s*(\S+@\S+)/i },
  { source: 'hotpop and other webmail', start: /^\s*Undeliverable Address:\s*(\S+@\S+)/i, end: /Original message attached/i, address: /^\s*Undeliverable Address:\s*(\S+@\S+)/i },
  { source: 'SLmail, Merak, Kerio', start: /This message could not be delivered to the following address(?:es|\(es\))?/i, end: /^\s*-{3,}|Original message/i },
  { source: 'Mercury, GroupWise gateways', start: /^\s*The following recipients? (?:could|can) not be (?:delivered|reached)/i, end: /^\s*-{3,}/ },
  { source: 'kundenserver.de, mxlogic', start: /A message that you(?: have)? sent could not be delivered to (?:one or more of its|all of its)? ?recipients/i, end: /^-{3,}/, address: /^\s*<?([^\s<>:]+@[^\s<>:]+?)>?:?\s*$/ },
  { source: 'generic "User unknown"', start: /^\s*(?:Unknown user|User unknown|No such user|Mailbox unavailable|Invalid recipient):\s*(\S+@\S+)\s*$/i, address: /^\s*(?:Unknown user|User unknown|No such user|Mailbox unavailable|Invalid recipient):\s*(\S+@\S+)\s*$/i },
];

const simpleMatch: Detector = {
  name: 'simple-match',
  order: 900,
  detect(message: BounceMessage) {
    return failures(matchPatterns(FAILURE_PATTERNS, message.lines()));
  },
};
export default simpleMatch;
