/**
 * Bounces as the operator sees them: each member's score and delivery state
 * (`bounceScores`), and the warnings pass (`runBounceWarnings`: reminders
 * to members disabled by bounces, removal after the last, stale scores
 * reset; the pass itself is src/bounce/warnings.ts, with its crash windows).
 * Scoring a bounce as it arrives is the bounce runner's (src/bounce/processor.ts).
 */
import { effectiveScore } from '../bounce/scoring.js';
import { runWarningsPass, type WarningsPassResult } from '../bounce/warnings.js';
import type { DeliveryStatus, DomainBounces, MailingList, Member } from '../store/index.js';
import type { AppContext } from './context.js';

/** Where bounce notices go: the virgin runner delivers them. */
export const NOTICE_QUEUE = 'virgin';

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
  members: BounceRow[];
}

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
  const shown = options.all ? members : members.filter((m) => m.bounceScore > 0 || m.lastBounceAt !== null || m.deliveryStatus !== 'enabled' || reasons.has(m.address.toLowerCase()));
  const now = ctx.now();
  return {
    list,
    threshold: list.settings.bounceScoreThreshold,
    domains,
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
    enqueue: async (notice) => void (await ctx.enqueue(NOTICE_QUEUE, notice.message, notice.metadata)),
    ...(options.lists === undefined ? {} : { lists: options.lists }),
  });
  const level = result.warned.length + result.removed.length > 0 ? 'info' : 'debug';
  ctx.log?.[level]({ warned: result.warned, removed: result.removed, staleScoresReset: result.staleScoresReset, lists: result.lists }, 'bounce warnings pass');
  return result;
}
