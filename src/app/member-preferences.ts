/**
 * Member preferences: how posts reach a member (every post, or a digest),
 * whether delivery is on, and the small choices Mailman 3 offers
 * (receiveOwnPostings, receiveListCopy, acknowledgePosts, hideAddress,
 * preferredLanguage). One place that parses and validates `key=value` for
 * every caller: `switchyard members set`, the `set` email command and the
 * HTTP API. The delivery query (Store.deliveryAddresses) applies them.
 *
 * deliveryStatus is the one on/off flag members already had (src/store:
 * enabled, by_user, by_bounces, by_owner); the `disabled_by_*` spellings
 * are accepted for it. Who may set what:
 * - an owner (the CLI, the API) any of it; `enabled` also clears the bounce
 *   score and reminders, as `members enable` does;
 * - the member by mail: delivery on or off (by_user) and the rest, but not
 *   delivery back on when the owner or bounces turned it off for the owner:
 *   that is `members enable`.
 *
 * Each call is one store transaction.
 */
import { EXIT_USAGE, SwitchyardError } from '../errors.js';
import { DELIVERY_MODES, DELIVERY_STATES, deliveryModeOf, deliveryStatusOf, type DeliveryMode, type DeliveryStatus, type Member, type MemberChanges } from '../store/index.js';
import type { AppContext } from './context.js';

type StoreContext = Pick<AppContext, 'store'>;

/** A preference key that does not exist, or a value it does not take; the message lists what it takes. */
export class MemberPreferenceError extends SwitchyardError {
  constructor(readonly key: string, problem: string) {
    super('SY_MEMBER_PREFERENCE', `member preference ${key}: ${problem}`, { exitCode: EXIT_USAGE });
  }
}

/** The member may not do this by mail (delivery disabled by the owner or by bounces). */
export class MemberPreferenceRefusedError extends SwitchyardError {
  constructor(message: string) {
    super('SY_MEMBER_PREFERENCE_REFUSED', message);
  }
}

/** What `members set` and `set` change: the preferences and the delivery status. */
export type PreferenceChanges = Pick<MemberChanges, 'deliveryMode' | 'deliveryStatus' | 'receiveOwnPostings' | 'receiveListCopy' | 'acknowledgePosts' | 'hideAddress' | 'preferredLanguage'>;
export type PreferenceKey = keyof PreferenceChanges;

/** A BCP 47 language tag in its short everyday form: `en`, `pt-BR`, `zh-Hant`, `es-419`. */
const LANGUAGE_TAG = /^[a-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|\d{3}))?$/;
const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

function flag(key: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  throw new MemberPreferenceError(key, `${JSON.stringify(value)} is not a yes/no value (true, false, yes, no, on, off)`);
}

function deliveryMode(value: string): DeliveryMode {
  const mode = deliveryModeOf(value);
  if (mode !== undefined) return mode;
  throw new MemberPreferenceError('deliveryMode', `${JSON.stringify(value)} is not one of ${DELIVERY_MODES.join(', ')} (or mime, plain, summary, off)`);
}

function deliveryStatus(value: string): DeliveryStatus {
  const status = deliveryStatusOf(value);
  if (status !== undefined) return status;
  throw new MemberPreferenceError('deliveryStatus', `${JSON.stringify(value)} is not one of ${DELIVERY_STATES.join(', ')} (or on, off)`);
}

function language(value: string): string | null {
  if (['default', 'none', ''].includes(value.toLowerCase())) return null;
  if (LANGUAGE_TAG.test(value)) return value;
  throw new MemberPreferenceError('preferredLanguage', `${JSON.stringify(value.slice(0, 40))} is not a language tag like en, pt-BR (or default)`);
}

interface PreferenceSpec {
  key: PreferenceKey;
  /** The short words of Mailman 2's `set` command that mean the same. */
  aliases: readonly string[];
  description: string;
  parse(value: string): PreferenceChanges;
}

export const PREFERENCES: readonly PreferenceSpec[] = [
  { key: 'deliveryMode', aliases: ['digest', 'digests'], description: 'regular | mime_digests | plain_digests | summary_digests (or mime, plain, summary, off)', parse: (v) => ({ deliveryMode: deliveryMode(v) }) },
  { key: 'deliveryStatus', aliases: ['delivery'], description: 'enabled | by_user | by_owner | by_bounces (or on, off, disabled_by_user, ...)', parse: (v) => ({ deliveryStatus: deliveryStatus(v) }) },
  { key: 'receiveOwnPostings', aliases: ['myposts', 'self'], description: 'get a copy of your own posts (default yes)', parse: (v) => ({ receiveOwnPostings: flag('receiveOwnPostings', v) }) },
  { key: 'receiveListCopy', aliases: ['listcopy'], description: 'get the list copy of a post that also names you in To/Cc (default yes)', parse: (v) => ({ receiveListCopy: flag('receiveListCopy', v) }) },
  // Mailman 2's `nodupes on` means no list copy: the inverse of receiveListCopy.
  { key: 'receiveListCopy', aliases: ['nodupes', 'duplicates'], description: 'nodupes on: no list copy of posts that name you in To/Cc', parse: (v) => ({ receiveListCopy: !flag('nodupes', v) }) },
  { key: 'acknowledgePosts', aliases: ['ack'], description: 'be told when your post was accepted (default no)', parse: (v) => ({ acknowledgePosts: flag('acknowledgePosts', v) }) },
  { key: 'hideAddress', aliases: ['hide', 'conceal'], description: 'leave your address out of the `who` roster (default no)', parse: (v) => ({ hideAddress: flag('hideAddress', v) }) },
  { key: 'preferredLanguage', aliases: ['language'], description: 'a language tag such as en or pt-BR, or default', parse: (v) => ({ preferredLanguage: language(v) }) },
];

const BY_WORD = new Map<string, PreferenceSpec>();
for (const spec of PREFERENCES) {
  // The first spec of a key owns its name; aliases are each their own.
  if (!BY_WORD.has(spec.key.toLowerCase())) BY_WORD.set(spec.key.toLowerCase(), spec);
  for (const alias of spec.aliases) BY_WORD.set(alias, spec);
}

/** The preference keys, for messages and help. */
export const PREFERENCE_KEYS: readonly PreferenceKey[] = [...new Set(PREFERENCES.map((spec) => spec.key))];

/** One `key` and `value` as changes; MemberPreferenceError naming the valid keys or values. */
export function parsePreference(key: string, value: string): PreferenceChanges {
  const spec = BY_WORD.get(key.toLowerCase());
  if (spec === undefined) throw new MemberPreferenceError(key.slice(0, 40), `no such preference; the preferences are ${PREFERENCE_KEYS.join(', ')}`);
  return spec.parse(value.trim());
}

/** `key=value` pairs (the CLI's words) as one set of changes; later pairs win. */
export function parsePreferenceAssignments(pairs: readonly string[]): PreferenceChanges {
  if (pairs.length === 0) throw new MemberPreferenceError('(none)', `give at least one key=value; the preferences are ${PREFERENCE_KEYS.join(', ')}`);
  let changes: PreferenceChanges = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new MemberPreferenceError(pair.slice(0, 40), 'expected key=value');
    changes = { ...changes, ...parsePreference(pair.slice(0, eq), pair.slice(eq + 1)) };
  }
  return changes;
}

/** The store changes for `changes`: turning delivery on also clears the bounce score and reminders. */
function storeChanges(changes: PreferenceChanges): MemberChanges {
  if (changes.deliveryStatus !== 'enabled') return changes;
  return { ...changes, bounceScore: 0, bounceWarningsSent: 0, lastBounceWarningAt: null };
}

/** An owner's change (CLI, API): any preference, any delivery status. MemberUnknownError for a non-member. */
export function setMemberPreferences(ctx: StoreContext, list: string, address: string, changes: PreferenceChanges): Promise<Member> {
  return ctx.store.updateMember(list, address, 'member', storeChanges(changes));
}

/**
 * The member's own change (the `set` email command): as an owner's, except
 * that delivery stopped by the owner or by bounces is not turned back on
 * (MemberPreferenceRefusedError), and a member can only stop it as by_user.
 */
export async function setOwnPreferences(ctx: StoreContext, list: string, address: string, changes: PreferenceChanges): Promise<Member> {
  const member = await ctx.store.getMember(list, address, 'member');
  const refusal = ownPreferenceRefusal(member, changes);
  if (refusal !== null) throw new MemberPreferenceRefusedError(refusal);
  if (changes.deliveryStatus !== undefined) {
    // Already so: a member turning delivery on again must not reset a bounce score by mail.
    if (changes.deliveryStatus === member.deliveryStatus) {
      const { deliveryStatus: _same, ...rest } = changes;
      return ctx.store.updateMember(list, address, 'member', rest);
    }
  }
  return ctx.store.updateMember(list, address, 'member', storeChanges(changes));
}

/** Why the member may not make these changes themselves (see setOwnPreferences), or null. */
export function ownPreferenceRefusal(member: Member, changes: PreferenceChanges): string | null {
  if (changes.deliveryStatus === undefined) return null;
  if (changes.deliveryStatus !== 'enabled' && changes.deliveryStatus !== 'by_user') return `delivery can be turned on or off by the member, not set to ${changes.deliveryStatus}`;
  if (member.deliveryStatus === 'by_owner' || member.deliveryStatus === 'by_bounces') {
    const who = member.deliveryStatus === 'by_owner' ? 'the list owner' : 'too many bounces';
    return `delivery to ${member.address} was disabled by ${who}; the list owner can re-enable it`;
  }
  return null;
}

/** The changes as `key: value` lines, in the order of preferenceLines(). */
export function changeLines(changes: PreferenceChanges): string[] {
  return (Object.entries(changes) as [string, unknown][]).filter(([, value]) => value !== undefined).map(([key, value]) => `${key}: ${value === null ? 'default' : String(value)}`);
}

/** A member's preferences as `key: value` lines (the `set show` reply). */
export function preferenceLines(member: Member): string[] {
  return [
    `deliveryStatus: ${member.deliveryStatus}`,
    `deliveryMode: ${member.deliveryMode}`,
    `receiveOwnPostings: ${member.receiveOwnPostings}`,
    `receiveListCopy: ${member.receiveListCopy}`,
    `acknowledgePosts: ${member.acknowledgePosts}`,
    `hideAddress: ${member.hideAddress}`,
    `preferredLanguage: ${member.preferredLanguage ?? 'default'}`,
  ];
}
