/**
 * Postfix's non-DSN bounce (Postfix before 2.3, and the notification text of
 * later versions when the report part is lost, e.g. a bounce forwarded by a
 * filter):
 *
 *     This is the Postfix program at host mail.example.org.
 *     ...
 *                             The Postfix program
 *
 *     <anne@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1
 *         <anne@example.org>: Recipient address rejected: User unknown (in
 *         reply to RCPT TO command)
 *
 * Later versions say "This is the mail system at host ..." and sign "The mail
 * system". As in flufl.bounce: after the signature line, each line that
 * starts with `<address>:` names a failed recipient (continuation lines are
 * indented). A delay warning ("# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO
 * RESEND YOUR MESSAGE. #") lists recipients still being tried: temporary.
 */
import type { BounceMessage } from '../bounce-message.js';
import { addressesInBlocks, failures, leadingBracketAddress, wordsOf, type Detector } from '../detector.js';

const INTRO = /This is the (?:Postfix program|mail system) at host /i;
const SIGNATURE = /^\s*The (?:Postfix program|mail system)\s*$/i;
const WARNING = /THIS IS A WARNING ONLY\.\s+YOU DO NOT NEED TO RESEND YOUR MESSAGE/i;
const END = /^(?:Reporting-MTA:|-{2,}|Content-Description:)/i;

const postfix: Detector = {
  name: 'postfix',
  order: 130,
  signature: { words: wordsOf(INTRO) },
  detect(message: BounceMessage) {
    if (!INTRO.test(message.text)) return undefined;
    const addresses = addressesInBlocks(message.lines(), { start: SIGNATURE, end: END, pick: leadingBracketAddress });
    return WARNING.test(message.text) ? failures([], addresses) : failures(addresses);
  },
};
export default postfix;
