/**
 * Whether a post needs DMARC mitigation, decided once per entry and kept in
 * its metadata: `dmarc` (true: mitigate) and `dmarcPolicy` (what DNS said,
 * for `queue show` and the logs). The posting chain's dmarc-mitigation rule
 * decides it (Mailman's place, after moderation); the pipeline's dmarc
 * handler asks again only when the chain did not (a post a moderator
 * approved skips the chain), so neither path sends an unmitigated copy of a
 * p=reject author's post.
 *
 * No lookup when the list mitigates nothing, or everything
 * (dmarcMitigateUnconditionally). Without a resolver (a runner built without
 * the configuration: unit tests, benchmarks) there is no policy to find.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../queues/index.js';
import { lookupDmarcPolicy, policyCallsForMitigation, type DmarcLookup, type TxtResolver } from '../../src/mail/dmarc-policy.js';
import { parseMailboxes } from '../../src/mail/mailbox.js';
import type { RawMessage } from '../../src/mail/raw-message.js';
import type { MailingList } from '../../src/store/index.js';

export interface DmarcVerdictInput {
  readonly list: MailingList;
  readonly message: RawMessage;
  readonly metadata: JsonObject;
  readonly resolveTxt?: TxtResolver;
  readonly log?: Logger;
}

/** The domain of the post's (first) From address, lower-cased; undefined when none is readable. */
export function authorDomain(message: RawMessage): string | undefined {
  const value = message.get('from');
  const address = value === undefined ? undefined : parseMailboxes(value)[0]?.address;
  const at = address?.lastIndexOf('@') ?? -1;
  return address === undefined || at < 0 ? undefined : address.slice(at + 1).toLowerCase().replace(/\.$/, '') || undefined;
}

function recorded(lookup: DmarcLookup): JsonObject {
  return lookup.status === 'policy'
    ? { status: lookup.status, domain: lookup.domain, recordDomain: lookup.recordDomain, policy: lookup.policy, pct: lookup.pct }
    : { status: lookup.status, domain: lookup.domain, reason: lookup.reason };
}

/** Sets metadata.dmarc (and dmarcPolicy after a lookup) unless set already; returns it. */
export async function dmarcVerdict(input: DmarcVerdictInput): Promise<boolean> {
  const { list, message, metadata } = input;
  if (typeof metadata.dmarc === 'boolean') return metadata.dmarc;
  const settings = list.settings;
  if (settings.dmarcMitigateAction === 'no_mitigation') return false;
  if (settings.dmarcMitigateUnconditionally) {
    metadata.dmarc = true;
    return true;
  }
  // No resolver, no policy to find: the From is not parsed for nothing (the chain and the dmarc handler both ask).
  if (input.resolveTxt === undefined) return false;
  const domain = authorDomain(message);
  if (domain === undefined) return false;
  const lookup = await lookupDmarcPolicy(domain, input.resolveTxt);
  metadata.dmarcPolicy = recorded(lookup);
  metadata.dmarc = policyCallsForMitigation(lookup);
  if (lookup.status === 'temperror') input.log?.warn({ domain, reason: lookup.reason }, 'dmarc: policy lookup failed; the post is treated as from a domain without a policy');
  else input.log?.debug({ dmarcPolicy: metadata.dmarcPolicy, mitigate: metadata.dmarc }, 'dmarc: policy looked up');
  return metadata.dmarc;
}
