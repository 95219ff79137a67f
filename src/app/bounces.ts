/**
 * Bounces as the operator sees them: each member's score and delivery state
 * (`bounceScores`), and the warnings pass (`runBounceWarnings`: reminders
 * to members disabled by bounces, removal after the last, stale scores
 * reset; the pass itself is src/bounce/warnings.ts, with its crash windows).
 * Scoring a bounce as it arrives is the bounce runner's (src/bounce/processor.ts).
 */
import { VIRGIN_QUEUE } from '../../runners/queue-ids.js';
import { effectiveScore } from '../bounce/scoring.js';
import { runWarningsPass, type WarningsPassResult } from '../bounce/warnings.js';
import type { ComplaintAction, ComplaintRecord, DeliveryStatus, DomainBounces, DomainRefusals, MailingList, Member } from '../store/index.js';
import type { AppContext } from './context.js';

/** Where bounce notices go: the virgin runner delivers them. */

/** One member's bounce standing. */
export interface BounceRow {
  address: string;
  /** The score as it stands now: 0 once stale (bounceInfoStaleAfter). */
  score: number;
  lastBounceAt: string | null;
  /** The reason of the member's last recorded bounce (src/bounce/reasons.ts), null when none. */
  lastReason: string | null;
  deliveryStatus: DeliveryStatus;
  warningsSent: number;
  lastWarningAt: string | null;
  /** The delivery state in words, reminders counted. */
  state: string;
}

export interface BounceScores {
  list: MailingList;
  /** The list's bounceScoreThreshold, at which delivery is disabled. */
  threshold: number;
  /** Destinations refusing the list (blocked, spam, policy, security): not held against members. */
  domains: DomainBounces[];
  /** The same destinations' refusals in the last REFUSAL_WINDOW_MS (24 hours). */
  recentRefusals: DomainRefusals[];
  /** Complaints about members (ARF, SES), newest first, with what was done. */
  complaints: ComplaintRecord[];
  members: BounceRow[];
}

/** The window `status` and `bounces` count a destination's refusals of the list over. */
export const REFUSAL_WINDOW_MS = 24 * 3600 * 1000;

function stateText(member: Member, list: MailingList): string {
  switch (member.deliveryStatus) {
    case 'enabled':
      return 'enabled';
    case 'by_user':
      return 'disabled by member';
    case 'by_owner':
      return 'disabled by the owner';
    case 'by_bounces':
      return `disabled by bounces (reminders ${member.bounceWarningsSent}/${list.settings.bounceYouAreDisabledWarnings})`;
  }
}

/**
 * The list's members (role member) with a bounce history or delivery
 * disabled; every member with `all`. ListUnknownError if there is no list.
 */
export async function bounceScores(ctx: Pick<AppContext, 'store' | 'now'>, address: string, options: { all?: boolean } = {}): Promise<BounceScores> {
  const list = await ctx.store.getList(address);
  const members = await ctx.store.members(list.address, { role: 'member' });
  const reasons = await ctx.store.lastBounceReasons(list.address);
  const domains = await ctx.store.domainBounces(list.address);
  const recentRefusals = await ctx.store.domainRefusals(new Date(ctx.now().getTime() - REFUSAL_WINDOW_MS), { list: list.address });
  const complaints = await ctx.store.complaints(list.address);
  const shown = options.all ? members : members.filter((m) => m.bounceScore > 0 || m.lastBounceAt !== null || m.deliveryStatus !== 'enabled' || reasons.has(m.address.toLowerCase()));
  const now = ctx.now();
  return {
    list,
    threshold: list.settings.bounceScoreThreshold,
    domains,
    recentRefusals,
    complaints,
    members: shown.map((member) => ({
      address: member.address,
      score: effectiveScore(member, now, list.settings.bounceInfoStaleAfter),
      lastBounceAt: member.lastBounceAt?.toISOString() ?? null,
      lastReason: reasons.get(member.address.toLowerCase()) ?? null,
      deliveryStatus: member.deliveryStatus,
      warningsSent: member.bounceWarningsSent,
      lastWarningAt: member.lastBounceWarningAt?.toISOString() ?? null,
      state: stateText(member, list),
    })),
  };
}

export interface BounceWarningsOptions {
  /** Only these lists (default every list); an unknown one is ListUnknownError before anything is done. */
  lists?: readonly string[];
}

/**
 * The warnings pass over every list (or `lists`), its notices enqueued on
 * `virgin`, with one log line saying what it did (info when it reminded or
 * removed anyone, debug otherwise). What the scheduler runs on
 * `cron.bounceWarnings` and `switchyard bounces --run-warnings` runs for
 * one list. Idempotent at one moment: run again, it finds nothing due.
 */
export async function runBounceWarnings(
  ctx: Pick<AppContext, 'store' | 'now' | 'enqueue' | 'log'>,
  options: BounceWarningsOptions = {},
): Promise<WarningsPassResult> {
  const result = await runWarningsPass({
    store: ctx.store,
    now: () => ctx.now().getTime(),
    enqueue: async (notice) => void (await ctx.enqueue(VIRGIN_QUEUE, notice.message, notice.metadata)),
    ...(options.lists === undefined ? {} : { lists: options.lists }),
  });
  const level = result.warned.length + result.removed.length > 0 ? 'info' : 'debug';
  ctx.log?.[level]({ warned: result.warned, removed: result.removed, staleScoresReset: result.staleScoresReset, lists: result.lists }, 'bounce warnings pass');
  return result;
}

/** Feedback types that are the recipient saying "this is spam" (RFC 5965): the list acts on these; others (auth-failure, not-spam, virus, other) are recorded only. */
export const USER_COMPLAINT_TYPES: readonly string[] = ['abuse', 'fraud'];

export interface ComplaintReport {
  feedbackType: string;
  /** Who complained, most trusted first (runners/bounce/complaint.ts). */
  addresses: readonly string[];
  at: Date;
  /** The report's Message-ID, or its queue entry. */
  source: string;
}

export type ComplaintOutcome =
  /** No address of the report is a member of the list: nothing recorded. */
  | { kind: 'non-member' }
  | { kind: 'recorded'; complaint: ComplaintRecord; repeat: boolean };

/** What the list does about a complaint of `feedbackType`: its complaintAction for a user's spam report, else record only. */
export function complaintActionFor(list: MailingList, feedbackType: string): ComplaintAction {
  return USER_COMPLAINT_TYPES.includes(feedbackType.toLowerCase()) ? list.settings.complaintAction : 'record';
}

/**
 * A complaint that reached the list's bounces address: recorded for the
 * first of its addresses that is a member, and acted on as the list's
 * `complaintAction` says (unsubscribe by default: a complaint is the
 * recipient telling their provider they do not want the list's mail, and
 * every further message to them is another complaint against the list's
 * reputation). No notice goes to the complainer, for the same reason.
 * One store transaction (Store.recordComplaint); the same report processed
 * again after a crash is recognised and not acted on twice.
 */
export async function recordComplaint(ctx: Pick<AppContext, 'store' | 'log'>, list: MailingList, report: ComplaintReport): Promise<ComplaintOutcome> {
  const action = complaintActionFor(list, report.feedbackType);
  for (const address of report.addresses) {
    let recorded;
    try {
      recorded = await ctx.store.recordComplaint({ list: list.address, address, at: report.at, feedbackType: report.feedbackType.toLowerCase(), source: report.source, action });
    } catch (error) {
      // An address the store refuses (invalid syntax) is no member of anything.
      if ((error as { code?: unknown }).code === 'SY_ADDRESS_INVALID') continue;
      throw error;
    }
    if (recorded === null) continue;
    if (!recorded.repeat) {
      ctx.log?.warn({ list: list.address, member: recorded.complaint.address, feedbackType: recorded.complaint.feedbackType, action: recorded.complaint.action }, 'complaint about the list by a member');
    }
    return { kind: 'recorded', complaint: recorded.complaint, repeat: recorded.repeat };
  }
  return { kind: 'non-member' };
}
