/**
 * RFC 3464 fields written into the text of a bounce instead of a
 * message/delivery-status part (Amazon WorkMail's "Technical report:",
 * gateways that flatten a report to text/plain, DSNs forwarded as text):
 *
 *     Technical report:
 *
 *     Reporting-MTA: dsn; a27-85.smtp-out.us-west-2.amazonses.com
 *
 *     Action: failed
 *     Final-Recipient: rfc822; anne@example.org
 *     Diagnostic-Code: smtp; 550 5.1.1 <anne@example.org>... User Unknown
 *     Status: 5.1.1
 *
 * The field lines of the report text (not of the returned original) go
 * through the same strict parser as a real part (../dsn.ts). Only when the
 * message has no delivery-status part of its own.
 */
import type { BounceMessage } from '../bounce-message.js';
import { failures, withDiagnostics, wordsOf, type Detector } from '../detector.js';
import { LiteralGate } from '../literal-gate.js';
import { parseDeliveryStatus, recipientAddress, recipientFailure } from '../dsn.js';

const DSN_FIELD = /^(?:Reporting-MTA|Received-From-MTA|Arrival-Date|Final-Recipient|Original-Recipient|Action|Status|Diagnostic-Code|Remote-MTA|Last-Attempt-Date|Will-Retry-Until)\s*:/i;

/** The DSN field lines of `text` with their continuations; blank lines kept as group separators. */
export function inlineFields(text: string): string {
  const kept: string[] = [];
  let inField = false;
  for (const line of text.split('\n')) {
    if (DSN_FIELD.test(line)) {
      kept.push(line);
      inField = true;
    } else if (inField && /^[ \t]+\S/.test(line)) {
      kept.push(line);
    } else if (kept.length > 0 && kept[kept.length - 1] !== '' && /^X-[\w-]+\s*:/i.test(line)) {
      // An extension field (X-Actual-Recipient, ...) inside a group: skipped, the group goes on.
      inField = false;
    } else {
      if (kept.length > 0 && kept[kept.length - 1] !== '') kept.push('');
      inField = false;
    }
  }
  return kept.join('\n');
}

const FINAL_RECIPIENT = new LiteralGate(/^Final-Recipient\s*:/im);

const inlineDsn: Detector = {
  name: 'inline-dsn',
  order: 15,
  signature: { words: wordsOf(FINAL_RECIPIENT.pattern) },
  detect(message: BounceMessage) {
    if (message.deliveryStatus.length > 0 || !FINAL_RECIPIENT.test(message.reportText, message.lowerReportText())) return undefined;
    const permanent: string[] = [];
    const temporary: string[] = [];
    const diagnostics = new Map<string, string>();
    for (const recipient of parseDeliveryStatus(inlineFields(message.reportText)).recipients) {
      const address = recipientAddress(recipient);
      const failure = recipientFailure(recipient);
      if (address === undefined || failure === undefined) continue;
      (failure === 'permanent' ? permanent : temporary).push(address);
      const words = [recipient.diagnosticCode?.replace(/^\s*smtp\s*;\s*/i, ''), recipient.status?.code].filter((part) => part !== undefined && part !== '').join(' ');
      if (words !== '') diagnostics.set(address, words);
    }
    return withDiagnostics(failures(permanent, temporary), diagnostics);
  },
};
export default inlineDsn;
