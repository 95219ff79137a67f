/**
 * fml, the Japanese mailing-list manager, refusing a post (from `NAME-admin@`,
 * with an `X-MLServer` field and a Message-ID containing `.FML`):
 *
 *     You are not a member of this mailing list <ml@fml.example.jp>.
 *     ...
 *     Original mail as follows:
 *
 * The address in angle brackets is the fml list our member address is (a
 * list subscribed to a list): it refused the message because of who sent it
 * (not a member, a loop, a duplicate Message-ID), so the failure is
 * temporary: nothing says the address is gone.
 */
import { addressesIn } from '../addresses.js';
import type { BounceMessage } from '../bounce-message.js';
import { failures, withDiagnostics, type Detector } from '../detector.js';

const END = /^Original mail as follows:/i;

const fml: Detector = {
  name: 'fml',
  order: 195,
  signature: { test: (message) => message.has('X-MLServer') },
  detect(message: BounceMessage) {
    if (!message.has('X-MLServer') || !message.from.includes('-admin@') || !message.messageId?.includes('.FML')) return undefined;
    const addresses: string[] = [];
    const diagnostics = new Map<string, string>();
    for (const line of message.text.split('\n')) {
      if (END.test(line)) break;
      const angled = /<([^<>\s]+@[^<>\s]+)>/.exec(line);
      if (!angled) continue;
      for (const address of addressesIn(angled[1] as string)) {
        addresses.push(address);
        diagnostics.set(address, `${line.trim()} (${message.subject})`);
      }
    }
    return withDiagnostics(failures([], addresses), diagnostics);
  },
};
export default fml;
