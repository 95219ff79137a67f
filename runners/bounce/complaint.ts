/**
 * Complaints: a mailbox provider telling the sender that its user marked a
 * message as spam. Not a bounce (the address works), but the strongest
 * signal a provider sends: what the list does about it is the list's
 * `complaintAction` (src/app/bounces.ts). Two shapes reach a bounces address:
 *
 * - an ARF feedback report (RFC 5965): `multipart/report;
 *   report-type=feedback-report` with a `message/feedback-report` part
 *   (`Feedback-Type: abuse`, `Original-Rcpt-To:`, `Removal-Recipient:`) and
 *   the reported message or its header;
 * - an Amazon SES Complaint notification (`complainedRecipients`,
 *   `complaintFeedbackType`).
 *
 * Who complained, in order of trust: the VERP envelope recipient (the
 * provider sent the report to `name-bounces+anne=example.org@...`), the
 * report's Removal-Recipient and Original-Rcpt-To fields, a VERP address in
 * the reported message's Return-Path, and the reported message's To/Cc (a
 * personalised post names the member there; an unpersonalised one names the
 * list, which is no member, so nothing is done). Providers often redact the
 * recipient: then the complaint names nobody and is only counted.
 *
 * Pure: no store. The caller decides which of the addresses are members.
 */
import { decodeVerp } from '../../src/mail/verp.js';
import { addressesIn, uniqueAddresses } from './addresses.js';
import type { BounceMessage } from './bounce-message.js';
import { sesNotification } from './detectors/amazon-ses.js';

/** RFC 5965 section 7.3 (and RFC 6591's auth-failure); anything else is kept as written, lower case. */
export const FEEDBACK_TYPES = ['abuse', 'fraud', 'virus', 'other', 'not-spam', 'auth-failure'] as const;

export interface Complaint {
  /** Feedback-Type, lower case (`abuse` when the report gives none: a provider's complaint is a spam report). */
  feedbackType: string;
  /** Who complained, most trusted first; perhaps none (redacted). */
  addresses: string[];
  /** The reporting software (User-Agent field), when given. */
  userAgent?: string;
}

/** The value of the first `name:` field of an RFC 822-style block (unfolded), or undefined. */
function field(block: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:[ \\t]*([^\\n]*(?:\\n[ \\t][^\\n]*)*)`, 'im').exec(block);
  return match ? (match[1] as string).replace(/\s+/g, ' ').trim() : undefined;
}

function fields(block: string, name: string): string[] {
  return [...block.matchAll(new RegExp(`^${name}:[ \\t]*([^\\n]*)`, 'gim'))].map((match) => match[1] as string);
}

/** The reported message's To/Cc; an inline message/rfc822 part may be rendered into the text, so its fields are looked for there too. */
function reportedRecipients(message: BounceMessage): string[] {
  const attached = message.originalRecipients();
  if (attached.length > 0 || message.returnedHeaders !== '') return attached;
  return [...fields(message.text, 'To'), ...fields(message.text, 'Cc')].flatMap((value) => addressesIn(value));
}

function arfComplaint(message: BounceMessage): Complaint | undefined {
  const report = message.feedbackReport;
  if (report === undefined && message.reportType !== 'feedback-report') return undefined;
  const block = (report ?? '').replace(/\r\n?/g, '\n');
  const type = (field(block, 'Feedback-Type') ?? 'abuse').toLowerCase();
  const named = [...fields(block, 'Removal-Recipient'), ...fields(block, 'Original-Rcpt-To')].flatMap((value) => addressesIn(value));
  // Not addressesIn(): it stops at `=`, which a VERP local part has.
  const returnPath = /<?([^<>\s]+@[^<>\s]+)>?/.exec(field(message.returnedHeaders, 'Return-Path') ?? '')?.[1];
  const verp = returnPath === undefined ? undefined : decodeVerp(returnPath)?.recipient;
  const userAgent = field(block, 'User-Agent');
  return {
    feedbackType: type,
    addresses: uniqueAddresses([...named, ...(verp === undefined ? [] : [verp]), ...reportedRecipients(message)]),
    ...(userAgent === undefined ? {} : { userAgent }),
  };
}

interface SesComplaint {
  complaint?: { complainedRecipients?: unknown; complaintFeedbackType?: unknown; userAgent?: unknown };
}

function sesComplaint(message: BounceMessage): Complaint | undefined {
  const notification = sesNotification(message) as (SesComplaint & { notificationType?: unknown; eventType?: unknown }) | undefined;
  const kind = notification?.notificationType ?? notification?.eventType;
  if (typeof kind !== 'string' || kind.toLowerCase() !== 'complaint') return undefined;
  const details = notification?.complaint ?? {};
  const recipients = Array.isArray(details.complainedRecipients) ? (details.complainedRecipients as Array<{ emailAddress?: unknown }>) : [];
  const addresses = recipients.flatMap((recipient) => (typeof recipient?.emailAddress === 'string' ? addressesIn(recipient.emailAddress) : []));
  const type = typeof details.complaintFeedbackType === 'string' ? details.complaintFeedbackType.toLowerCase() : 'abuse';
  return { feedbackType: type, addresses: uniqueAddresses(addresses), ...(typeof details.userAgent === 'string' ? { userAgent: details.userAgent } : {}) };
}

/** The complaint `message` is, or undefined when it is none. `envelopeRecipient`: where it was delivered (VERP). */
export function complaintOf(message: BounceMessage, envelopeRecipient?: string): Complaint | undefined {
  const complaint = arfComplaint(message) ?? sesComplaint(message);
  if (complaint === undefined) return undefined;
  const verp = envelopeRecipient === undefined ? undefined : decodeVerp(envelopeRecipient)?.recipient;
  return verp === undefined ? complaint : { ...complaint, addresses: uniqueAddresses([verp, ...complaint.addresses]) };
}
