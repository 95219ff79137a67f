/**
 * Novell (Micro Focus) GroupWise Internet Agent, and NTMail, which writes the
 * same text (subject "Message status - undeliverable"):
 *
 *     The message that you sent was undeliverable to the following:
 *     	<anne@example.org> (user not found)
 *     	mikeo (user not found)
 *
 *     Possibly truncated original message follows:
 *
 * One recipient per indented line, as an address (perhaps in `<>`) or as a
 * bare user name of the reporting system's own post office: that user at the
 * domain of the report's sender (postmaster@gw.example.gov -> mikeo@gw.example.gov).
 */
import { addressesIn } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { failures, withDiagnostics, wordsOf, type Detector } from '../detector.js';

const START = /^\s*The message that you sent was undeliverable to the following:\s*$/i;
const END = /^\s*(?:Possibly truncated original message follows|Original message follows|-{3,})/i;
const SIGN = /The message that you sent was undeliverable to the following:/i;
const USER = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const groupwise: Detector = {
  name: 'groupwise',
  order: 197,
  signature: { words: wordsOf(SIGN) },
  detect(message: BounceMessage) {
    // A cheap look before splitting lines: most messages are not GroupWise's.
    if (!SIGN.test(message.reportText)) return undefined;
    const lines = message.reportText.split('\n');
    const at = lines.findIndex((line) => START.test(line));
    if (at < 0) return undefined;
    const domain = message.from.slice(message.from.lastIndexOf('@') + 1);
    const diagnostics = new Map<string, string>();
    const addresses: string[] = [];
    for (const line of lines.slice(at + 1)) {
      if (END.test(line)) break;
      const trimmed = line.trim();
      if (trimmed === '') {
        if (addresses.length > 0) break;
        continue;
      }
      const [first = '', ...rest] = trimmed.split(/\s+/);
      let address = addressesIn(first)[0];
      if (address === undefined && USER.test(first) && domain.includes('.')) address = addressesIn(`${first}@${domain}`)[0];
      if (address === undefined) continue;
      addresses.push(address);
      if (rest.length > 0) diagnostics.set(address, rest.join(' ').replace(/^\(|\)$/g, ''));
    }
    return withDiagnostics(failures(addresses), diagnostics);
  },
};
export default groupwise;
