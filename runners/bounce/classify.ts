/**
 * Who bounced, and how: the classification of one message that reached a
 * list's bounces address. In order:
 *
 * 1. The content: the DSN detector, then the MTA-specific detectors
 *    (detectors/, by `order`); a DSN reporting only successes is not a
 *    bounce; then the auto-reply / challenge-response check (not-bounce.ts);
 *    then the generic phrase detectors (simple-match, simple-warning).
 * 2. VERP: when the envelope recipient is a VERP address
 *    (`name-bounces+anne=example.org@domain`, src/mail/verp.ts), it names
 *    the recipient exactly, whatever addresses the content gives (a
 *    forwarded address, an alias): that recipient failed permanently,
 *    unless the content says it is only delayed (temporary), or that the
 *    message is no bounce at all (an auto-reply sent to the VERP address).
 *    A VERP message whose content nothing recognises counts as permanent,
 *    as in Mailman: VERP exists for the bounces no parser understands.
 *
 * Pure: no files, no store. The runner runs it in its worker pool
 * (classify-worker.ts); `switchyard bounce-scan` in-process.
 */
import { decodeVerp } from '../../src/mail/verp.js';
import { parseBounceMessage, type BounceMessage } from './bounce-message.js';
import { GENERIC_ORDER, type Failures } from './detector.js';
import { DETECTORS } from './detectors/index.js';
import { sesNonBounce } from './detectors/amazon-ses.js';
import { isSuccessReport } from './detectors/dsn.js';
import { complaintOf, type Complaint } from './complaint.js';
import { notBounceReason, type NotBounce } from './not-bounce.js';
import { recipientFacts, type BouncedRecipient } from './recipient-facts.js';
import { SignatureScan } from './signature-scan.js';

/** The MTA-specific detectors (those before GENERIC_ORDER), behind one signature scan per message. */
const SPECIFIC = DETECTORS.filter((detector) => detector.order < GENERIC_ORDER);
const SPECIFIC_SCAN = new SignatureScan(SPECIFIC);
const GENERIC = DETECTORS.filter((detector) => detector.order >= GENERIC_ORDER);

export type { BouncedRecipient } from './recipient-facts.js';

export interface Classification {
  permanent: string[];
  temporary: string[];
  /** Per failed address: class, reason, status and reply (recipient-facts.ts); the same addresses as permanent + temporary. */
  recipients: BouncedRecipient[];
  /** The detector that decided: `verp`, `dsn`, `exim`, ...; null when none did. */
  detector: string | null;
  /** Set when the message is not a bounce; the address lists are then empty. */
  notBounce?: NotBounce;
  /** With notBounce `complaint`: the feedback type and who complained (complaint.ts). */
  complaint?: Complaint;
  /** With VERP: the detector that recognised the content, if one did. */
  contentDetector?: string;
  /** The bounce message's own Message-ID, for the bounce event's source. */
  messageId?: string;
}

export interface ClassifyOptions {
  /** The address the message was delivered to (queue metadata envelopeRecipient): VERP is decoded from it. */
  envelopeRecipient?: string;
}

interface ContentResult {
  failures?: Failures;
  recipients?: BouncedRecipient[];
  detector?: string;
  notBounce?: NotBounce;
  complaint?: Complaint;
}

function classifyContent(message: BounceMessage, envelopeRecipient: string | undefined): ContentResult {
  // Before the MTA detectors: a success report's prose names its recipients just as a bounce's does.
  if (isSuccessReport(message)) return { notBounce: 'success-report' };
  // A complaint (ARF, RFC 5965, or SES) or an SES Delivery notification: never a bounce.
  const complaint = complaintOf(message, envelopeRecipient);
  if (complaint !== undefined) return { notBounce: 'complaint', complaint };
  const ses = sesNonBounce(message);
  if (ses !== undefined) return { notBounce: ses };
  const possible = SPECIFIC_SCAN.possible(message);
  for (let index = 0; index < SPECIFIC.length; index++) {
    if (!possible[index]) continue;
    const detector = SPECIFIC[index] as (typeof SPECIFIC)[number];
    const found = detector.detect(message);
    if (found) return described(message, found, detector.name);
  }
  const notBounce = notBounceReason(message);
  if (notBounce) return { notBounce };
  for (const detector of GENERIC) {
    const found = detector.detect(message);
    if (found) return described(message, found, detector.name);
  }
  return {};
}

/** The detector's addresses with their facts; the class is the facts' (status code first), so `failures` is rebuilt from them. */
function described(message: BounceMessage, found: Failures, detector: string): ContentResult {
  const recipients = recipientFacts(message, found);
  const failures: Failures = {
    permanent: recipients.filter((recipient) => recipient.permanent).map((recipient) => recipient.address),
    temporary: recipients.filter((recipient) => !recipient.permanent).map((recipient) => recipient.address),
  };
  return { failures, recipients, detector };
}

/** `classification` with the bounce's Message-ID set on it (a field added, not a copy: this runs for every bounce). */
function withMessageId<T extends Classification>(classification: T, message: BounceMessage): T {
  if (message.messageId !== undefined) classification.messageId = message.messageId;
  return classification;
}

export function classify(message: BounceMessage, options: ClassifyOptions = {}): Classification {
  const content = classifyContent(message, options.envelopeRecipient);
  const verp = options.envelopeRecipient === undefined ? undefined : decodeVerp(options.envelopeRecipient);
  if (content.notBounce) {
    const complaint = content.complaint === undefined ? {} : { complaint: content.complaint };
    return withMessageId({ permanent: [], temporary: [], recipients: [], detector: null, notBounce: content.notBounce, ...complaint }, message);
  }
  if (verp === undefined) {
    const failures = content.failures ?? { permanent: [], temporary: [] };
    return withMessageId({ permanent: failures.permanent, temporary: failures.temporary, recipients: content.recipients ?? [], detector: content.detector ?? null }, message);
  }
  const recipient = verp.recipient;
  const key = recipient.toLowerCase();
  const failures = content.failures;
  let temporary = false;
  if (failures) {
    const named = (list: readonly string[]): boolean => list.some((address) => address.toLowerCase() === key);
    // The content's word on this very recipient if it names it; else its worst.
    temporary = named(failures.temporary) || (!named(failures.permanent) && failures.permanent.length === 0 && failures.temporary.length > 0);
  }
  // The facts the content gives about this recipient, else about its worst failure; none: undefined reason.
  const named = content.recipients?.find((candidate) => candidate.address.toLowerCase() === key) ?? content.recipients?.find((candidate) => candidate.permanent === !temporary);
  const facts: BouncedRecipient = { ...(named ?? { reason: 'undefined' as const }), address: recipient, permanent: !temporary };
  return withMessageId(
    {
      permanent: temporary ? [] : [recipient],
      temporary: temporary ? [recipient] : [],
      recipients: [facts],
      detector: 'verp',
      ...(content.detector === undefined ? {} : { contentDetector: content.detector }),
    },
    message,
  );
}

export async function classifyMessage(raw: Uint8Array, options: ClassifyOptions = {}): Promise<Classification> {
  return classify(await parseBounceMessage(raw), options);
}
