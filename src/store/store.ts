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

/** Mailman's DeliveryStatus: whether the member gets mail, and if not, who stopped it (by_owner: `members disable`). */
export const DELIVERY_STATES = ['enabled', 'by_user', 'by_bounces', 'by_owner'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATES)[number];

/**
 * How posts reach a member (Mailman's DeliveryMode): each post as it is sent
 * (regular), or gathered into a digest: MIME (each post a message/rfc822
 * part), plain text (RFC 1153) or a summary (the table of contents alone).
 */
export const DELIVERY_MODES = ['regular', 'mime_digests', 'plain_digests', 'summary_digests'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];
export type DigestMode = Exclude<DeliveryMode, 'regular'>;

/** A member's own choices (src/app/member-preferences.ts validates and sets them). */
export interface MemberPreferences {
  /** Default regular. */
  deliveryMode: DeliveryMode;
  /** Get a copy of one's own posts. Default true. */
  receiveOwnPostings: boolean;
  /** Get the list's copy of a post that names the member in To or Cc too. Default true. */
  receiveListCopy: boolean;
  /** Be told when one's post was accepted and sent. Default false. */
  acknowledgePosts: boolean;
  /** Left out of the roster the `who` command gives. Default false. */
  hideAddress: boolean;
  /** A language tag (`en`, `pt-BR`), or null for the list's; kept for translated notices. */
  preferredLanguage: string | null;
}

export const DEFAULT_PREFERENCES: Readonly<MemberPreferences> = Object.freeze({
  deliveryMode: 'regular',
  receiveOwnPostings: true,
  receiveListCopy: true,
  acknowledgePosts: false,
  hideAddress: false,
  preferredLanguage: null,
});

/** What the delivery query needs to know about one post (Store.deliveryAddresses). */
export interface PostAddressing {
  /** The poster, left out when their receiveOwnPostings is false; null: unknown. */
  sender: string | null;
  /** Every To and Cc address of the post, left out when their receiveListCopy is false. */
  explicitRecipients: readonly string[];
}

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

export interface Member extends MemberPreferences {
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
  /** "You are disabled" warnings sent since delivery was disabled by bounces. */
  bounceWarningsSent: number;
  /** When delivery was disabled by bounces, or the last of those warnings went out. */
  lastBounceWarningAt: Date | null;
  subscribedAt: Date;
}

/** A bounce attributed to a member (src/bounce/): what the bounce runner records. */
export interface BounceEvent {
  id: number;
  list: string;
  address: string;
  at: Date;
  permanent: boolean;
  /** The bounce's Message-ID, or the SMTP reply for failures the outgoing runner saw. */
  source: string;
  /** src/bounce/reasons.ts; 'undefined' when none could be told (and for events before schema 6). */
  reason: string;
  /** Enhanced status code, e.g. 5.1.1, when the bounce gave one. */
  status: string | null;
  /** SMTP reply code, e.g. 550, when the bounce gave one. */
  reply: string | null;
}

export type NewBounceEvent = Omit<BounceEvent, 'id' | 'reason' | 'status' | 'reply'> & Partial<Pick<BounceEvent, 'reason' | 'status' | 'reply'>>;

/** Bounces of one list to one destination domain for one reason that is the list's problem (blocked, spamdetected, ...). */
export interface DomainBounces {
  list: string;
  domain: string;
  reason: string;
  count: number;
  firstAt: Date;
  lastAt: Date;
  /** The last reply text, for the operator. */
  lastReply: string;
}

/** A destination's refusals of one list for one reason over a window (DomainBounces counts all time). */
export interface DomainRefusals {
  list: string;
  domain: string;
  reason: string;
  count: number;
}

/** What a list does about a member's complaint (list setting complaintAction). */
export const COMPLAINT_ACTIONS = ['unsubscribe', 'disable', 'record'] as const;
export type ComplaintAction = (typeof COMPLAINT_ACTIONS)[number];

/** One complaint (ARF feedback report, SES complaint) about a member, and what was done. */
export interface ComplaintRecord {
  id: number;
  list: string;
  address: string;
  at: Date;
  /** RFC 5965 Feedback-Type, lower case (`abuse`, `fraud`, `auth-failure`, ...). */
  feedbackType: string;
  /** The report's Message-ID, or the queue entry. */
  source: string;
  action: ComplaintAction;
}

export type NewComplaint = Omit<ComplaintRecord, 'id'>;

export interface RecordedComplaint {
  complaint: ComplaintRecord;
  /** The same complaint was recorded before (its queue entry re-run after a crash): nothing was done again. */
  repeat: boolean;
}

/**
 * Decides a member's bounce state after `event` (src/bounce/scoring.ts):
 * pure, and run inside the store's transaction, so two runners recording
 * bounces for one member never lose an update. `sameDay` are the events
 * recorded for the member earlier on the same UTC day as `event.at`.
 */
export type BounceScorer = (member: Member, event: NewBounceEvent, sameDay: readonly BounceEvent[]) => MemberChanges;

export interface RecordedBounce {
  event: BounceEvent;
  before: Member;
  after: Member;
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

/** What a moderator (or the expiry job) did with a held message. */
export const HELD_DECISIONS = ['approve', 'reject', 'discard', 'expire'] as const;
export type HeldDecisionKind = (typeof HELD_DECISIONS)[number];

export interface HeldDecision {
  decision: HeldDecisionKind;
  /** Who decided: a moderator's name, or `expiry`. */
  decidedBy: string;
  /** Why (a rejection's reason, the expiry age). */
  reason?: string;
}

/** The record kept of a decision once the held message itself is gone. */
export interface HeldDecisionRecord extends Required<HeldDecision> {
  heldId: number;
  list: string;
  sender: string;
  subject: string;
  messageId: string | null;
  decidedAt: Date;
}

export interface NewList {
  address: string;
  /** Default: the list name, capitalised (Mailman's rule). */
  displayName?: string;
  description?: string;
  /** Default: `[displayName] ` for subjectPrefix, the schema defaults for the rest. */
  settings?: Partial<ListSettings>;
  /** Owners, moderators (or members) added in the same transaction as the list. */
  members?: readonly NewMember[];
}

export interface MemberPageRequest {
  role?: Role;
  /** The (address, role) of the last record of the previous page. */
  after?: { address: string; role: Role };
  search?: string;
  limit: number;
}

/** Who an API token speaks for: a site administrator, or an owner or moderator of one list. */
export type ApiTokenRole = 'admin' | 'owner' | 'moderator';

export interface NewApiToken {
  name: string;
  /** SHA-256 of the token, hex. */
  hash: string;
  role: ApiTokenRole;
  /** The list an owner or moderator token is for; absent for admin. */
  list?: string;
  createdAt: Date;
}

export interface ApiToken {
  id: number;
  name: string;
  role: ApiTokenRole;
  list: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** A one-time login link of the web admin (src/app/web-login.ts): the SHA-256 of its token. */
export interface NewLoginLink {
  hash: string;
  address: string;
  createdAt: Date;
  expiresAt: Date;
}

/** A web admin session: who logged in by a link (address), or a site administrator by an API token (tokenId). */
export interface WebSession {
  address: string | null;
  tokenId: number | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface NewWebSession extends WebSession {
  /** SHA-256 of the session id the cookie carries. */
  hash: string;
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
  /** Default 'regular' (a member file's `delivery_mode` column). */
  deliveryMode?: DeliveryMode;
  /** Default 'enabled' (a member file's `delivery_status` column). */
  deliveryStatus?: DeliveryStatus;
}

export interface MemberChanges extends Partial<MemberPreferences> {
  displayName?: string;
  deliveryStatus?: DeliveryStatus;
  moderationAction?: ModerationAction | null;
  bounceScore?: number;
  lastBounceAt?: Date | null;
  bounceWarningsSent?: number;
  lastBounceWarningAt?: Date | null;
}

/** A held message without its bytes and metadata: a row of the web admin's moderation queue. */
export type HeldSummary = Pick<HeldMessage, 'id' | 'list' | 'sender' | 'subject' | 'reason' | 'receivedAt' | 'messageId'>;

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

/** A claim on one run of a job (Store.claimJobRun). */
export interface JobRunClaim {
  /** Names this run; every host computes the same key for the same scheduled run (its scheduled time, ISO). */
  runKey: string;
  /** Who runs it (host, pid, home), for the record and for other hosts' logs. */
  holder: string;
  now: Date;
  /** Until when no other host may take a later run while this one has not finished (a holder that died). */
  expiresAt: Date;
}

export type JobRunClaimResult =
  | { claimed: true }
  /** `done`: this run (or a later one) was claimed already; `busy`: an earlier run is still leased. */
  | { claimed: false; why: 'done' | 'busy'; holder: string; runKey: string };

/** A job's lease row: its last claimed run and how the last finished one went. */
export interface JobLease {
  job: string;
  runKey: string;
  holder: string;
  expiresAt: Date;
  finishedAt: Date | null;
  outcome: 'ok' | 'failed' | null;
  detail: string;
}

/**
 * What a pending request waits for: the address's confirmation (subscribe,
 * unsubscribe) or an owner's decision (the two approvals).
 */
export const PENDING_KINDS = ['subscribe', 'unsubscribe', 'subscription_approval', 'unsubscription_approval'] as const;
export type PendingKind = (typeof PENDING_KINDS)[number];

/** A membership request waiting for someone (src/app/subscriptions.ts). */
export interface PendingRequest {
  id: number;
  /** The secret mailed to the address (confirmations), or a handle for the owners (approvals). */
  token: string;
  list: string;
  kind: PendingKind;
  address: string;
  displayName: string;
  createdAt: Date;
  expiresAt: Date;
  /** When the owners were told about it (approvals), null until then. */
  ownersNotifiedAt: Date | null;
}

/** A `set` email command's changes, waiting for the member to confirm them (src/app/preference-confirmation.ts). */
export interface PendingPreferenceChange {
  id: number;
  token: string;
  list: string;
  address: string;
  /** The changes as JSON text (PreferenceChanges of src/app/member-preferences.ts): the store does not interpret them. */
  changes: string;
  createdAt: Date;
  expiresAt: Date;
}

export type NewPendingPreferenceChange = Omit<PendingPreferenceChange, 'id'>;

export interface NewPendingRequest {
  token: string;
  list: string;
  kind: PendingKind;
  address: string;
  displayName?: string;
  createdAt: Date;
  expiresAt: Date;
}

/** An accepted post waiting in (or taken into) a list's digest. */
export interface DigestPost {
  id: number;
  list: string;
  /** What makes it unique: the queue entry that carried the post. */
  entryKey: string;
  addedAt: Date;
  sender: string;
  subject: string;
  messageId: string | null;
  size: number;
  /** The post as members receive it; null once its issue was sent. */
  raw: Buffer | null;
}

export type NewDigestPost = Omit<DigestPost, 'id' | 'size' | 'raw'> & { raw: Buffer };

/** One digest `out` entry written beside the spool, waiting to be moved in (src/app/digests.ts). */
export interface StagedDigest {
  format: DigestMode;
  /** The file written, and where it goes in `out`. */
  staging: string;
  target: string;
  recipients: number;
}

export interface DigestIssue {
  id: number;
  list: string;
  volume: number;
  issue: number;
  createdAt: Date;
  status: 'claimed' | 'staged' | 'sent';
  staged: StagedDigest[];
  posts: number;
  size: number;
}

/** A list's digest numbering and what waits for the next issue. */
export interface DigestStatus {
  list: string;
  /** The current volume and the number the next issue gets (1, 1 before the first). */
  volume: number;
  nextIssue: number;
  pendingPosts: number;
  pendingSize: number;
  lastSentAt: Date | null;
  /** An issue claimed but not sent yet (a sender killed midway): the next send finishes it. */
  unfinished: DigestIssue | null;
}

/**
 * A post in a list's archive: one archive per site, whichever host archived
 * it (the archive runner, `switchyard import archive`, an old mbox file
 * imported at the runner's start). Kept by list address, not by list row, so
 * an archive outlives its list as the mbox files did.
 */
export interface ArchivedMessageSummary {
  list: string;
  /** Unique within the list: sha256 hex of its Message-ID, else of its bytes (src/mail/mboxrd.ts archiveKey); its first 32 digits are its id on the web. */
  key: string;
  /** When the list received it (to the second: the resolution of an mbox From_ line). */
  archivedAt: Date;
  /** The envelope sender (the From_ line of an export); '' when unknown. */
  sender: string;
  messageId: string | null;
  inReplyTo: string | null;
  /** The References field's Message-IDs, in order. */
  references: string[];
  /** Decoded Subject and From, for listings. */
  subject: string;
  from: string;
  size: number;
}

export interface ArchivedMessage extends ArchivedMessageSummary {
  /** The message's bytes exactly as archived (line ends included). */
  raw: Buffer;
}

export type NewArchivedMessage = Omit<ArchivedMessage, 'size'>;

/** A position in a list's archive order (archivedAt, then key): pages continue after it. */
export interface ArchiveCursor {
  archivedAt: Date;
  key: string;
}

export interface ArchiveQuery {
  /** Only this UTC month, YYYY-MM. */
  month?: string;
  after?: ArchiveCursor;
  limit?: number;
}

export interface Store {
  /** Where the store lives, for messages (a file path, or a URL without password). */
  readonly location: string;

  createList(list: NewList): Promise<MailingList>;
  /** Throws ListUnknownError. */
  getList(address: string): Promise<MailingList>;
  findList(address: string): Promise<MailingList | null>;
  /**
   * The posting address of the list `address` names, or null when there is
   * none: all ingress routing needs, without parsing (and loading the schema
   * of) the list's settings, which `switchyard inject` cannot afford per message.
   */
  findListAddress(address: string): Promise<string | null>;
  /** Every list, by address. */
  lists(): Promise<MailingList[]>;
  /**
   * Settings are merged key by key into the current ones and validated.
   * `precondition` sees the list as it is inside the write transaction and
   * throws to change nothing (the HTTP API's If-Match: no other writer can
   * come between the check and the write).
   */
  updateList(address: string, changes: ListChanges, options?: { precondition?: (current: MailingList) => void }): Promise<MailingList>;
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
  /** By address; every role unless `role` is given; only those with `deliveryStatus` if given. */
  members(list: string, options?: { role?: Role; deliveryStatus?: DeliveryStatus }): Promise<Member[]>;
  /**
   * One page of a list's member records in (address, role) order, after the
   * cursor `after` (the last record of the previous page), optionally only
   * those whose address or display name contains `search` (case-insensitive).
   */
  memberPage(list: string, page: MemberPageRequest): Promise<Member[]>;
  /**
   * The addresses a post is delivered to, by address: role member, delivery
   * enabled, delivery mode regular; with `post`, also without the sender if
   * their receiveOwnPostings is false, and without the To/Cc addresses
   * whose receiveListCopy is false. What the pipeline's to-outgoing reads
   * for every post, so it is one query returning one column (no Member
   * objects for a 10,000-member list).
   */
  deliveryAddresses(list: string, post?: PostAddressing): Promise<string[]>;
  /** The enabled members (role member) whose delivery mode is `mode`, by address: a digest's recipients. */
  digestAddresses(list: string, mode: DigestMode): Promise<string[]>;
  /** How many enabled members of each digest mode the list has (modes with none are absent). */
  countDigestMembers(list: string): Promise<Partial<Record<DigestMode, number>>>;
  countMembers(list: string, options?: { role?: Role }): Promise<number>;
  /** Throws MemberUnknownError. */
  updateMember(list: string, address: string, role: Role, changes: MemberChanges): Promise<Member>;
  /**
   * Change many members in one transaction (an import's batch): all or none.
   * Throws MemberUnknownError, changing nothing, when one is not there.
   */
  updateMembers(list: string, updates: readonly { address: string; role: Role; changes: MemberChanges }[]): Promise<number>;

  /**
   * Record a bounce of the member `event.address` (role member) and apply
   * `scorer`'s changes, in one transaction. Null when the address is not a
   * member of the list (nothing is recorded). The same event again (same
   * time, source and kind: a queue entry re-run after a crash) is neither
   * recorded nor scored twice: `before` and `after` are then the same.
   */
  recordBounce(event: NewBounceEvent, scorer: BounceScorer): Promise<RecordedBounce | null>;
  /** Newest first; one member's only with `address`; at most `limit` (default 100). */
  bounceEvents(list: string, options?: { address?: string; limit?: number }): Promise<BounceEvent[]>;
  /** Count one bounce of the list to `domain` that is the list's problem, not the member's (src/bounce/reasons.ts). */
  recordDomainBounce(list: string, bounce: { domain: string; reason: string; at: Date; reply?: string }): Promise<void>;
  /** The list's per-domain counts, most recent first. */
  domainBounces(list: string): Promise<DomainBounces[]>;
  /** Refusals of the list (or of every list) per domain and reason since `since` (hourly resolution), most first. */
  domainRefusals(since: Date, options?: { list?: string }): Promise<DomainRefusals[]>;
  /**
   * Record a complaint about the member `complaint.address` (role member) and
   * do its action (unsubscribe: remove the member; disable: delivery
   * `by_user`; record: nothing more), in one transaction. Null when the
   * address is not a member (nothing recorded). The same complaint again (same
   * time and source) is neither recorded nor acted on twice.
   */
  recordComplaint(complaint: NewComplaint): Promise<RecordedComplaint | null>;
  /** The list's complaints, newest first, at most `limit` (default 100). */
  complaints(list: string, options?: { limit?: number }): Promise<ComplaintRecord[]>;
  /** The reason of each member's most recent bounce event, by lower-cased address. */
  lastBounceReasons(list: string): Promise<Map<string, string>>;
  /** Reset to 0 the bounce scores of the list's enabled members whose last bounce is older than `before`; how many. */
  resetStaleBounceScores(list: string, before: Date): Promise<number>;

  holdMessage(message: NewHeldMessage): Promise<HeldMessage>;
  /** Throws HeldMessageUnknownError. */
  getHeld(id: number): Promise<HeldMessage>;
  /**
   * The reply token of held post `id` (its notice's name-confirm+TOKEN):
   * `fresh` is recorded when it has none yet, else the one recorded first is
   * returned, so a notice written again (a runner killed and restarted)
   * carries the same token. HeldMessageUnknownError when it no longer waits.
   */
  heldReplyToken(id: number, fresh: string): Promise<string>;
  /** The held post whose reply token is `token`, or null (unknown, or the post was decided on). */
  heldByReplyToken(token: string): Promise<HeldMessage | null>;
  /** Oldest first. */
  heldMessages(list: string): Promise<HeldMessage[]>;
  countHeld(list: string): Promise<number>;
  /** One page of the list's held messages, oldest first, without their bytes (the web admin's queue page). */
  heldSummaries(list: string, page: { offset: number; limit: number }): Promise<HeldSummary[]>;
  /** Throws HeldMessageUnknownError. */
  removeHeld(id: number): Promise<void>;
  /**
   * Record what was decided about a held message and remove it, in one
   * transaction. Throws HeldMessageUnknownError.
   */
  decideHeld(id: number, decision: HeldDecision): Promise<HeldDecisionRecord>;
  /** The decision recorded for a held message, or null (still held, or never existed). */
  heldDecision(id: number): Promise<HeldDecisionRecord | null>;
  /**
   * The incoming runner's guard against posting one approval twice: true
   * when `token` is the first approval claimed for this held message (or the
   * same one again, as when its entry is re-run after a crash), false when a
   * different approval of the same held message was claimed before.
   */
  claimApproval(heldId: number, token: string): Promise<boolean>;

  /** Store a pending request; its token must be new (a UNIQUE column). */
  addPendingRequest(request: NewPendingRequest): Promise<PendingRequest>;
  /** The request with this token on any list (tokens are unique store-wide), or null. */
  pendingRequestByToken(token: string): Promise<PendingRequest | null>;
  /** The newest request of `kind` for `address` on `list` that has not expired at `now`, or null. */
  findPendingRequest(list: string, kind: PendingKind, address: string, now: Date): Promise<PendingRequest | null>;
  /** Throws PendingRequestUnknownError when `id` is not a request of `list`. */
  getPendingRequest(list: string, id: number): Promise<PendingRequest>;
  /** The list's requests, oldest first; only those of `kinds` if given. */
  pendingRequests(list: string, options?: { kinds?: readonly PendingKind[] }): Promise<PendingRequest[]>;
  /** Remove one request; false when it was gone already (decided or confirmed by someone else). */
  removePendingRequest(id: number): Promise<boolean>;
  /** Remove every request that expired before `now`, in one transaction; the removed rows. */
  removeExpiredRequests(now: Date): Promise<PendingRequest[]>;
  /** Record a member's preference changes waiting for their confirmation. */
  addPendingPreferenceChange(change: NewPendingPreferenceChange): Promise<PendingPreferenceChange>;
  /** The waiting change with this token on `list`, removed in the same transaction (a token works once), or null. */
  takePendingPreferenceChange(list: string, token: string): Promise<PendingPreferenceChange | null>;
  /** Remove every preference change that expired before `now`; how many. */
  removeExpiredPreferenceChanges(now: Date): Promise<number>;
  /** Record that the owners were told about these requests. */
  markOwnersNotified(ids: readonly number[], at: Date): Promise<void>;
  /**
   * Count one automatic mail of `kind` to `address` for `list` in `period`
   * (a UTC day `2026-12-05` or hour), in one transaction: true and counted
   * when fewer than `limit` were counted before, false (nothing counted)
   * otherwise. The per-day limits (confirmationsPerDay,
   * maxAutoResponsesPerDay) and the owners' hourly request notice use it.
   */
  takeAutoResponse(list: string, address: string, kind: string, period: string, limit: number): Promise<boolean>;
  /** Forget counts of periods before `period` (the same format); how many rows went. */
  pruneAutoResponses(before: string): Promise<number>;

  /**
   * Take the lease on one run of a job shared by every host on this store,
   * in one transaction: claimed unless this run (or a later one) was claimed
   * before, or an earlier run's lease has not expired and not been finished.
   */
  claimJobRun(job: string, claim: JobRunClaim): Promise<JobRunClaimResult>;
  /** Record how the run `runKey` claimed by `holder` went and release its lease; nothing if no longer theirs. */
  finishJobRun(job: string, holder: string, runKey: string, result: { at: Date; outcome: 'ok' | 'failed'; detail: string }): Promise<void>;
  /** Every job's lease row, by job name. */
  jobLeases(): Promise<JobLease[]>;

  /** Add an accepted post to its list's digest; false (nothing added) when `entryKey` was added before. */
  addDigestPost(post: NewDigestPost): Promise<boolean>;
  digestStatus(list: string): Promise<DigestStatus>;
  /**
   * In one transaction: the list's unfinished issue if there is one, else a
   * new issue numbered from the list's digest state (a new volume when
   * `period` differs from the state's) that takes every pending post; null
   * when there is neither. `resumed`: the issue was an unfinished one.
   */
  claimDigestIssue(list: string, claim: { now: Date; period: string }): Promise<{ issue: DigestIssue; resumed: boolean } | null>;
  /** The posts of an issue, in the order they were added. */
  digestIssuePosts(issueId: number): Promise<DigestPost[]>;
  /**
   * Record the staged `out` entries of a claimed issue: true when this call
   * recorded them, false when the issue was staged (or sent) already by
   * someone else; `issue` is then as they left it.
   */
  stageDigestIssue(issueId: number, staged: readonly StagedDigest[]): Promise<{ recorded: boolean; issue: DigestIssue }>;
  /** Mark an issue sent (its posts' bytes dropped) and the list's last send. */
  finishDigestIssue(issueId: number, at: Date): Promise<void>;

  /**
   * Add a post to a list's archive; false (nothing written) when the list's
   * archive holds its key already: a runner re-processing an entry after a
   * crash, or an import run twice, adds nothing.
   */
  addArchivedMessage(message: NewArchivedMessage): Promise<boolean>;
  /** Summaries (no bytes) in archive order (archivedAt, then key). */
  archivedMessageSummaries(list: string, query?: ArchiveQuery): Promise<ArchivedMessageSummary[]>;
  /** Whole posts in archive order, a page at a time (`archive export`). */
  archivedMessages(list: string, query?: ArchiveQuery): Promise<ArchivedMessage[]>;
  /** One post by its key, or by the key's first 32 hex digits (its id on the web); null when there is none. */
  archivedMessage(list: string, key: string): Promise<ArchivedMessage | null>;
  /** Months (UTC, YYYY-MM) with posts, newest first, with their counts. */
  archiveMonths(list: string): Promise<Array<{ month: string; count: number }>>;
  /** How many posts the list's archive holds (in `month` when given). */
  countArchivedMessages(list: string, month?: string): Promise<number>;

  /** API tokens (src/app/api-tokens.ts): only their hashes are stored. */
  addApiToken(token: NewApiToken): Promise<ApiToken>;
  apiTokens(): Promise<ApiToken[]>;
  /** The token with this hash, or null; records its use (`lastUsedAt`, to the minute). */
  useApiToken(hash: string, at: Date): Promise<ApiToken | null>;
  /** False when there is no such token. */
  removeApiToken(id: number): Promise<boolean>;
  /** Web admin login links and sessions (src/app/web-login.ts): only hashes of their tokens are stored. */
  addLoginLink(link: NewLoginLink): Promise<void>;
  /** In one transaction: the address of the unused, unexpired link with this hash, marked used; null otherwise (a link works once). */
  takeLoginLink(hash: string, now: Date): Promise<{ address: string } | null>;
  addWebSession(session: NewWebSession): Promise<void>;
  /** The unexpired session with this hash, or null. */
  webSession(hash: string, now: Date): Promise<WebSession | null>;
  /** False when there was no such session. */
  removeWebSession(hash: string): Promise<boolean>;
  /** Forget links and sessions expired before `now`; how many rows went. */
  removeExpiredWebState(now: Date): Promise<number>;
  close(): Promise<void>;
}
