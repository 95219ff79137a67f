/**
 * Membership: add, remove, list, import, export, re-enable and change the
 * role of a list's members, owners and moderators (Mailman's
 * `app/membership.py`). The store normalises and validates addresses
 * (AddressInvalidError) and names unknown lists and members
 * (ListUnknownError, MemberUnknownError, MemberExistsError).
 *
 * Each call is one store transaction, except importMembers (one per batch,
 * see src/store/member-import.ts: killed midway, the batches committed stay
 * and a second import counts them as existing) and setMemberRole (two:
 * killed between them the address holds both roles, and running it again
 * finishes the change).
 */
import { MemberUnknownError, type Member, type ModerationAction, type Role } from '../store/index.js';
import { formatMemberLine, importMembers as importMemberLines, type ImportProgress, type ImportResult, type InvalidLine } from '../store/member-import.js';

export { countMemberRows, type ImportProgress, type ImportResult, type InvalidLine } from '../store/member-import.js';
import type { AppContext } from './context.js';

type StoreContext = Pick<AppContext, 'store'>;

export interface NewMembership {
  address: string;
  displayName?: string;
  /** Default 'member'. */
  role?: Role;
}

export function addMember(ctx: StoreContext, list: string, member: NewMembership): Promise<Member> {
  return ctx.store.addMember(list, member);
}

/** Take one role away from an address; the member as it was. */
export function removeMember(ctx: StoreContext, list: string, address: string, role: Role = 'member'): Promise<Member> {
  return ctx.store.removeMember(list, address, role);
}

/** By address; every role unless `role` is given. */
export function listMembers(ctx: StoreContext, list: string, options: { role?: Role } = {}): Promise<Member[]> {
  return ctx.store.members(list, options.role === undefined ? {} : { role: options.role });
}

/** Re-enable delivery to a member (disabled by bounces or by the member), clearing the bounce score and reminders. */
export function enableMember(ctx: StoreContext, list: string, address: string): Promise<Member> {
  return ctx.store.updateMember(list, address, 'member', { deliveryStatus: 'enabled', bounceScore: 0, bounceWarningsSent: 0, lastBounceWarningAt: null });
}

/**
 * Stop delivery to a member by the owner's decision (`by_owner`, Mailman's
 * by_moderator): the member stays on the list and may still post; only
 * `enableMember` delivers again. Bounces no longer score a disabled member.
 */
export function disableMember(ctx: StoreContext, list: string, address: string): Promise<Member> {
  return ctx.store.updateMember(list, address, 'member', { deliveryStatus: 'by_owner' });
}

/**
 * The member's own moderation action (what the posting chain's moderation
 * rule does with their posts), or null for the list's defaultMemberAction.
 * `role`: an owner or moderator posting has one of their own too.
 */
export function setModerationAction(ctx: StoreContext, list: string, address: string, action: ModerationAction | null, role: Role = 'member'): Promise<Member> {
  return ctx.store.updateMember(list, address, role, { moderationAction: action });
}

export interface ImportOptions {
  /** The role every address is given. Default 'member'. */
  role?: Role;
  /** Validate and count what would be added; nothing is written. */
  dryRun?: boolean;
  /** Rows per transaction and progress report (default 5000; the HTTP import reports every 1000). */
  batchSize?: number;
  /** The number of member rows (countMemberRows()), carried in each progress report. */
  total?: number;
  /** Called after the header and after each committed batch; awaited. */
  onProgress?: (linesRead: number, progress: ImportProgress) => unknown;
  /** Each invalid line as found (then the result's `invalid` stays empty); awaited. */
  onInvalid?: (invalid: InvalidLine) => unknown;
}

/**
 * Add every member of a member file (one per line, or CSV with a header
 * naming address, name, delivery_mode, delivery_status; see
 * src/store/member-import.ts). `open` is called only once the list is known
 * to exist, so an unknown list is reported before a file is read. Invalid
 * lines are reported (in the result, or to onInvalid) and do not stop the
 * import; a header naming an unknown column stops it before anything is
 * written (MemberImportHeaderError). The CLI, the REST API and the web
 * admin all import through this.
 */
export async function importMembers(ctx: StoreContext, list: string, open: () => Promise<AsyncIterable<string> | Iterable<string>>, options: ImportOptions = {}): Promise<ImportResult> {
  const found = await ctx.store.getList(list);
  const lines = await open();
  const { role, ...rest } = options;
  return importMemberLines(ctx.store, found.address, lines, { role: role ?? 'member', ...rest });
}

/** The lines of a member file that importMembers reads back: `csv` (address,name) or `lines` (the address alone). */
export async function exportMembers(ctx: StoreContext, list: string, options: { role?: Role; format?: 'csv' | 'lines' } = {}): Promise<string[]> {
  const members = await ctx.store.members(list, { role: options.role ?? 'member' });
  return members.map((member) => formatMemberLine(member, options.format ?? 'csv'));
}

/**
 * Move an address from one role to another (a member made a moderator),
 * keeping its display name. Done already (only the new role held): the
 * membership in it. MemberUnknownError when the address holds neither.
 */
export async function setMemberRole(ctx: StoreContext, list: string, address: string, change: { from: Role; to: Role }): Promise<Member> {
  const { store } = ctx;
  if (change.from === change.to) return store.getMember(list, address, change.to);
  const current = await store.findMember(list, address, change.from);
  const target = await store.findMember(list, address, change.to);
  if (current === null) {
    if (target !== null) return target;
    throw new MemberUnknownError(list, address, change.from);
  }
  const moved = target ?? (await store.addMember(list, { address: current.address, displayName: current.displayName, role: change.to }));
  await store.removeMember(list, current.address, change.from);
  return moved;
}

export interface MemberPage {
  members: Member[];
  /** Give as `after` for the next page; null on the last page. */
  next: { address: string; role: Role } | null;
}

/**
 * One page of a list's member records, by address (the HTTP API's cursor
 * paging): `limit` records after `after`, optionally only those matching
 * `search`. ListUnknownError if there is no such list.
 */
export async function pageMembers(ctx: StoreContext, list: string, page: { role?: Role; after?: { address: string; role: Role }; search?: string; limit: number }): Promise<MemberPage> {
  // One more than asked tells whether another page follows without a count.
  const rows = await ctx.store.memberPage(list, { ...page, limit: page.limit + 1 });
  const members = rows.slice(0, page.limit);
  const last = members.at(-1);
  return { members, next: rows.length > page.limit && last !== undefined ? { address: last.address, role: last.role } : null };
}
