/**
 * The facts about each failed recipient once a detector has named it: the
 * reason (reason-text.ts), the enhanced status code, the SMTP reply code and
 * the remote MTA's reply text, and from those its class.
 *
 * Where the words about a recipient come from, first found wins: the
 * detector's own (Failures.diagnostics), the recipient's DSN group
 * (Diagnostic-Code and Status), the lines of the report around the first
 * mention of the address, and, when the bounce names one recipient only, the
 * whole report and its subject.
 *
 * The class: the status code's class when there is one (5 permanent, 4
 * temporary; RFC 3463), else the reply code's, else what the detector said
 * (a delay warning is temporary, a failure report permanent). Whether a
 * bounce counts against the member is the reason's business, later
 * (src/bounce/reasons.ts).
 */
import type { BounceReason } from '../../src/bounce/reasons.js';
import type { BounceMessage } from './bounce-message.js';
import type { Failures } from './detector.js';
import { deliveryStatusesOf, recipientAddress } from './dsn.js';
import { diagnose } from './reason-text.js';

export interface BouncedRecipient {
  address: string;
  permanent: boolean;
  reason: BounceReason;
  /** Enhanced status code (`5.1.1`), when the bounce gives one. */
  status?: string;
  /** SMTP reply code (`550`), when the bounce gives one. */
  reply?: string;
  /** The remote MTA's reply (or the report's words about this recipient), at most REPLY_TEXT_MAX characters. */
  replyText?: string;
}

export const REPLY_TEXT_MAX = 500;

interface Words {
  text: string;
  status?: string;
  /** The text is a reply (a Diagnostic-Code, a quoted server answer), worth showing. */
  isReply: boolean;
}

function dsnWords(message: BounceMessage): Map<string, Words> {
  const words = new Map<string, Words>();
  for (const status of deliveryStatusesOf(message)) {
    for (const recipient of status.recipients) {
      const text = (recipient.diagnosticCode ?? '').replace(/^\s*(?:smtp|x-[\w-]+|mta|dns)\s*;\s*/i, '');
      const entry: Words = { text, isReply: text !== '', ...(recipient.status ? { status: recipient.status.code } : {}) };
      for (const address of [recipientAddress(recipient), recipient.finalRecipient?.address, recipient.originalRecipient?.address]) {
        if (address !== undefined && !words.has(address.toLowerCase())) words.set(address.toLowerCase(), entry);
      }
    }
  }
  return words;
}

/**
 * The index of the first of `lines` that names `key` (lower case), -1 when none does: one search of the
 * lower-cased text, then its line breaks counted (lower-casing never adds or removes a line break).
 */
function lineNaming(lowerText: string, key: string): number {
  const at = lowerText.indexOf(key);
  if (at < 0) return -1;
  let line = 0;
  for (let i = lowerText.indexOf('\n'); i >= 0 && i < at; i = lowerText.indexOf('\n', i + 1)) line++;
  return line;
}

/** The lines about `address`: the line naming it and the indented or following lines up to a blank line or the next address. */
function windowAround(lines: readonly string[], lowerText: string, address: string): string {
  const at = lineNaming(lowerText, address.toLowerCase());
  if (at < 0) return '';
  const taken = [lines[at] as string];
  let blanks = 0;
  for (let i = at + 1; i < lines.length && taken.length < 8; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') {
      // One blank line may separate an address from its reason (Exim, Sendmail); two end it.
      if (++blanks > 1 || taken.length > 2) break;
      continue;
    }
    if (/@/.test(line) && /^\s*<?[^\s@<>]+@[^\s@<>]+>?:?\s*(?:\[|$)/.test(line)) break;
    if (/^\s*-{3,}/.test(line) && taken.length > 1) break;
    taken.push(line);
  }
  return taken.join('\n');
}

function squeeze(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > REPLY_TEXT_MAX ? `${oneLine.slice(0, REPLY_TEXT_MAX - 1)}…` : oneLine;
}

/** One BouncedRecipient per address of `found`, permanent ones first. */
export function recipientFacts(message: BounceMessage, found: Failures): BouncedRecipient[] {
  const dsn = message.deliveryStatus.length > 0 ? dsnWords(message) : new Map<string, Words>();
  const lines = message.reportLines();
  const total = found.permanent.length + found.temporary.length;
  const facts: BouncedRecipient[] = [];
  const describe = (address: string, permanentByDetector: boolean): void => {
    const key = address.toLowerCase();
    const given = found.diagnostics?.[key];
    const fromDsn = dsn.get(key);
    let words: Words = given !== undefined ? { text: given, isReply: true } : (fromDsn ?? { text: windowAround(lines, message.lowerReportText(), address), isReply: false });
    let diagnosis = diagnose(words.text, words.status);
    if (diagnosis.reason === 'undefined' && total === 1) {
      // One recipient: the whole report is about it.
      const whole = diagnose(`${message.subject}\n${message.reportText.slice(0, 2000)}`, diagnosis.status);
      diagnosis = { ...whole, ...(diagnosis.status ? { status: diagnosis.status } : {}), ...(diagnosis.reply ? { reply: diagnosis.reply } : {}) };
      if (words.text.trim() === '') words = { ...words, text: '' };
    }
    const code = diagnosis.status ?? diagnosis.reply;
    const permanent = code?.startsWith('5') ? true : code?.startsWith('4') ? false : permanentByDetector;
    const replyText = words.text.trim() === '' ? undefined : squeeze(words.text);
    facts.push({
      address,
      permanent,
      reason: diagnosis.reason,
      ...(diagnosis.status === undefined ? {} : { status: diagnosis.status }),
      ...(diagnosis.reply === undefined ? {} : { reply: diagnosis.reply }),
      ...(replyText === undefined ? {} : { replyText }),
    });
  };
  for (const address of found.permanent) describe(address, true);
  for (const address of found.temporary) describe(address, false);
  return facts.sort((a, b) => Number(b.permanent) - Number(a.permanent));
}
