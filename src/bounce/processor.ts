/**
 * One bounce attributed to one address of one list: recorded as a bounce
 * event (with its reason, status and reply code) and scored (scoring.ts) in one store transaction; when that crosses
 * the threshold, the notices to send (to the member, and to the owners if
 * `bounceNotifyOwnerOnDisable`). The caller enqueues those on `virgin`.
 *
 * No files here: the runner (runners/bounce.ts) names the crash windows.
 */
import type { MailingList, Store } from '../store/index.js';
import { disabledNotice, ownerDisabledNotice, type VirginNotice } from './notices.js';
import { reasonWeight } from './reasons.js';
import { bounceScorer } from './scoring.js';

export interface Bounce {
  address: string;
  permanent: boolean;
  at: Date;
  /** The bounce's Message-ID, or the SMTP reply. */
  source: string;
  /** reasons.ts; undefined: none known (the class decides). */
  reason?: string;
  status?: string;
  reply?: string;
  /** The remote MTA's reply text, kept with a per-domain count. */
  replyText?: string;
}

export type BounceOutcome =
  /** Not a member of the list: nothing recorded. */
  | { kind: 'non-member' }
  /** Recorded and scored; `score` is the member's score after it. */
  | { kind: 'recorded'; score: number }
  /** Recorded, and delivery disabled by it. */
  | { kind: 'disabled'; score: number; notices: VirginNotice[] };

export async function applyBounce(store: Store, list: MailingList, bounce: Bounce): Promise<BounceOutcome> {
  if (reasonWeight(bounce.reason, bounce.permanent) === 'not-member') {
    // The destination refused the list itself: count it for the domain, member or not (shown by `bounces` and `status`).
    const domain = bounce.address.slice(bounce.address.lastIndexOf('@') + 1);
    await store.recordDomainBounce(list.address, { domain, reason: bounce.reason as string, at: bounce.at, ...(bounce.replyText === undefined ? {} : { reply: bounce.replyText }) });
  }
  const recorded = await store.recordBounce(
    {
      list: list.address,
      address: bounce.address,
      at: bounce.at,
      permanent: bounce.permanent,
      source: bounce.source.slice(0, 1000),
      ...(bounce.reason === undefined ? {} : { reason: bounce.reason }),
      ...(bounce.status === undefined ? {} : { status: bounce.status }),
      ...(bounce.reply === undefined ? {} : { reply: bounce.reply }),
    },
    bounceScorer(list.settings),
  );
  if (recorded === null) return { kind: 'non-member' };
  const { after } = recorded;
  // Disabled by this very bounce: scoring stamps the warnings clock with its time. Also true when the
  // bounce is processed again after a crash that came before its notices were enqueued, so they are
  // sent then (at least once; perhaps twice), never lost.
  const disabledByThis = after.deliveryStatus === 'by_bounces' && after.bounceWarningsSent === 0 && after.lastBounceWarningAt?.getTime() === bounce.at.getTime();
  if (disabledByThis) {
    const notices = [disabledNotice(list, after, bounce.at)];
    if (list.settings.bounceNotifyOwnerOnDisable) notices.push(ownerDisabledNotice(list, after, bounce.at));
    return { kind: 'disabled', score: after.bounceScore, notices };
  }
  return { kind: 'recorded', score: after.bounceScore };
}
