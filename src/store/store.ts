/**
 * The state store: lists, their members, and messages held for moderation.
 * Runners and the CLI see only this interface (openStore() in index.ts picks
 * the implementation), so a PostgreSQL store can follow the SQLite one
 * (sqlite-store.ts) without touching them. Every method is async for that
 * reason, even though better-sqlite3 is synchronous.
 *
 * Addresses and list addresses are accepted as text and normalised here
 * (address.ts); invalid ones throw AddressInvalidError / ListNameInvalidError.
 * Failures carry stable codes (errors.ts); `error.temporary` is true for a
 * busy store (SY_STORE_BUSY), which mail-handling code must treat as "try
 * again later" (4xx, EX_TEMPFAIL), never as a rejection.
 */
import type { ListSettings, ModerationAction } from './list-settings.js';

export const ROLES = ['member', 'owner', 'moderator'] as const;
export type Role = (typeof ROLES)[number];

/** Mailman's DeliveryStatus: whether the member gets mail, and if not, who stopped it. */
export const DELIVERY_STATES = ['enabled', 'by_user', 'by_bounces'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATES)[number];

export interface MailingList {
  /** Posting address `name@domain`, lower case. */
  address: string;
  name: string;
  domain: string;
  displayName: string;
  description: string;
  settings: ListSettings;
  createdAt: Date;
}

export interface Member {
  list: string;
  /** As given, with the domain in lower-case ASCII form. */
  address: string;
  displayName: string;
  role: Role;
  deliveryStatus: DeliveryStatus;
  /** The member's own moderation action; null: the list's defaultMemberAction. */
  moderationAction: ModerationAction | null;
  bounceScore: number;
  /** When the last bounce counted in bounceScore arrived. */
  lastBounceAt: Date | null;
  subscribedAt: Date;
}

export interface HeldMessage {
  id: number;
  list: string;
  sender: string;
  subject: string;
  /** Why it was held, for the moderators (e.g. "post from a non-member"). */
  reason: string;
  receivedAt: Date;
  messageId: string | null;
  /** A queue entry holding the message (e.g. "held/<id>"), or null when `raw` holds it. */
  queueRef: string | null;
  raw: Buffer | null;
  /** Pipeline metadata to resume with when the message is approved. */
  metadata: Record<string, unknown>;
}

export interface NewList {
  address: string;
  /** Default: the list name, capitalised (Mailman's rule). */
  displayName?: string;
  description?: string;
  /** Default: `[displayName] ` for subjectPrefix, the schema defaults for the rest. */
  settings?: Partial<ListSettings>;
}

export interface ListChanges {
  displayName?: string;
  description?: string;
  settings?: Partial<ListSettings>;
}

export interface NewMember {
  address: string;
  displayName?: string;
  /** Default 'member'. */
  role?: Role;
}

export interface MemberChanges {
  displayName?: string;
  deliveryStatus?: DeliveryStatus;
  moderationAction?: ModerationAction | null;
  bounceScore?: number;
  lastBounceAt?: Date | null;
}

export interface NewHeldMessage {
  list: string;
  sender: string;
  subject: string;
  reason: string;
  receivedAt?: Date;
  messageId?: string | null;
  /** Exactly one of queueRef and raw. */
  queueRef?: string | null;
  raw?: Buffer | null;
  metadata?: Record<string, unknown>;
}

export interface RemovedList {
  list: string;
  members: number;
  held: number;
}

export interface AddedMembers {
  /** Newly added. */
  added: number;
  /** Already there with that role (duplicates within the batch count here too). */
  existing: number;
}

export interface Store {
  /** Where the store lives, for messages (a file path, or a URL without password). */
  readonly location: string;

  createList(list: NewList): Promise<MailingList>;
  /** Throws ListUnknownError. */
  getList(address: string): Promise<MailingList>;
  findList(address: string): Promise<MailingList | null>;
  /** Every list, by address. */
  lists(): Promise<MailingList[]>;
  /** Settings are merged key by key into the current ones and validated. */
  updateList(address: string, changes: ListChanges): Promise<MailingList>;
  /** Removes the list, its members and its held messages. */
  removeList(address: string): Promise<RemovedList>;

  /** Throws MemberExistsError when the address already has that role on the list. */
  addMember(list: string, member: NewMember): Promise<Member>;
  /**
   * Adds many in one transaction, skipping (and counting) those already
   * there; an invalid address throws before anything is written. Callers
   * importing large files pass batches of a few thousand.
   */
  addMembers(list: string, members: readonly NewMember[]): Promise<AddedMembers>;
  /** Returns the member as it was; throws MemberUnknownError. */
  removeMember(list: string, address: string, role?: Role): Promise<Member>;
  /** Throws MemberUnknownError. */
  getMember(list: string, address: string, role?: Role): Promise<Member>;
  findMember(list: string, address: string, role?: Role): Promise<Member | null>;
  /** By address; every role unless `role` is given. */
  members(list: string, options?: { role?: Role }): Promise<Member[]>;
  countMembers(list: string, options?: { role?: Role }): Promise<number>;
  /** Throws MemberUnknownError. */
  updateMember(list: string, address: string, role: Role, changes: MemberChanges): Promise<Member>;

  holdMessage(message: NewHeldMessage): Promise<HeldMessage>;
  /** Throws HeldMessageUnknownError. */
  getHeld(id: number): Promise<HeldMessage>;
  /** Oldest first. */
  heldMessages(list: string): Promise<HeldMessage[]>;
  countHeld(list: string): Promise<number>;
  /** Throws HeldMessageUnknownError. */
  removeHeld(id: number): Promise<void>;

  close(): Promise<void>;
}
