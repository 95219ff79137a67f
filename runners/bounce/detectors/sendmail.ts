/**
 * Sendmail's text bounces (Sendmail without DSN, and the text part of its
 * DSNs when the report part is missing):
 *
 *        ----- The following addresses had permanent fatal errors -----
 *     <anne@example.org>
 *         (reason: 550 5.1.1 <anne@example.org>... User unknown)
 *
 *        ----- Transcript of session follows -----
 *     ... while talking to mx.example.org.:
 *     >>> RCPT To:<anne@example.org>
 *     <<< 550 5.1.1 <anne@example.org>... User unknown
 *     550 5.1.1 <anne@example.org>... User unknown
 *
 * and its warning ("THIS IS A WARNING MESSAGE ONLY"), whose transcript says
 * `<anne@example.org>... Deferred: Connection timed out` and which may list
 * "addresses had transient non-fatal errors". Fatal-error blocks and 5xx
 * transcript lines are permanent; transient blocks, 4xx lines and
 * "Deferred" lines temporary.
 */
import { addressesIn } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { addressesInBlocks, failures, wordsOf, type Detector } from '../detector.js';

const PERMANENT_BLOCK = /-{3,}\s*The following addresses had permanent fatal errors\s*-{3,}/i;
const TRANSIENT_BLOCK = /-{3,}\s*The following addresses had transient non-fatal errors\s*-{3,}/i;
const TRANSCRIPT = /-{3,}\s*Transcript of session follows\s*-{3,}/i;
const BLOCK_END = /^\s*-{3,}/;
/** The words every Sendmail text bounce has (a cheap look: the block expressions are unanchored and slow over long texts). */
const SIGN = /addresses had|Transcript of session/i;
/** `550 5.1.1 <anne@example.org>... User unknown` (the MTA's own summary line, not `<<<` replies). */
const SUMMARY = /^([45])\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?<?([^\s<>]+@[^\s<>]+?)>?\.\.\.\s/;
const DEFERRED = /^<?([^\s<>]+@[^\s<>]+?)>?\.\.\.\s+Deferred\b/i;

/** A listed address: the line's first token, not the indented reason under it. */
function blockAddress(line: string): string[] {
  if (/^\s+\(/.test(line)) return [];
  const match = /^\s*<?([^\s<>]+@[^\s<>]+?)>?\s*(?:\(.*)?$/.exec(line);
  return match ? addressesIn(match[1] as string) : [];
}

const sendmail: Detector = {
  name: 'sendmail',
  order: 140,
  signature: { words: wordsOf(SIGN) },
  detect(message: BounceMessage) {
    const text = message.text;
    if (!SIGN.test(text)) return undefined;
    if (!PERMANENT_BLOCK.test(text) && !TRANSIENT_BLOCK.test(text) && !TRANSCRIPT.test(text)) return undefined;
    const lines = message.lines();
    const permanent = addressesInBlocks(lines, { start: PERMANENT_BLOCK, end: BLOCK_END, pick: blockAddress });
    const temporary = addressesInBlocks(lines, { start: TRANSIENT_BLOCK, end: BLOCK_END, pick: blockAddress });
    let inTranscript = false;
    for (const line of lines) {
      if (TRANSCRIPT.test(line)) {
        inTranscript = true;
        continue;
      }
      if (!inTranscript) continue;
      if (BLOCK_END.test(line)) break;
      const summary = SUMMARY.exec(line);
      if (summary) {
        (summary[1] === '5' ? permanent : temporary).push(...addressesIn(summary[2] as string));
        continue;
      }
      const deferred = DEFERRED.exec(line);
      if (deferred) temporary.push(...addressesIn(deferred[1] as string));
    }
    return failures(permanent, temporary);
  },
};
export default sendmail;
