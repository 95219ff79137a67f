/**
 * Microsoft's non-delivery reports, in the forms that come without a usable
 * delivery-status part:
 *
 * Exchange 5.5 to 2003:
 *     Your message ... did not reach the following recipient(s):
 *     anne@example.org on 3/3/2025 10:02 AM
 *     SMTP=anne@example.org; on ...          (older)
 *         The e-mail account does not exist at the organization ...
 *         <mail.example.org #5.1.1>
 * and the 2003 DSN text "Delivery to the following recipients failed." /
 * "Delivery to the following recipients has been delayed." (temporary).
 *
 * Exchange 2007 and later, Office 365:
 *     Delivery has failed to these recipients or groups:
 *     Anne Example (anne@example.org)
 *     The e-mail address you entered couldn't be found. ...
 *     Diagnostic information for administrators:
 * and "Delivery is delayed to these recipients or groups:" (temporary).
 *
 * Outlook.com (and Office 365 since 2016):
 *     Your message to anne@outlook.com couldn't be delivered.
 */
import type { BounceMessage } from '../bounce-message.js';
import { addressesIn } from '../addresses.js';
import { addressesInBlocks, failures, lineAddress, wordsOf, type Detector } from '../detector.js';
import { LiteralGate } from '../literal-gate.js';

const OLD_FAILED = /did not reach the following recipient\(s\):|^\s*The following recipient\(s\) (?:cannot|could not) be reached:/i;
const OLD_END = /^\s*(?:MSEXCH:|_{5,}|-{5,}|Original Message|From:|Subject:|Sent:)/i;
const FAILED_2003 = /^\s*Delivery to the following recipients? (?:failed|was aborted)(?: permanently)?\.?\s*$/i;
const DELAYED_2003 = /^\s*Delivery to the following recipients? (?:has been|was) delayed\.?\s*$/i;
const FAILED_2007 = /^\s*Delivery has failed to these recipients or (?:groups|distribution lists):\s*$/i;
const DELAYED_2007 = /^\s*Delivery is delayed to these recipients or (?:groups|distribution lists):\s*$/i;
const END_2007 = /^\s*(?:Diagnostic information for administrators:|Original message headers:|_{5,})/i;
// mailparser renders a link as `text [href]`.
const OUTLOOK = /Your message to <?(\S+@[^\s[\]<>]+?)>?(?:\s*\[[^\]]*\])?\s+couldn't be delivered\./i;
const SIGNS = new LiteralGate(/did not reach the following recipient|The following recipient\(s\) (?:cannot|could not) be reached|Delivery to the following recipients? (?:failed|was aborted|has been delayed|was delayed)|Delivery (?:has failed|is delayed) to these recipients|couldn't be delivered\./i);

/** `anne@example.org on 3/3/2025 ...` or `SMTP=anne@example.org; on ...`. */
function oldStyle(line: string): string[] {
  const smtp = /SMTP=([^;\s]+);/i.exec(line);
  if (smtp) return addressesIn(smtp[1] as string);
  const on = /^\s*'?([^\s']+@[^\s']+?)'?\s+on\s/i.exec(line);
  return on ? addressesIn(on[1] as string) : [];
}

const exchange: Detector = {
  name: 'exchange',
  order: 150,
  signature: { words: wordsOf(SIGNS.pattern) },
  detect(message: BounceMessage) {
    if (!SIGNS.test(message.text, message.lowerText())) return undefined;
    const lines = message.lines();
    const permanent = [
      ...addressesInBlocks(lines, { start: OLD_FAILED, end: OLD_END, pick: oldStyle }),
      ...addressesInBlocks(lines, { start: FAILED_2003, pick: lineAddress, stopAtBlankAfterAddress: true }),
      ...addressesInBlocks(lines, { start: FAILED_2007, end: END_2007, pick: lineAddress }),
    ];
    for (const line of lines) {
      const match = OUTLOOK.exec(line);
      if (match) permanent.push(...addressesIn(match[1] as string));
    }
    const temporary = [
      ...addressesInBlocks(lines, { start: DELAYED_2003, pick: lineAddress, stopAtBlankAfterAddress: true }),
      ...addressesInBlocks(lines, { start: DELAYED_2007, end: END_2007, pick: lineAddress }),
    ];
    return failures(permanent, temporary);
  },
};
export default exchange;
