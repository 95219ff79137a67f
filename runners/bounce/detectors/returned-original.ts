/**
 * The last resort, for reports in prose nothing else knows (IMail, Verizon's
 * MMS gateway, MailFoundry, InterScan, mobile carriers, fml, the many
 * anonymised "X" MTAs): a message from a mail system whose report clearly
 * says delivery failed, naming its recipients
 *
 * - in `X-Failed-Recipients` (Exim and others add it to the bounce), or
 * - in the returned original's To/Cc, when the report mentions the address
 *   too, or the original had one recipient only (a display name alone
 *   names nobody), or
 * - in the report text itself, once the addresses that are not recipients
 *   (the bounce's own sender and recipient, the original's sender, mail
 *   system mailboxes) are set aside.
 *
 * Runs after the generic phrase detectors and the auto-reply check. A
 * report that speaks of a delay or a warning gives temporary failures.
 */
import { addressesIn, uniqueAddresses } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { failures, leadingBracketAddress, type Detector } from '../detector.js';
import { LiteralGate } from '../literal-gate.js';
import { fromMailSystem } from '../not-bounce.js';

const FAILURE_SUBJECT =
  /undeliver|undelivered|not delivered|delivery (?:status notification|failure|failed|has failed|problem|error|notification)|returned mail|return(?:ed)? to sender|failure notice|failed mail|mail delivery|could not be delivered|non-?delivery|nondeliverable|\bNDR\b|mail system error|delivery report|メールエラー|エラー|不達|返送|配信/i;
const FAILURE_TEXT = new LiteralGate(
  /could ?n[o']t be delivered|can ?not be delivered|undeliverable|(?:was|were|has|have) not (?:been )?delivered|not be delivered|unable to (?:deliver|send)|deliver(?:y)? (?:has )?failed|failed to deliver|permanent(?:ly)? (?:error|failure|fatal)|fatal errors?|delivery (?:problems?|errors?)|user unknown|no such (?:user|mailbox|recipient)|does not exist|mailbox (?:is )?full|exceeds? allowed size|no valid recipients|rejected|refused|bounced|returned mail|mail system error|account is disabled|送信できませんでした|送信に失敗|配信できませんでした|届きませんでした|エラー/i,
);
const DELAY_TEXT = new LiteralGate(
  /\b(?:delayed|deferred|will (?:keep|continue) (?:trying|to try)|will be retried|still trying|warning only|not yet been delivered|temporar(?:y|ily) (?:problem|failure|error))/i,
);
/** Field lines whose values look like addresses and are not: message identifiers. */
const ID_FIELDS = /^\s*(?:Message-I[dD]|In-Reply-To|References|Content-I[dD]|X-[\w-]*I[dD])\s*:.*$/gim;
/** The same, as a gate: a report with none of them is not searched and rewritten. */
const ANY_ID_FIELD = new LiteralGate(/^\s*(?:Message-I[dD]|In-Reply-To|References|Content-I[dD]|X-[\w-]*I[dD])\s*:.*$/im);
/** A list's own bounces address (plain or VERP): never a failed recipient, even as the returned original's To. */
const LIST_BOUNCES_LOCAL = /.-bounces(?:\+.*)?$/i;
/** Mail-system mailboxes, and a list's own bounces address (plain or VERP), which is never a failed recipient. */
const NOT_RECIPIENT_LOCAL = /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|no-?reply|abuse|root|daemon|bounces?|double-bounce|sysadmin|support|.+-bounces(?:\+.*)?)$/i;

function localPart(address: string): string {
  return address.slice(0, address.lastIndexOf('@'));
}

/** The fields that name the original's sender, with their continuation lines. */
const SENDER_FIELDS = /^(?:From|Sender|Return-Path|Reply-To):[^\n]*(?:\n[ \t][^\n]*)*/gim;

function senderAddresses(block: string): string[] {
  // A block without an `@` names nobody: no search of it.
  if (!block.includes('@')) return [];
  return (block.match(SENDER_FIELDS) ?? []).flatMap((field) => addressesIn(field.replace(/^[^:]+:/, '')));
}

const returnedOriginal: Detector = {
  name: 'returned-original',
  order: 950,
  detect(message: BounceMessage) {
    if (message.reportType === 'feedback-report' || message.reportType === 'disposition-notification') return undefined;
    const report = message.reportText;
    const lowerReport = message.lowerReportText();
    if (!(fromMailSystem(message) || FAILURE_SUBJECT.test(message.subject))) return undefined;
    if (!(FAILURE_TEXT.test(report, lowerReport) || FAILURE_TEXT.pattern.test(message.subject))) return undefined;
    const temporary = DELAY_TEXT.test(report, lowerReport) && !lowerReport.includes('permanent');
    const give = (addresses: string[]): ReturnType<Detector['detect']> => (temporary ? failures([], addresses) : failures(addresses));
    const failed = addressesIn(message.header('X-Failed-Recipients') ?? '');
    if (failed.length > 0) return give(failed);
    // qmail's descendants: `<anne@example.org>:` opening a line, the reason under it.
    const listed = message.reportLines().flatMap((line) => leadingBracketAddress(line));
    if (listed.length > 0) return give(listed);
    const mentioned = lowerReport;
    const original = message.originalRecipients().filter((address) => !LIST_BOUNCES_LOCAL.test(localPart(address)));
    const named = original.filter((address) => mentioned.includes(address.toLowerCase()));
    if (named.length > 0) return give(named);
    // The report's own addresses, less those that are surely not a failed recipient.
    const exclude = new Set(
      [
        message.from,
        ...addressesIn(message.header('To') ?? ''),
        ...addressesIn(message.header('Return-Path') ?? ''),
        ...senderAddresses(message.returnedHeaders),
        ...senderAddresses(report),
      ].map((address) => address.toLowerCase()),
    );
    const inReport = uniqueAddresses(addressesIn(ANY_ID_FIELD.test(report, lowerReport) ? report.replace(ID_FIELDS, '') : report)).filter((address) => !exclude.has(address.toLowerCase()) && !NOT_RECIPIENT_LOCAL.test(localPart(address)));
    if (inReport.length > 0 && inReport.length <= 5) return give(inReport);
    return original.length === 1 ? give(original) : undefined;
  },
};
export default returnedOriginal;
