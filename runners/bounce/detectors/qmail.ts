/**
 * qmail-send's bounce (also netqmail, vpopmail and other qmail descendants):
 *
 *     Hi. This is the qmail-send program at mail.example.org.
 *     I'm afraid I wasn't able to deliver your message to the following addresses.
 *     This is a permanent error; I've given up. Sorry it didn't work out.
 *
 *     <anne@example.org>:
 *     192.0.2.25 does not like recipient.
 *     Remote host said: 550 5.1.1 <anne@example.org>... User unknown
 *     Giving up on 192.0.2.25.
 *
 *     --- Below this line is a copy of the message.
 *
 * qmail sends no delay warnings; a message it gives up on after its queue
 * lifetime ("I'm not going to try again; this message has been in the queue
 * too long.") failed for good, so every address is permanent.
 */
import type { BounceMessage } from '../bounce-message.js';
import { addressesInBlocks, failures, leadingBracketAddress, wordsOf, type Detector } from '../detector.js';

const START = /This is the qmail-send program at|I'm afraid I wasn't able to deliver your message to the following addresses/i;
const END = /^--- (?:Below this line is a copy of the message|Enclosed (?:is a copy of the message|are the original headers))/i;

const qmail: Detector = {
  name: 'qmail',
  order: 120,
  signature: { words: wordsOf(START) },
  detect(message: BounceMessage) {
    if (!START.test(message.text)) return undefined;
    return failures(addressesInBlocks(message.lines(), { start: START, end: END, pick: leadingBracketAddress }));
  },
};
export default qmail;
