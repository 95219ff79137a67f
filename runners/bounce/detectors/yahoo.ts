/**
 * Yahoo! Mail's own bounces (also on behalf of the domains it hosts: AT&T,
 * sbcglobal.net, ...), from MAILER-DAEMON@yahoo.com or a Yahoo mail host,
 * qmail-derived:
 *
 *     Sorry, we were unable to deliver your message to the following address.
 *
 *     <anne@yahoo.com>:
 *     Remote host said: 554 delivery error: dd This user doesn't have a yahoo.com account ...
 *
 *     --- Below this line is a copy of the message.
 *
 * and the older "Message from yahoo.com. Unable to deliver message to the
 * following address(es)." ... "--- Original message follows.". Yahoo sends
 * these only when it has given up: permanent.
 */
import type { BounceMessage } from '../bounce-message.js';
import { addressesInBlocks, failures, leadingBracketAddress, wordsOf, type Detector } from '../detector.js';

const START = /unable to deliver (?:your )?message to the following address(?:\(es\)|es)?\.?/i;
const END = /^--- (?:Below this line is a copy of the message|Original message follows)/i;

const yahoo: Detector = {
  name: 'yahoo',
  order: 170,
  signature: { words: wordsOf(START) },
  detect(message: BounceMessage) {
    const fromYahoo = /^mailer-daemon@(?:[a-z0-9.-]+\.)?yahoo(?:mail)?\.[a-z.]+$/.test(message.from) || /Message from yahoo\.\S+/i.test(message.text);
    if (!fromYahoo || !START.test(message.text)) return undefined;
    return failures(addressesInBlocks(message.lines(), { start: START, end: END, pick: leadingBracketAddress }));
  },
};
export default yahoo;
