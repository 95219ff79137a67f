/**
 * What an importer reads from another list server (Mailman 3 over REST or
 * its database, Mailman 2.1's files), as plain data in switchyard's terms:
 * src/app/site-import.ts applies it to the store. Each reader maps its
 * source's settings here and lists, per list, every setting it could not
 * map (UnmappedSetting), so nothing is dropped without a word.
 */
import type { DeliveryMode, DeliveryStatus, ListSettings, ModerationAction, PendingKind, Role } from '../store/index.js';

/** A source setting with no switchyard equivalent (or only a partial one): shown in the import report. */
export interface UnmappedSetting {
  /** The source's name for it (`anonymous_list`, `template list:member:digest:footer`). */
  setting: string;
  /** Its value, as text. */
  value: string;
  /** Why it is not (fully) imported, and what the operator may do. */
  note: string;
}

export interface ImportedMember {
  address: string;
  displayName: string;
  role: Role;
  deliveryMode: DeliveryMode;
  deliveryStatus: DeliveryStatus;
  receiveOwnPostings: boolean;
  receiveListCopy: boolean;
  acknowledgePosts: boolean;
  hideAddress: boolean;
  preferredLanguage: string | null;
  /** Null: the list's default action. */
  moderationAction: ModerationAction | null;
  bounceScore: number;
  lastBounceAt: Date | null;
  bounceWarningsSent: number;
  lastBounceWarningAt: Date | null;
}

export interface ImportedHeld {
  sender: string;
  subject: string;
  reason: string;
  receivedAt: Date;
  messageId: string | null;
  raw: Buffer;
  /** The source's id for it (Mailman's request id), for the report. */
  sourceId: string;
}

export interface ImportedRequest {
  /** Kept from the source, so a confirmation mail the source sent still works (name-confirm+TOKEN@domain). */
  token: string;
  kind: PendingKind;
  address: string;
  displayName: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface ImportedList {
  address: string;
  displayName: string;
  description: string;
  /** Only the settings the source has an equivalent for; the rest keep their current (or default) value. */
  settings: Partial<ListSettings>;
  /** Non-members with a moderation action of their own: added to that action's non-member list. */
  nonmembers: { address: string; action: ModerationAction }[];
  /** Banned addresses or ^patterns: added to bannedAddresses. */
  bans: string[];
  /** Owners, moderators and members, one record per (address, role). */
  members: ImportedMember[];
  held: ImportedHeld[];
  requests: ImportedRequest[];
  unmapped: UnmappedSetting[];
  /** Records the reader could not read (a held post whose stored message was refused or is missing), each with the error's SY_ code: named as problems in the report (exit 1). */
  refused?: string[];
}

export interface ImportedSite {
  /** Where it came from, for the report (`mailman3 REST http://...`). */
  source: string;
  lists: ImportedList[];
  /** Site-wide things with no per-list home (global bans), for the report. */
  siteUnmapped: UnmappedSetting[];
}

/** A member record with the defaults of a fresh switchyard member, to be filled in by a reader. */
export function importedMember(address: string, role: Role, fields: Partial<ImportedMember> = {}): ImportedMember {
  return {
    address,
    displayName: '',
    role,
    deliveryMode: 'regular',
    deliveryStatus: 'enabled',
    receiveOwnPostings: true,
    receiveListCopy: true,
    acknowledgePosts: false,
    hideAddress: false,
    preferredLanguage: null,
    moderationAction: null,
    bounceScore: 0,
    lastBounceAt: null,
    bounceWarningsSent: 0,
    lastBounceWarningAt: null,
    ...fields,
  };
}
