/**
 * The bounce reasons and what each one means for the member: THE table
 * (README "Bounce reasons" repeats it for operators; test/bounce/reasons.test.ts
 * keeps the two in step).
 *
 * The vocabulary follows Sisimai's, so its documentation explains each one;
 * the detectors (runners/bounce/reason-text.ts) name one per failed recipient.
 * What a reason does to the member's score (scoring.ts):
 *
 * - `permanent`: the address is gone; adds 1.0.
 * - `temporary`: the address exists but could not take the message now; 0.5.
 * - `not-member`: the receiving side refused the *list* (its IP, its content,
 *   its authentication): the member did nothing wrong, so nothing is added;
 *   the bounce is counted for the destination domain instead, because a
 *   provider blocking the list is the operator's emergency.
 * - `by-status`: no reason could be told; the delivery status class decides
 *   (5.x.x permanent, else temporary), as before reasons existed.
 */

export type ReasonWeight = 'permanent' | 'temporary' | 'not-member' | 'by-status';

export const BOUNCE_REASONS = {
  userunknown: { weight: 'permanent', description: 'no such mailbox at the destination' },
  hostunknown: { weight: 'permanent', description: 'the domain does not exist or has no mail host' },
  hasmoved: { weight: 'permanent', description: 'the mailbox moved to another address' },
  notaccept: { weight: 'permanent', description: 'the domain accepts no mail at all (null MX)' },
  mailboxfull: { weight: 'temporary', description: 'mailbox over quota' },
  suspend: { weight: 'temporary', description: 'mailbox disabled or suspended for now' },
  expired: { weight: 'temporary', description: 'gave up after retrying for the queue lifetime' },
  filtered: { weight: 'temporary', description: "refused by the recipient's own filter or settings" },
  rejected: { weight: 'temporary', description: 'the envelope sender was refused' },
  mesgtoobig: { weight: 'temporary', description: 'the message is larger than the destination takes' },
  networkerror: { weight: 'temporary', description: 'DNS, routing, connection trouble, mail loops' },
  systemerror: { weight: 'temporary', description: 'the destination has a system problem' },
  toomanyconn: { weight: 'temporary', description: 'too many connections or messages: rate limited' },
  blocked: { weight: 'not-member', description: "the list's IP address or domain is blocked (blocklist, reputation)" },
  spamdetected: { weight: 'not-member', description: "the list's message was judged spam" },
  policyviolation: { weight: 'not-member', description: "the list's message breaks the destination's policy" },
  securityerror: { weight: 'not-member', description: 'authentication (SPF, DKIM, DMARC, TLS) failed, or a virus was found' },
  undefined: { weight: 'by-status', description: 'no reason could be told: the status class decides' },
} as const satisfies Record<string, { weight: ReasonWeight; description: string }>;

export type BounceReason = keyof typeof BOUNCE_REASONS;

export const REASON_NAMES = Object.keys(BOUNCE_REASONS) as BounceReason[];

export function isBounceReason(value: unknown): value is BounceReason {
  return typeof value === 'string' && Object.hasOwn(BOUNCE_REASONS, value);
}

/** What a bounce of `reason` counts as for the member; `permanent` is the status class, used for `by-status`. */
export function reasonWeight(reason: string | undefined, permanent: boolean): Exclude<ReasonWeight, 'by-status'> {
  const weight = isBounceReason(reason) ? BOUNCE_REASONS[reason].weight : 'by-status';
  if (weight === 'by-status') return permanent ? 'permanent' : 'temporary';
  return weight;
}

/** The reasons that are the list's problem, not the member's. */
export const NOT_MEMBER_REASONS: readonly BounceReason[] = REASON_NAMES.filter((reason) => BOUNCE_REASONS[reason].weight === 'not-member');
