/**
 * The posting-chain rules by name (src/registry.ts): what a chain
 * (../chains.ts) is made of. One file per rule in this directory; a rule is
 * added by writing its file and registering it here, so the list of rules an
 * operator can name is this one explicit table.
 */
import { Registry } from '../../../src/registry.js';
import type { Rule } from '../chain.js';
import { administrivia } from './administrivia.js';
import { approved } from './approved.js';
import { dmarcMitigation } from './dmarc-mitigation.js';
import { emergency } from './emergency.js';
import { fromAddresses } from './from-addresses.js';
import { implicitDestination } from './implicit-destination.js';
import { loop } from './loop.js';
import { maxHops } from './max-hops.js';
import { maxRecipients } from './max-recipients.js';
import { moderation } from './moderation.js';
import { noFrom } from './no-from.js';
import { noSubject } from './no-subject.js';
import { overlongLines } from './overlong-lines.js';
import { size } from './size.js';
import { suspiciousHeader } from './suspicious-header.js';
import { unparseable } from './unparseable.js';

const DIR = 'runners/incoming/rules';

function entry(rule: Rule, file: string, description: string) {
  return { name: rule.name, description, module: `${DIR}/${file}.ts`, implementation: rule };
}

export const RULES = new Registry<Rule>('posting-chain rule')
  .register(entry(loop, 'loop', 'discard our own post coming back (List-Id / X-BeenThere)'))
  .register(entry(maxHops, 'max-hops', 'discard a post with more Received fields than maxHops (a mail loop)'))
  .register(entry(approved, 'approved', 'accept on the moderator password (Approved: header or first body line)'))
  .register(entry(noFrom, 'no-from', 'hold a post without exactly one From naming an address'))
  .register(entry(fromAddresses, 'from-addresses', 'hold a From naming more than maxFromAddresses authors'))
  .register(entry(overlongLines, 'overlong-lines', 'hold a post with a line over 998 octets that cannot be folded or re-encoded'))
  .register(entry(emergency, 'emergency', "hold everything while the list's emergency flag is set"))
  .register(entry(moderation, 'moderation', "the member's or the list's moderation action for this poster"))
  .register(entry(dmarcMitigation, 'dmarc-mitigation', "look up the From domain's DMARC policy: refuse (dmarcMitigateAction reject/discard) or mark for the dmarc handler"))
  .register(entry(unparseable, 'unparseable', 'hold what mailparser could not read'))
  .register(entry(administrivia, 'administrivia', 'hold (un)subscribe requests sent to the list'))
  .register(entry(size, 'size', 'hold posts over maxMessageSize (and those too large to inspect)'))
  .register(entry(implicitDestination, 'implicit-destination', 'hold posts that name the list in neither To nor Cc'))
  .register(entry(maxRecipients, 'max-recipients', 'hold posts with more than maxNumRecipients To/Cc addresses'))
  .register(entry(suspiciousHeader, 'suspicious-header', 'hold posts with a header matching suspiciousHeaders'))
  .register(entry(noSubject, 'no-subject', 'hold (or accept, per noSubjectAction) posts without a subject'))
  .freeze();
