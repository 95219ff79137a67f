/**
 * Who gets a list's administrative notices (a post held, a member disabled
 * by bounces, mail to -owner): its owners and moderators; for a list with
 * neither, the site owner (`[site] owner`, default postmaster of the list's
 * domain, RFC 5321's always-valid mailbox), so such a notice always has
 * somebody to go to instead of ending in `shunt`.
 */
import type { MailingList, Store } from '../store/index.js';

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
