/**
 * Trustwave Secure Email Gateway, formerly MailMarshal SMTP (subject
 * `Undeliverable Mail: "original subject"`):
 *
 *     Your message:
 *        From:    dev@lists.example.org
 *        Subject: ...
 *
 *     Could not be delivered because of
 *
 *     550 5.1.1 User unknown
 *
 *     The following recipients were affected:
 *         anne@example.org
 *
 *     Additional Information
 *
 * The "Your message" block quotes the original sender: only the addresses
 * under "The following recipients were affected:" failed.
 */
import { addressesIn } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { failures, withDiagnostics, wordsOf, type Detector } from '../detector.js';
import { LiteralGate } from '../literal-gate.js';

const REASON_START = /^\s*Could not be delivered because of\s*$/i;
const RECIPIENTS_START = /^\s*The following recipients were affected:\s*$/i;
const END = /^\s*(?:Additional Information|={3,}|-{3,})/i;
/** Whether the report has the recipients heading at all (a cheap look before splitting lines). */
const SIGN = new LiteralGate(/^\s*The following recipients were affected:\s*$/im);

function hasSubject(message: BounceMessage): boolean {
  return message.subject.startsWith('Undeliverable Mail: "');
}

const mailMarshal: Detector = {
  name: 'mailmarshal',
  order: 199,
  signature: { words: wordsOf(SIGN.pattern), test: hasSubject },
  detect(message: BounceMessage) {
    if (!hasSubject(message) && !SIGN.test(message.reportText, message.lowerReportText())) return undefined;
    const reason: string[] = [];
    const addresses: string[] = [];
    let section: 'none' | 'reason' | 'recipients' = 'none';
    for (const line of message.reportText.split('\n')) {
      if (REASON_START.test(line)) section = 'reason';
      else if (RECIPIENTS_START.test(line)) section = 'recipients';
      else if (END.test(line)) section = 'none';
      else if (section === 'reason' && line.trim() !== '') reason.push(line.trim());
      else if (section === 'recipients') {
        if (line.trim() === '' && addresses.length > 0) section = 'none';
        else addresses.push(...addressesIn(line));
      }
    }
    const found = failures(addresses);
    if (found === undefined || reason.length === 0) return found;
    return withDiagnostics(found, new Map(found.permanent.map((address) => [address, reason.join(' ')])));
  },
};
export default mailMarshal;
