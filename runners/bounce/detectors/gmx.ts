/**
 * GMX (and web.de, which ran the same software):
 *
 *     This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.
 *
 *     An error has occurred while attempting to deliver a message for
 *     the following list of recipients:
 *
 *     anne@gmx.net: "Mailbox quota exceeded"
 *
 *     Below the original message.
 *
 * Addresses are listed `address: "reason"` or `<address>`, one per line.
 */
import { addressesIn } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { addressesInBlocks, failures, wordsOf, type Detector } from '../detector.js';

const SIGN = /This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail/i;
const START = /the following list of recipients:\s*$/i;
const END = /^\s*(?:Below the original message|-{3,}|\*{3,})/i;

function listed(line: string): string[] {
  const match = /^\s*<?([^\s<>:"]+@[^\s<>:"]+)>?(?::|\s*$)/.exec(line);
  return match ? addressesIn(match[1] as string) : [];
}

const gmx: Detector = {
  name: 'gmx',
  order: 190,
  signature: { words: wordsOf(SIGN) },
  detect(message: BounceMessage) {
    if (!SIGN.test(message.text)) return undefined;
    return failures(addressesInBlocks(message.lines(), { start: START, end: END, pick: listed }));
  },
};
export default gmx;
