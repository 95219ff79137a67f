/**
 * Non-member moderation lists (Mailman's accept_these_nonmembers,
 * hold_these_nonmembers, reject_these_nonmembers, discard_these_nonmembers):
 * add, remove and look at the addresses and `^regex` patterns of a list, and
 * the decision the posting chain's moderation rule takes from them.
 *
 * The patterns are list settings (src/store/list-settings.ts), validated
 * there and here (src/store/nonmember-patterns.ts): a bad or dangerous
 * regular expression is refused with ListSettingError and nothing changes.
 * A change reads the list, then writes the setting (one transaction each):
 * two operators changing one list's patterns at the same moment, the later
 * write wins and `list` shows which.
 */
import { matchesNonmemberPattern, nonmemberPatternProblem, normaliseNonmemberPattern } from '../store/nonmember-patterns.js';
import { ListSettingError, type ListSettings, type ModerationAction } from '../store/index.js';
import type { AppContext } from './context.js';

type StoreContext = Pick<AppContext, 'store'>;

/** The setting holding each action's patterns, in the order Mailman checks them. */
export const NONMEMBER_SETTINGS = {
  accept: 'acceptTheseNonmembers',
  hold: 'holdTheseNonmembers',
  reject: 'rejectTheseNonmembers',
  discard: 'discardTheseNonmembers',
} as const satisfies Record<ModerationAction, keyof ListSettings>;

export type NonmemberPatterns = Record<ModerationAction, string[]>;

export function nonmemberPatternsOf(settings: ListSettings): NonmemberPatterns {
  return { accept: settings.acceptTheseNonmembers, hold: settings.holdTheseNonmembers, reject: settings.rejectTheseNonmembers, discard: settings.discardTheseNonmembers };
}

/** The first action whose list matches the non-member `address` (accept, hold, reject, discard: Mailman's order), or null. */
export function nonmemberDecision(settings: ListSettings, address: string): { action: ModerationAction; pattern: string } | null {
  const patterns = nonmemberPatternsOf(settings);
  for (const action of Object.keys(NONMEMBER_SETTINGS) as ModerationAction[]) {
    const pattern = patterns[action].find((candidate) => matchesNonmemberPattern(candidate, address));
    if (pattern !== undefined) return { action, pattern };
  }
  return null;
}

export async function listNonmemberPatterns(ctx: StoreContext, list: string): Promise<NonmemberPatterns> {
  return nonmemberPatternsOf((await ctx.store.getList(list)).settings);
}

export interface NonmemberChange {
  list: string;
  action: ModerationAction;
  pattern: string;
  /** False when there was nothing to do (already there, or not there to remove). */
  changed: boolean;
  patterns: NonmemberPatterns;
}

function checked(action: ModerationAction, pattern: string): string {
  const problem = nonmemberPatternProblem(pattern);
  if (problem !== null) throw new ListSettingError(NONMEMBER_SETTINGS[action], problem);
  return normaliseNonmemberPattern(pattern);
}

/** Add an address or ^regex to the list's `action` non-members; ListSettingError for a bad pattern (checked before the list is looked at). */
export async function addNonmemberPattern(ctx: StoreContext, list: string, action: ModerationAction, pattern: string): Promise<NonmemberChange> {
  const wanted = checked(action, pattern);
  const key = NONMEMBER_SETTINGS[action];
  const found = await ctx.store.getList(list);
  const current = found.settings[key];
  if (current.includes(wanted)) return { list: found.address, action, pattern: wanted, changed: false, patterns: nonmemberPatternsOf(found.settings) };
  const updated = await ctx.store.updateList(found.address, { settings: { [key]: [...current, wanted] } });
  return { list: updated.address, action, pattern: wanted, changed: true, patterns: nonmemberPatternsOf(updated.settings) };
}

/** Remove one (as `list` shows it; an address compared case-insensitively). */
export async function removeNonmemberPattern(ctx: StoreContext, list: string, action: ModerationAction, pattern: string): Promise<NonmemberChange> {
  const key = NONMEMBER_SETTINGS[action];
  const found = await ctx.store.getList(list);
  const current = found.settings[key];
  const same = (stored: string): boolean => (pattern.startsWith('^') ? stored === pattern : stored.toLowerCase() === pattern.toLowerCase());
  const kept = current.filter((stored) => !same(stored));
  if (kept.length === current.length) return { list: found.address, action, pattern, changed: false, patterns: nonmemberPatternsOf(found.settings) };
  const updated = await ctx.store.updateList(found.address, { settings: { [key]: kept } });
  return { list: updated.address, action, pattern, changed: true, patterns: nonmemberPatternsOf(updated.settings) };
}
