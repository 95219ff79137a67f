/**
 * The bounce detectors by name (src/registry.ts), and DETECTORS: the same
 * detectors in the order classify.ts tries them, sorted by each detector's
 * `order` (MTA-specific formats first, the generic phrase matchers from
 * GENERIC_ORDER on), then name. Adding a detector is writing its file in
 * this directory and registering it here; where it runs is its `order`, not
 * its place in this table.
 */
import { Registry } from '../../../src/registry.js';
import type { Detector } from '../detector.js';
import amazonSes from './amazon-ses.js';
import aol from './aol.js';
import apacheJames from './apache-james.js';
import domino from './domino.js';
import dsn from './dsn.js';
import exchange from './exchange.js';
import exim from './exim.js';
import fml from './fml.js';
import gmx from './gmx.js';
import groupwise from './groupwise.js';
import inlineDsn from './inline-dsn.js';
import mailMarshal from './mailmarshal.js';
import postfix from './postfix.js';
import qmail from './qmail.js';
import returnedOriginal from './returned-original.js';
import sendmail from './sendmail.js';
import simpleMatch from './simple-match.js';
import simpleWarning from './simple-warning.js';
import smtp32 from './smtp32.js';
import yahoo from './yahoo.js';

function detector(implementation: Detector, description: string) {
  return { name: implementation.name, description, module: `runners/bounce/detectors/${implementation.name}.ts`, implementation };
}

export const DETECTOR_REGISTRY = new Registry<Detector>('bounce detector')
  .register(detector(dsn, 'RFC 3464 delivery status notifications (message/delivery-status parts)'))
  .register(detector(inlineDsn, 'RFC 3464 fields written into the text of a bounce (Amazon WorkMail, some gateways)'))
  .register(detector(amazonSes, 'Amazon SES bounce notifications delivered by mail (JSON)'))
  .register(detector(exim, "Exim's own bounce and delay-warning texts"))
  .register(detector(qmail, "qmail-send's bounce and its descendants'"))
  .register(detector(postfix, "Postfix's non-DSN bounce text"))
  .register(detector(sendmail, "Sendmail's text bounces"))
  .register(detector(exchange, "Microsoft Exchange / Office 365 non-delivery reports without a delivery-status part"))
  .register(detector(domino, 'Lotus Notes / IBM Domino delivery failure reports'))
  .register(detector(yahoo, "Yahoo! Mail's own bounces"))
  .register(detector(aol, "AOL's refusal notices"))
  .register(detector(gmx, 'GMX and web.de bounces'))
  .register(detector(apacheJames, 'Apache James (AbstractNotify / DSNBounce mailets) bounce reports'))
  .register(detector(groupwise, 'Novell GroupWise Internet Agent and NTMail "Message status - undeliverable" reports'))
  .register(detector(smtp32, "IMail SMTP32's failed-recipient lines"))
  .register(detector(mailMarshal, 'Trustwave Secure Email Gateway (MailMarshal) "Undeliverable Mail" reports'))
  .register(detector(fml, 'fml mailing-list manager refusing a post from a subscribed list (temporary)'))
  .register(detector(simpleMatch, 'generic failure phrasings of MTAs without a detector of their own'))
  .register(detector(simpleWarning, 'generic delayed-delivery phrasings (temporary failures only)'))
  .register(detector(returnedOriginal, 'last resort: prose reports that return the original with the address in it'))
  .freeze();

/** Every registered detector, by `order`, then name: the order classify.ts tries them in. */
export const DETECTORS: readonly Detector[] = Object.freeze(
  DETECTOR_REGISTRY.entries()
    .map((entry) => entry.implementation)
    .sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
);
