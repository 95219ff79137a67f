/**
 * Exim's own bounce and delay-warning texts (Exim sends these without a
 * delivery-status part unless configured otherwise):
 *
 *     This message was created automatically by mail delivery software.
 *
 *     A message that you sent could not be delivered to one or more of its
 *     recipients. This is a permanent error. The following address(es) failed:
 *
 *       anne@example.org
 *         SMTP error from remote mail server after RCPT TO:<anne@example.org>:
 *         550 5.1.1 User unknown
 *
 * with `X-Failed-Recipients: anne@example.org`, and the warning
 *
 *     The address to which the message has not yet been delivered is:
 *
 *       anne@example.org
 *         Delay reason: ...
 *
 * Addresses are the lines indented by exactly two spaces in those blocks; the
 * reason lines under them are indented further.
 */
import { addressesIn } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { addressesInBlocks, failures, wordsOf, type Detector } from '../detector.js';

const INTRO = /This message was created automatically by mail delivery software/i;
const DELAYED = /^The address(?:es)? to which the message has not yet been delivered (?:is|are):\s*$/i;
const END = /^-{3,}\s*This is a copy of the message|^-{3,}\s*The header of the original message|^No action is required on your part/i;

function exactlyTwoSpaces(line: string): string[] {
  const match = /^ {2}(\S+)(?::.*)?$/.exec(line);
  return match ? addressesIn(match[1] as string) : [];
}

const exim: Detector = {
  name: 'exim',
  order: 110,
  signature: { words: wordsOf(INTRO), test: (message) => message.has('X-Failed-Recipients') },
  detect(message: BounceMessage) {
    const header = message.header('X-Failed-Recipients');
    const intro = INTRO.test(message.text);
    if (header === undefined && !intro) return undefined;
    const lines = message.lines();
    const permanent = [
      ...(header === undefined ? [] : header.split(/[,\s]+/).flatMap((part) => addressesIn(part))),
      ...addressesInBlocks(lines, { start: /The following address(?:\(es\)|es)? failed:\s*$/i, end: END, pick: exactlyTwoSpaces }),
    ];
    const temporary = intro ? addressesInBlocks(lines, { start: DELAYED, end: END, pick: exactlyTwoSpaces }) : [];
    return failures(permanent, temporary);
  },
};
export default exim;
