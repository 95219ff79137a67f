/**
 * Messages that reach a bounces address but are not bounces: vacation and
 * out-of-office replies (RFC 3834 auto-replies, and the many that ignore it),
 * and challenge-response "please confirm you are human" requests. Counting
 * them would disable live members.
 *
 * Asked only after the DSN and MTA-specific detectors found nothing, and
 * never of a message from a mail system (MAILER-DAEMON, postmaster, "Mail
 * Delivery System") or a multipart/report: real bounces also carry
 * `Auto-Submitted: auto-replied` (Postfix and Exim add it), so that field
 * alone decides nothing there.
 */
import type { BounceMessage } from './bounce-message.js';

/** `complaint`: an ARF feedback report or an SES complaint notification (a complaint, not a failure). */
export type NotBounce = 'auto-reply' | 'challenge-response' | 'success-report' | 'complaint';

const MAIL_SYSTEM_LOCAL = /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|mdaemon|mmdf|nobody|bounces?|double-bounce)$/i;
const MAIL_SYSTEM_NAME = /Mail Delivery (?:System|Subsystem|Service)|Mail Administrator|Postmaster|MAILER-DAEMON/i;

const AUTO_REPLY_SUBJECT =
  /^\s*(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|autoreply|auto:|out of (?:the )?office|ooo\b|vacation|away from (?:my|the) (?:desk|office|e-?mail)|abwesenheitsnotiz|abwesend|r[ée]ponse automatique|absence|on (?:annual )?leave|respuesta autom[áa]tica)/i;
const AUTO_REPLY_BODY = /\b(?:I am|I'm|I will be) (?:currently )?(?:out of (?:the )?office|away|on (?:vacation|holiday|leave))\b|\bwith limited access to (?:my )?e-?mail\b/i;

const CHALLENGE_HEADERS = ['x-challenge', 'x-choicemail-registration-request', 'x-spamarrest', 'x-boxbe-status'];
const CHALLENGE_TEXT =
  /\b(?:requires? (?:your )?confirmation|please confirm (?:that )?(?:your message|you are)|verify (?:that )?you are (?:a )?(?:human|real person)|to release your message|approved senders list|not on (?:my|the) (?:whitelist|approved|allowed)|challenge[- ]response|sender verification (?:request|required))/i;

/** From a mail system (MAILER-DAEMON and friends), i.e. a bounce, never an auto-reply. */
export function fromMailSystem(message: BounceMessage): boolean {
  const local = message.from.split('@')[0] ?? '';
  return MAIL_SYSTEM_LOCAL.test(local) || MAIL_SYSTEM_NAME.test(message.fromName);
}

/** Why this message is not a bounce, or undefined when it may be one. */
export function notBounceReason(message: BounceMessage): NotBounce | undefined {
  if (fromMailSystem(message) || message.contentType === 'multipart/report') return undefined;
  const headerPresent = (name: string): boolean => message.has(name);
  const delivery = message.header('X-Delivery-Agent') ?? '';
  if (CHALLENGE_HEADERS.some(headerPresent) || /\bTMDA\b/i.test(delivery)) return 'challenge-response';
  if (CHALLENGE_TEXT.test(message.subject) || CHALLENGE_TEXT.test(message.text.slice(0, 4000))) return 'challenge-response';
  const autoSubmitted = (message.header('Auto-Submitted') ?? 'no').toLowerCase();
  const precedence = (message.header('Precedence') ?? '').toLowerCase();
  if (
    autoSubmitted.startsWith('auto-replied') ||
    headerPresent('x-autoreply') ||
    headerPresent('x-autorespond') ||
    headerPresent('x-autoresponder') ||
    precedence === 'auto_reply' ||
    AUTO_REPLY_SUBJECT.test(message.subject) ||
    AUTO_REPLY_BODY.test(message.text.slice(0, 4000))
  ) {
    return 'auto-reply';
  }
  return undefined;
}
