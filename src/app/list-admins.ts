/**
 * A list's owners and moderators. As resources (the REST API's
 * `/lists/{list}/owners` and `/moderators`): listed, added and removed,
 * each one store transaction, the same records `members add|remove --role`
 * changes. A list may be left without owners, as `members remove` allows
 * (nothing refuses it); removing the last owner answers the warning
 * `lists show` gives for such a list.
 *
 * Who gets a list's administrative notices (a post held, a member disabled
 * by bounces, mail to -owner): its owners and moderators; for a list with
 * neither, the site owner (`[site] owner`, default postmaster of the list's
 * domain, RFC 5321's always-valid mailbox), so such a notice always has
 * somebody to go to instead of ending in `shunt`.
 */
import type { MailingList, Member, Store } from '../store/index.js';
import type { AppContext } from './context.js';

/** The roles that administer a list. */
export const ADMIN_ROLES = ['owner', 'moderator'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** A list's owners or moderators, by address; ListUnknownError if there is no such list. */
export async function listAdmins(ctx: Pick<AppContext, 'store'>, list: string, role: AdminRole): Promise<Member[]> {
  const found = await ctx.store.getList(list);
  return ctx.store.members(found.address, { role });
}

/** Make an address an owner or moderator of the list (MemberExistsError if it is already, AddressInvalidError for no address). */
export function addListAdmin(ctx: Pick<AppContext, 'store'>, list: string, role: AdminRole, admin: { address: string; displayName?: string }): Promise<Member> {
  return ctx.store.addMember(list, { ...admin, role });
}

export interface RemovedAdmin {
  /** The record as it was. */
  removed: Member;
  /** Removing the last owner: where the list's notices go now (ownerWarning); else null. */
  warning: string | null;
}

/** Take the role away from an address (MemberUnknownError if it does not hold it). */
export async function removeListAdmin(ctx: Pick<AppContext, 'store' | 'siteOwner'>, list: string, role: AdminRole, address: string): Promise<RemovedAdmin> {
  const removed = await ctx.store.removeMember(list, address, role);
  if (role !== 'owner') return { removed, warning: null };
  const found = await ctx.store.getList(removed.list);
  const counts = { owner: await ctx.store.countMembers(found.address, { role: 'owner' }), moderator: await ctx.store.countMembers(found.address, { role: 'moderator' }) };
  return { removed, warning: ownerWarning(found, counts, ctx.siteOwner) };
}

export interface NoticeAdmins {
  /** Owners and moderators, or the site owner alone. */
  addresses: string[];
  /** The site owner, when the list has nobody of its own (else null). */
  siteOwner: string | null;
}

/** The site owner for `list`: the configured one, else postmaster@ its domain. */
export function siteOwnerFor(list: Pick<MailingList, 'domain'>, configured: string | undefined): string {
  return configured ?? `postmaster@${list.domain}`;
}

export async function noticeAdmins(store: Store, list: MailingList, configuredSiteOwner: string | undefined): Promise<NoticeAdmins> {
  const admins = [...(await store.members(list.address, { role: 'owner' })), ...(await store.members(list.address, { role: 'moderator' }))].map((member) => member.address);
  if (admins.length > 0) return { addresses: admins, siteOwner: null };
  const siteOwner = siteOwnerFor(list, configuredSiteOwner);
  return { addresses: [siteOwner], siteOwner };
}

/** What to tell an operator about a list with no owner (null when it has one). */
export function ownerWarning(list: MailingList, counts: { owner: number; moderator: number }, configuredSiteOwner: string | undefined): string | null {
  if (counts.owner > 0) return null;
  const who = counts.moderator > 0 ? 'its moderators' : `the site owner ${siteOwnerFor(list, configuredSiteOwner)} ([site] owner)`;
  return `${list.address} has no owner: its notices (held posts, bounces, -owner mail) go to ${who}; add one with \`switchyard members add ${list.address} ADDRESS --role owner\``;
}
