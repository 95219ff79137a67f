/**
 * The bounce score (Mailman 3's rule, per list):
 *
 * - the bounce's reason (reasons.ts, the one table) decides what it adds:
 *   permanent reasons (userunknown, hostunknown, ...) 1.0, temporary ones
 *   (mailboxfull, suspend, expired, ...) 0.5, and the list's own problems
 *   (blocked, spamdetected, policyviolation, securityerror) nothing: those
 *   are counted per destination domain instead (processor.ts); a bounce
 *   without a known reason counts by its class (permanent 1.0, else 0.5);
 * - at most one increment per member per UTC day: a day counts as its worst
 *   bounce (a temporary one in the morning and a permanent one at noon make
 *   1.0 for the day, not 1.5; ten permanent ones make 1.0);
 * - a score whose last bounce is more than `bounceInfoStaleAfter` days old
 *   starts again from 0 (the address recovered; old trouble is forgotten);
 * - at `bounceScoreThreshold` delivery is disabled (`by_bounces`) and the
 *   warnings clock starts (warnings.ts).
 *
 * Only enabled members are scored: a member who stopped delivery themselves
 * (`by_user`) or is already disabled by bounces has the event recorded and
 * nothing else. With `processBounces` off, events are recorded and the score
 * left alone.
 *
 * Pure: the store runs the scorer inside its transaction (Store.recordBounce),
 * with the member as stored and the events of the same day.
 */
import { reasonWeight } from './reasons.js';
import type { BounceEvent, BounceScorer, ListSettings, Member, MemberChanges, NewBounceEvent } from '../store/index.js';

export const PERMANENT_INCREMENT = 1;
export const TEMPORARY_INCREMENT = 0.5;
export const DAY_MS = 86_400_000;

export type ScoringSettings = Pick<ListSettings, 'bounceScoreThreshold' | 'bounceInfoStaleAfter' | 'processBounces'>;

/** What a bounce adds, by its reason (reasons.ts): permanent 1.0, temporary 0.5, the list's own problem nothing. */
export function increment(event: { permanent: boolean; reason?: string }): number {
  switch (reasonWeight(event.reason, event.permanent)) {
    case 'permanent':
      return PERMANENT_INCREMENT;
    case 'temporary':
      return TEMPORARY_INCREMENT;
    case 'not-member':
      return 0;
  }
}

/** Whether a score last raised at `lastBounceAt` is forgotten by `at`. */
export function isStale(lastBounceAt: Date | null, at: Date, staleAfterDays: number): boolean {
  return lastBounceAt !== null && at.getTime() - lastBounceAt.getTime() > staleAfterDays * DAY_MS;
}

export function nextBounceState(settings: ScoringSettings, member: Member, event: NewBounceEvent, sameDay: readonly BounceEvent[]): MemberChanges {
  // Blocked, spam verdicts, policy, authentication: the list's problem, recorded but not held against the member.
  if (increment(event) === 0) return {};
  const later = member.lastBounceAt !== null && member.lastBounceAt.getTime() > event.at.getTime() ? member.lastBounceAt : event.at;
  if (!settings.processBounces || member.deliveryStatus !== 'enabled') return { lastBounceAt: later };
  const base = isStale(member.lastBounceAt, event.at, settings.bounceInfoStaleAfter) ? 0 : member.bounceScore;
  const countedToday = sameDay.reduce((worst, earlier) => Math.max(worst, increment(earlier)), 0);
  const bounceScore = base + Math.max(0, increment(event) - countedToday);
  const changes: MemberChanges = { bounceScore, lastBounceAt: later };
  if (bounceScore >= settings.bounceScoreThreshold) {
    changes.deliveryStatus = 'by_bounces';
    changes.bounceWarningsSent = 0;
    changes.lastBounceWarningAt = event.at;
  }
  return changes;
}

export function bounceScorer(settings: ScoringSettings): BounceScorer {
  return (member, event, sameDay) => nextBounceState(settings, member, event, sameDay);
}

/** The score as it stands at `now`: 0 once stale (the store resets it at the next bounce or warnings pass). */
export function effectiveScore(member: Member, now: Date, staleAfterDays: number): number {
  return member.deliveryStatus === 'enabled' && isStale(member.lastBounceAt, now, staleAfterDays) ? 0 : member.bounceScore;
}
