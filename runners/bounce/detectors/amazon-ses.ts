/**
 * Amazon SES event notifications delivered by mail (SNS email subscriptions
 * or SES's own feedback forwarding): the body is the JSON document SES
 * documents as its "notification contents":
 *
 *     {"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
 *      "bouncedRecipients":[{"emailAddress":"anne@example.org","action":"failed",
 *      "status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}], ...}, "mail":{...}}
 *
 * (`eventType` instead of `notificationType` in event publishing.)
 * bounceType Permanent is permanent, Transient and Undetermined temporary.
 * Complaint and Delivery notifications are not bounces (classify.ts asks
 * isSesNonBounce before the detectors).
 */
import type { BounceMessage } from '../bounce-message.js';
import { failures, withDiagnostics, type Detector } from '../detector.js';

interface SesRecipient {
  emailAddress?: unknown;
  status?: unknown;
  diagnosticCode?: unknown;
}

interface SesNotification {
  notificationType?: unknown;
  eventType?: unknown;
  bounce?: { bounceType?: unknown; bouncedRecipients?: unknown };
}

/** Index of the `}` closing the object that opens at `start` (SNS appends a footer after it); -1 when unclosed. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{') depth++;
    else if (char === '}' && --depth === 0) return i;
  }
  return -1;
}

/** Per message: the classifier asks three times (complaint, delivery, bounce). */
const parsedOnce = new WeakMap<BounceMessage, { notification: SesNotification | undefined }>();

/** The SES notification in the message's text, or undefined. */
export function sesNotification(message: BounceMessage): SesNotification | undefined {
  let cached = parsedOnce.get(message);
  if (cached === undefined) {
    cached = { notification: findNotification(message) };
    parsedOnce.set(message, cached);
  }
  return cached.notification;
}

function findNotification(message: BounceMessage): SesNotification | undefined {
  // Cheap look first: no JSON object at all, no notification (and no copy of the text).
  if (!message.text.includes('{"')) return undefined;
  const text = message.text.trim();
  const start = text.indexOf('{"');
  if (start < 0 || start > 200 || !/"(?:notificationType|eventType)"\s*:/.test(text.slice(0, 4000))) return undefined;
  const end = objectEnd(text, start);
  if (end < 0) return undefined;
  const json = text.slice(start, end + 1);
  // A relay that wraps long lines (Sendmail splits them with "!" and a newline) breaks the JSON: undo that.
  return parseObject(json) ?? parseObject(json.replace(/!?\r?\n[ \t]?/g, ''));
}

function parseObject(json: string): SesNotification | undefined {
  try {
    const parsed = JSON.parse(json) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as SesNotification) : undefined;
  } catch {
    return undefined;
  }
}

function kind(notification: SesNotification): string {
  const type = notification.notificationType ?? notification.eventType;
  return typeof type === 'string' ? type.toLowerCase() : '';
}

/** An SES Delivery or Complaint notification: not a bounce. */
export function sesNonBounce(message: BounceMessage): 'success-report' | 'complaint' | undefined {
  const notification = sesNotification(message);
  if (notification === undefined) return undefined;
  if (kind(notification) === 'delivery') return 'success-report';
  if (kind(notification) === 'complaint') return 'complaint';
  return undefined;
}

const amazonSes: Detector = {
  name: 'amazon-ses',
  order: 20,
  // sesNotification() looks no further without it.
  signature: { words: ['{"'] },
  detect(message: BounceMessage) {
    const notification = sesNotification(message);
    if (notification === undefined || kind(notification) !== 'bounce' || !Array.isArray(notification.bounce?.bouncedRecipients)) return undefined;
    const permanent = notification.bounce.bounceType === 'Permanent';
    const addresses: string[] = [];
    const diagnostics = new Map<string, string>();
    for (const recipient of notification.bounce.bouncedRecipients as SesRecipient[]) {
      if (typeof recipient?.emailAddress !== 'string') continue;
      addresses.push(recipient.emailAddress);
      const words = [recipient.diagnosticCode, recipient.status].filter((part): part is string => typeof part === 'string' && part !== '').join(' ');
      if (words !== '') diagnostics.set(recipient.emailAddress, words.replace(/^\s*smtp\s*;\s*/i, ''));
    }
    return withDiagnostics(permanent ? failures(addresses) : failures([], addresses), diagnostics);
  },
};
export default amazonSes;
