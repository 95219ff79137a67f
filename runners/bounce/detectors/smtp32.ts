/**
 * IMail's SMTP32 (`X-Mailer: <SMTP32 vN.NN>`): one line per failed
 * recipient, behind one of a few labels, before "Original message follows":
 *
 *     Delivery failed 3 attempts: anne@example.org
 *     unknown user: "bob@example.org"
 *     user mailbox is full: carl@example.org
 *     undeliverable to dora@example.org
 */
import { addressesIn } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { failures, withDiagnostics, type Detector } from '../detector.js';

const LABELLED = /^\s*((?:user mailbox[^:]*|delivery failed[^:]*|unknown user[^:]*|delivery userid[^:]*):|undeliverable +to)\s*(\S+)/i;
const END = /original message follows/i;

function isSmtp32(message: BounceMessage): boolean {
  return (message.header('X-Mailer') ?? '').startsWith('<SMTP32 v');
}

const smtp32: Detector = {
  name: 'smtp32',
  order: 198,
  signature: { test: isSmtp32 },
  detect(message: BounceMessage) {
    if (!isSmtp32(message)) return undefined;
    const addresses: string[] = [];
    const diagnostics = new Map<string, string>();
    for (const line of message.text.split('\n')) {
      if (END.test(line)) break;
      const match = LABELLED.exec(line);
      if (!match) continue;
      for (const address of addressesIn(match[2] as string)) {
        addresses.push(address);
        diagnostics.set(address, line.trim());
      }
    }
    return withDiagnostics(failures(addresses), diagnostics);
  },
};
export default smtp32;
