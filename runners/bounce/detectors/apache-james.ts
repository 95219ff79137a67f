/**
 * Apache James (its AbstractNotify / DSNBounce mailets): recognised by the
 * subject `[BOUNCE]`, a JavaMail Message-ID or a "JAMES SMTP Server"
 * Received field. The report names the reason after "Error message below:"
 * and the recipients as `  RCPT TO: address` lines of its "Message details:"
 * block (older versions also list them under "Failed recipient(s):"):
 *
 *     Error message below:
 *     550 - Requested action not taken: no such user here
 *
 *     Message details:
 *       Subject: ...
 *       MAIL FROM: dev-bounces@lists.example.org
 *       RCPT TO: anne@example.org
 *
 * The details block also quotes the original From and To (the list), which
 * are not failed recipients: only RCPT TO counts.
 */
import { addressesIn } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { failures, withDiagnostics, type Detector } from '../detector.js';

const ERROR_START = /^Error message below:\s*$/i;
const DETAILS_START = /^Message details:\s*$/i;
const RCPT = /^\s+RCPT TO:\s*(\S+)/i;

function isJames(message: BounceMessage): boolean {
  if (message.subject.trim() === '[BOUNCE]') return true;
  if (message.messageId?.includes('.JavaMail.')) return true;
  return /JAMES SMTP Server/.test(message.header('Received') ?? '');
}

const apacheJames: Detector = {
  name: 'apache-james',
  order: 115,
  signature: { test: isJames },
  detect(message: BounceMessage) {
    if (!isJames(message)) return undefined;
    const lines = message.reportLines();
    const addresses: string[] = [];
    const reason: string[] = [];
    let section: 'none' | 'error' | 'details' = 'none';
    for (const line of lines) {
      if (ERROR_START.test(line)) section = 'error';
      else if (DETAILS_START.test(line)) section = 'details';
      else if (section === 'error' && line.trim() !== '') reason.push(line.trim());
      else if (section === 'details') {
        const rcpt = RCPT.exec(line);
        if (rcpt) addresses.push(...addressesIn(rcpt[1] as string));
      }
    }
    const found = failures(addresses);
    if (found === undefined || reason.length === 0) return found;
    return withDiagnostics(found, new Map(found.permanent.map((address) => [address, reason.join(' ')])));
  },
};
export default apacheJames;
