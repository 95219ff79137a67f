/**
 * AOL's refusal notice, from MAILER-DAEMON@aol.com, naming screen names
 * (which are addresses at aol.com) or whole addresses, one per line after
 *
 *     Your mail to the following recipients could not be delivered because
 *     they are not accepting mail from list-bounces@example.org:
 *     	annescreen
 *
 * (As in flufl.bounce; AOL's Sendmail-style bounces go to the sendmail
 * detector, its later ones carry a DSN.)
 */
import { cleanAddress } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { failures, wordsOf, type Detector } from '../detector.js';

const START = /mail to the following recipients could not be delivered/i;

const aol: Detector = {
  name: 'aol',
  order: 180,
  signature: { words: wordsOf(START) },
  detect(message: BounceMessage) {
    if (!/^mailer-daemon@(?:[a-z0-9-]+\.)*(?:aol\.com|aol\.net|aim\.com)$/.test(message.from) || !START.test(message.text)) return undefined;
    const found: string[] = [];
    // The sentence may wrap: the list starts on the line after the one ending in ':'.
    let state: 'before' | 'sentence' | 'list' = 'before';
    for (const line of message.lines()) {
      const value = line.trim();
      if (state === 'before') {
        if (START.test(line)) state = value.endsWith(':') ? 'list' : 'sentence';
        continue;
      }
      if (state === 'sentence') {
        if (value.endsWith(':')) state = 'list';
        continue;
      }
      if (value === '') {
        if (found.length > 0) break;
        continue;
      }
      if (!/^\S+$/.test(value)) break;
      const address = cleanAddress(value.includes('@') ? value : `${value}@aol.com`);
      if (address !== undefined) found.push(address);
    }
    return failures(found);
  },
};
export default aol;
