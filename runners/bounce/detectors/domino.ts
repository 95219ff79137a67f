/**
 * Lotus Notes / IBM Domino. The classic report, subject "DELIVERY FAILURE:
 * ...":
 *
 *     ------- Failure Reasons  --------
 *
 *     User anne (anne@example.org) not listed in Domino Directory
 *     anne@example.org
 *
 *     ------- Returned Message --------
 *
 * and the later form (Domino 6 and up, often without a DSN part):
 *
 *     Your message
 *
 *       Subject: Weekly notes
 *
 *     was not delivered to:
 *
 *       anne@example.org
 *
 *     because:
 *
 *       User anne (anne@example.org) not listed in Domino Directory
 *
 * "DELIVERY DELAYED" reports ("has not yet been delivered to:") are temporary.
 */
import type { BounceMessage } from '../bounce-message.js';
import { addressesInBlocks, failures, lineAddress, wordsOf, type Detector } from '../detector.js';
import { LiteralGate } from '../literal-gate.js';

const REASONS = /^-{3,}\s*Failure Reasons\s*-{3,}/i;
const RETURNED = /^-{3,}\s*Returned Message\s*-{3,}/i;
const NOT_DELIVERED = /^\s*was not delivered to:\s*$/i;
const NOT_YET = /^\s*has not (?:yet )?been delivered to:\s*$/i;
const BECAUSE = /^\s*because:\s*$/i;
const DELIVERY_SUBJECT = /^DELIVERY (?:FAILURE|DELAYED)\b/i;
// The same lines searched in the whole text, behind their literals (`^\s*` leaves a search nothing to skip by).
const CLASSIC = new LiteralGate(/^-{3,}\s*Failure Reasons\s*-{3,}/im);
const LATER = new LiteralGate(/^\s*was not delivered to:\s*$/im);
const LATER_DELAYED = new LiteralGate(/^\s*has not (?:yet )?been delivered to:\s*$/im);

const domino: Detector = {
  name: 'domino',
  order: 160,
  signature: { words: wordsOf(CLASSIC.pattern, LATER.pattern, LATER_DELAYED.pattern), test: (message) => DELIVERY_SUBJECT.test(message.subject) },
  detect(message: BounceMessage) {
    const text = message.text;
    const lower = message.lowerText();
    const classic = CLASSIC.test(text, lower);
    const later = LATER.test(text, lower) || LATER_DELAYED.test(text, lower);
    if (!classic && !later && !DELIVERY_SUBJECT.test(message.subject)) return undefined;
    const lines = message.lines();
    const permanent = [
      ...addressesInBlocks(lines, { start: REASONS, end: RETURNED, pick: lineAddress }),
      ...addressesInBlocks(lines, { start: NOT_DELIVERED, end: BECAUSE, pick: lineAddress }),
    ];
    const temporary = addressesInBlocks(lines, { start: NOT_YET, end: BECAUSE, pick: lineAddress });
    if (/^DELIVERY DELAYED\b/i.test(message.subject)) return failures([], [...permanent, ...temporary]);
    return failures(permanent, temporary);
  },
};
export default domino;
