/**
 * The Store on SQLite (better-sqlite3): one file, `<home>/switchyard.db`,
 * shared by the CLI and every runner process.
 *
 * - WAL mode: readers never wait for the writer, and one writer at a time
 *   waits up to `busyTimeoutMs` for the lock; past that the operation fails
 *   with StoreBusyError (temporary: retry, 4xx, EX_TEMPFAIL).
 * - synchronous=FULL: a committed change (a held message above all) survives
 *   a power cut, like an acknowledged queue entry.
 * - Write transactions are BEGIN IMMEDIATE, so they take the write lock (and
 *   wait for it) before reading: no deadlock-style SQLITE_BUSY mid-transaction.
 * - What a post reads of its list is remembered between calls: the
 *   settings by their stored text (the same text, the same settings); the
 *   list row, member rows, delivery members and digest counts until the
 *   database's change mark moves (remember(): any commit by another
 *   connection or process, any change by this one), so no change made
 *   anywhere is missed by the next read.
 * - A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) is StoreCorruptError
 *   (temporary: mail waits); see reopening-store.ts for how runners recover.
 *
 * Files: creates `switchyard.db` with mode 0660 if missing (SQLite gives its
 * `-wal` and `-shm` files the same mode). Crash windows: every change is one
 * SQLite transaction, so a process killed at any moment leaves the database
 * before or after that change, never between; a member import killed midway
 * keeps the batches committed so far (running it again skips them as
 * already members). Migrations: see migrations.ts.
 */
import { closeSync, existsSync, fchmodSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { addressProblem, parseAddress, parseListAddress, type Address } from './address.js';
import {
  DigestIssueUnknownError,
  HeldMessageInvalidError,
  HeldMessageUnknownError,
  ListExistsError,
  ListUnknownError,
  MemberExistsError,
  MemberUnknownError,
  PendingRequestUnknownError,
  StoreBusyError,
  StoreCorruptError,
  StoreSchemaError,
} from './errors.js';
import type { ListSettings, ModerationAction } from './list-settings.js';
import { checkHeaderValues, checkMemberName } from './header-settings.js';
import { MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION } from './migrations.js';
import { countSql, INSERT_ARCHIVED, insertParams, MONTHS_SQL, oneSql, selectSql, toMessage, toSummary, type ArchivedRow } from './archive-rows.js';
import type {
  ApiToken,
  ArchiveQuery,
  ArchivedMessage,
  ArchivedMessageSummary,
  NewArchivedMessage,
  MemberPageRequest,
  NewApiToken,
  NewLoginLink,
  HeldSummary,
  NewWebSession,
  WebSession,
  AddedMembers,
  BounceEvent,
  BounceScorer,
  ComplaintAction,
  ComplaintRecord,
  DomainBounces,
  DomainRefusals,
  NewComplaint,
  RecordedComplaint,
  DeliveryMode,
  DeliveryStatus,
  DigestIssue,
  DigestMode,
  DigestPost,
  DigestStatus,
  NewDigestPost,
  StagedDigest,
  PostAddressing,
  NewBounceEvent,
  RecordedBounce,
  HeldDecision,
  HeldDecisionRecord,
  HeldMessage,
  JobLease,
  JobRunClaim,
  JobRunClaimResult,
  ListChanges,
  MailingList,
  Member,
  MemberChanges,
  NewHeldMessage,
  NewList,
  NewMember,
  NewPendingPreferenceChange,
  NewPendingRequest,
  PendingPreferenceChange,
  PendingKind,
  PendingRequest,
  RemovedList,
  Role,
  Store,
} from './store.js';

export interface SqliteStoreOptions {
  file: string;
  /** How long a write waits for another process's transaction (SQLite busy_timeout). Default 5000. */
  busyTimeoutMs?: number;
  /** Apply migrations up to this version only (tests of upgrades). Default: all. */
  targetVersion?: number;
  /**
   * Run `PRAGMA quick_check` on opening and throw StoreCorruptError if it
   * finds damage. For reopening after a corruption was seen (ReopeningStore):
   * a damaged page the next query may not touch still counts.
   */
  verify?: boolean;
}

interface ListRow {
  id: number;
  address: string;
  name: string;
  domain: string;
  display_name: string;
  description: string;
  settings: string;
  created_at: string;
}

interface MemberRow {
  list_address: string;
  address: string;
  display_name: string;
  role: Role;
  delivery_status: DeliveryStatus;
  moderation_action: ModerationAction | null;
  bounce_score: number;
  last_bounce_at: string | null;
  bounce_warnings_sent: number;
  last_bounce_warning_at: string | null;
  subscribed_at: string;
  delivery_mode: DeliveryMode;
  receive_own_postings: number;
  receive_list_copy: number;
  acknowledge_posts: number;
  hide_address: number;
  preferred_language: string | null;
}

interface ApiTokenRow {
  id: number;
  name: string;
  role: ApiToken['role'];
  list_address: string | null;
  created_at: string;
  last_used_at: string | null;
}

/** How exactly a token's last use is kept (api_tokens.last_used_at). */
const API_TOKEN_USE_RESOLUTION_MS = 60_000;

const API_TOKEN_SELECT = 'SELECT t.id, t.name, t.role, l.address AS list_address, t.created_at, t.last_used_at FROM api_tokens t LEFT JOIN lists l ON l.id = t.list_id';

function toApiToken(row: ApiTokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    list: row.list_address,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  };
}

interface BounceEventRow {
  id: number;
  list_address: string;
  address: string;
  at: string;
  permanent: number;
  source: string;
  reason: string;
  status: string | null;
  reply: string | null;
}

interface DomainBounceRow {
  list_address: string;
  domain: string;
  reason: string;
  count: number;
  first_at: string;
  last_at: string;
  last_reply: string;
}

interface ComplaintRow {
  id: number;
  list: string;
  address: string;
  at: string;
  feedback_type: string;
  source: string;
  action: ComplaintAction;
}

function toComplaint(row: ComplaintRow): ComplaintRecord {
  return { id: row.id, list: row.list, address: row.address, at: new Date(row.at), feedbackType: row.feedback_type, source: row.source, action: row.action };
}

/** The hour `at` falls in, as the ISO text refusals_hourly keys on (`2026-12-05T13:00`). */
function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13) + ':00';
}

const EVENT_COLUMNS = 'e.id, l.address AS list_address, e.address, e.at, e.permanent, e.source, e.reason, e.status, e.reply';
/** A store held below schema version 6 (targetVersion, upgrade tests) has no reason columns. */
const EVENT_COLUMNS_V5 = EVENT_COLUMNS.replace('e.reason, e.status, e.reply', "'undefined' AS reason, NULL AS status, NULL AS reply");

interface HeldRow {
  id: number;
  list_address: string;
  sender: string;
  subject: string;
  reason: string;
  received_at: string;
  message_id: string | null;
  queue_ref: string | null;
  raw: Buffer | null;
  metadata: string;
}

interface DecisionRow {
  held_id: number;
  list_address: string;
  sender: string;
  subject: string;
  message_id: string | null;
  decision: string;
  decided_by: string;
  reason: string;
  decided_at: string;
}

const PREFERENCE_COLUMNS = 'm.delivery_mode, m.receive_own_postings, m.receive_list_copy, m.acknowledge_posts, m.hide_address, m.preferred_language';
/** A store held below the member preferences migration (targetVersion, upgrade tests): the defaults. */
const PREFERENCE_DEFAULTS = "'regular' AS delivery_mode, 1 AS receive_own_postings, 1 AS receive_list_copy, 0 AS acknowledge_posts, 0 AS hide_address, NULL AS preferred_language";
const MEMBER_COLUMNS = `l.address AS list_address, m.address, m.display_name, m.role, m.delivery_status,
  m.moderation_action, m.bounce_score, m.last_bounce_at, m.bounce_warnings_sent, m.last_bounce_warning_at, m.subscribed_at, ${PREFERENCE_COLUMNS}`;
/** A store held below schema version 3 (targetVersion, upgrade tests) has no warning columns. */
const MEMBER_COLUMNS_V2 = MEMBER_COLUMNS.replace('m.bounce_warnings_sent, m.last_bounce_warning_at', '0 AS bounce_warnings_sent, NULL AS last_bounce_warning_at');

/**
 * The members a post goes to (Store.deliveryAddresses): role member,
 * delivery enabled, mode regular, in address_key order; read per list
 * (deliveryBase) with the two preferences that depend on the post, which
 * deliveryAddresses then applies: receive_own_postings 0 leaves out the
 * sender, receive_list_copy 0 leaves out a member named in the To/Cc.
 * Columns: address, address_key, receive_own_postings, receive_list_copy.
 */
const DELIVERY_BASE_QUERY = `SELECT address, address_key, receive_own_postings, receive_list_copy FROM members
  WHERE list_id = ? AND role = 'member' AND delivery_status = 'enabled' AND delivery_mode = 'regular'
  ORDER BY address_key`;
const DELIVERY_QUERY_NO_PREFERENCES = "SELECT address FROM members WHERE list_id = ? AND role = 'member' AND delivery_status = 'enabled' ORDER BY address_key";
const HELD_COLUMNS = `h.id, l.address AS list_address, h.sender, h.subject, h.reason, h.received_at,
  h.message_id, h.queue_ref, h.raw, h.metadata`;

/** Most entries a store's memo tables hold before they start again empty (a site has far fewer lists than this). */
const MEMO_ENTRIES = 1_000;

/** SqliteStore.changeMark(). */
interface ChangeMark {
  /** total_changes(): rows this connection inserted, updated or deleted. */
  changes: number;
  /** PRAGMA data_version: moves when another connection commits. */
  version: number;
}

/** A list's regular-delivery members, in address_key order (DELIVERY_BASE_QUERY's rows), as deliveryAddresses applies a post to them. */
interface DeliveryBase {
  addresses: string[];
  keys: string[];
  /** receive_own_postings off, by row. */
  ownOff: boolean[];
  /** receive_list_copy off, by row. */
  copyOff: boolean[];
  /** The rows with either off: the only ones a post's sender or To/Cc can leave out. */
  exceptions: number[];
}

function deliveryBase(rows: ReadonlyArray<[address: string, key: string, receiveOwnPostings: number, receiveListCopy: number]>): DeliveryBase {
  const base: DeliveryBase = { addresses: [], keys: [], ownOff: [], copyOff: [], exceptions: [] };
  for (const [address, key, ownPostings, listCopy] of rows) {
    if (ownPostings !== 1 || listCopy !== 1) base.exceptions.push(base.addresses.length);
    base.addresses.push(address);
    base.keys.push(key);
    base.ownOff.push(ownPostings !== 1);
    base.copyOff.push(listCopy !== 1);
  }
  return base;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return error instanceof Database.SqliteError && typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** SQLITE_CORRUPT (and its extended codes) or SQLITE_NOTADB: the file itself is damaged, retrying cannot help. */
function corruptionCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (!(error instanceof Database.SqliteError) || typeof code !== 'string') return undefined;
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' ? code : undefined;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Database.SqliteError && (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY');
}

function capitalise(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function toMember(row: MemberRow): Member {
  return {
    list: row.list_address,
    address: row.address,
    displayName: row.display_name,
    role: row.role,
    deliveryStatus: row.delivery_status,
    deliveryMode: row.delivery_mode,
    receiveOwnPostings: row.receive_own_postings === 1,
    receiveListCopy: row.receive_list_copy === 1,
    acknowledgePosts: row.acknowledge_posts === 1,
    hideAddress: row.hide_address === 1,
    preferredLanguage: row.preferred_language,
    moderationAction: row.moderation_action,
    bounceScore: row.bounce_score,
    lastBounceAt: row.last_bounce_at === null ? null : new Date(row.last_bounce_at),
    bounceWarningsSent: row.bounce_warnings_sent,
    lastBounceWarningAt: row.last_bounce_warning_at === null ? null : new Date(row.last_bounce_warning_at),
    subscribedAt: new Date(row.subscribed_at),
  };
}

function toBounceEvent(row: BounceEventRow): BounceEvent {
  return { id: row.id, list: row.list_address, address: row.address, at: new Date(row.at), permanent: row.permanent === 1, source: row.source, reason: row.reason, status: row.status, reply: row.reply };
}

/** Midnight UTC of the day `date` falls on. */
function utcDayStart(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

function toHeld(row: HeldRow): HeldMessage {
  return {
    id: row.id,
    list: row.list_address,
    sender: row.sender,
    subject: row.subject,
    reason: row.reason,
    receivedAt: new Date(row.received_at),
    messageId: row.message_id,
    queueRef: row.queue_ref,
    raw: row.raw,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
  };
}

interface PendingRow {
  id: number;
  token: string;
  list_address: string;
  kind: PendingKind;
  address: string;
  display_name: string;
  created_at: string;
  expires_at: string;
  owners_notified_at: string | null;
}

const PENDING_COLUMNS = 'p.id, p.token, l.address AS list_address, p.kind, p.address, p.display_name, p.created_at, p.expires_at, p.owners_notified_at';

function toPending(row: PendingRow): PendingRequest {
  return {
    id: row.id,
    token: row.token,
    list: row.list_address,
    kind: row.kind,
    address: row.address,
    displayName: row.display_name,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    ownersNotifiedAt: row.owners_notified_at === null ? null : new Date(row.owners_notified_at),
  };
}

/** Create the database file 0660 (whatever the umask) if it does not exist yet. */
function createFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o660);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    fchmodSync(fd, 0o660);
  } finally {
    closeSync(fd);
  }
}

/**
 * list-settings.ts (and zod with it) is loaded on the first call that needs a
 * list's settings, not with the store: `switchyard inject` opens the store
 * once per message and only asks findListAddress(), so it never pays for it.
 */
type ParseSettings = (typeof import('./list-settings.js'))['parseSettings'];
let parseSettingsLoaded: ParseSettings | undefined;
async function settingsParser(): Promise<ParseSettings> {
  parseSettingsLoaded ??= (await import('./list-settings.js')).parseSettings;
  return parseSettingsLoaded;
}

/**
 * better-sqlite3's native addon where npm's install (its own build, or
 * prebuild-install's download) puts it, or undefined (another layout:
 * better-sqlite3 then searches as usual). Passed as `nativeBinding`, it
 * spares each process the `bindings` package's search (a dozen stats and a
 * stack trace, about 2 ms): a one-message `inject` opens the store once.
 */
let nativeAddon: string | null | undefined;
function nativeAddonPath(): string | undefined {
  if (nativeAddon === undefined) {
    try {
      const path = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3')), '..', 'build', 'Release', 'better_sqlite3.node');
      nativeAddon = existsSync(path) ? path : null;
    } catch {
      nativeAddon = null;
    }
  }
  return nativeAddon ?? undefined;
}

export class SqliteStore implements Store {
  readonly location: string;
  private readonly db: Database.Database;
  /** Prepared statements by SQL text: a post's lookups run thousands of times, the SQL is fixed. */
  private readonly statements = new Map<string, Database.Statement>();
  private memberColumns = MEMBER_COLUMNS;
  /** False for a store held below the member preferences migration (upgrade tests). */
  private hasPreferences = true;
  private eventColumns = EVENT_COLUMNS;
  private readonly tables = new Map<string, boolean>();
  /** canonicalListAddress's memory. */
  private readonly listAddresses = new Map<string, string>();
  /** settingsOf's memory: validated settings by their stored JSON text. */
  private readonly parsedSettings = new Map<string, ListSettings>();
  /** Inside guard(), and the data_version read during the current (outermost) guarded call: changeMark(). */
  private guarding = false;
  private callDataVersion: number | undefined;
  /** remember()'s memory, and the change mark it holds for. */
  private readonly memo = new Map<string, unknown>();
  private memoMark: ChangeMark | undefined;

  /** Opens (creating if needed) and migrates; throws StoreBusyError / StoreSchemaError. */
  constructor(options: SqliteStoreOptions) {
    this.location = options.file;
    createFile(options.file);
    const addon = nativeAddonPath();
    this.db = this.guard(() => new Database(options.file, { timeout: options.busyTimeoutMs ?? 5000, ...(addon === undefined ? {} : { nativeBinding: addon }) }));
    try {
      this.guard(() => {
        if (options.verify) this.verify();
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        this.db.pragma('foreign_keys = ON');
        this.migrate(options.targetVersion ?? SCHEMA_VERSION);
        if (this.currentVersion() < 3) this.memberColumns = MEMBER_COLUMNS_V2;
        // Told by the columns, not the migration's number (numbers are assigned at merge time).
        this.hasPreferences = (this.db.pragma('table_info(members)') as Array<{ name: string }>).some((column) => column.name === 'delivery_mode');
        if (!this.hasPreferences) this.memberColumns = this.memberColumns.replace(PREFERENCE_COLUMNS, PREFERENCE_DEFAULTS);
        if (this.currentVersion() < 6) this.eventColumns = EVENT_COLUMNS_V5;
      });
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /** The schema version recorded in the database. */
  schemaVersion(): number {
    return this.guard(() => this.currentVersion());
  }

  private currentVersion(): number {
    const row = this.statement('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
    return row.version ?? 0;
  }

  private migrate(target: number): void {
    this.db.exec(MIGRATIONS_TABLE);
    const apply = this.db.transaction((migration: (typeof MIGRATIONS)[number]) => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      if (this.currentVersion() >= migration.version) return;
      for (const statement of migration.statements) this.db.exec(statement);
      this.statement('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
        .run(migration.version, migration.name, new Date().toISOString());
    });
    const found = this.currentVersion();
    if (found > SCHEMA_VERSION) {
      throw new StoreSchemaError(this.location, `has schema version ${found}, newer than this switchyard knows (${SCHEMA_VERSION}); upgrade switchyard`);
    }
    for (const migration of MIGRATIONS) {
      if (migration.version > target || migration.version <= found) continue;
      apply.immediate(migration);
    }
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Run `operation`, turning SQLite's lock errors into the store's temporary error, and a damaged file into StoreCorruptError. */
  private guard<T>(operation: () => T): T {
    const outermost = !this.guarding;
    this.guarding = true;
    try {
      return operation();
    } catch (error) {
      if (isBusy(error)) throw new StoreBusyError(this.location, error);
      const corrupt = corruptionCode(error);
      if (corrupt !== undefined) throw new StoreCorruptError(this.location, corrupt, error);
      throw error;
    } finally {
      if (outermost) {
        this.guarding = false;
        this.callDataVersion = undefined;
      }
    }
  }

  /** PRAGMA quick_check: O(size of the file), so only when asked for (SqliteStoreOptions.verify). */
  private verify(): void {
    const rows = this.db.pragma('quick_check(5)') as Array<{ quick_check: string }>;
    const problems = rows.map((row) => row.quick_check).filter((text) => text !== 'ok');
    if (problems.length > 0) throw new StoreCorruptError(this.location, `SQLITE_CORRUPT: quick_check: ${problems.join('; ')}`);
  }

  /** `operation` in one BEGIN IMMEDIATE transaction. */
  private write<T>(operation: () => T): T {
    return this.guard(() => this.db.transaction(operation).immediate());
  }

  // ------------------------------------------------------------------ lists

  private listRow(address: string): ListRow {
    const canonical = this.canonicalListAddress(address);
    const row = this.remember(`list\0${canonical}`, () => this.statement('SELECT * FROM lists WHERE address = ?').get(canonical) as ListRow | undefined);
    if (row === undefined) throw new ListUnknownError(canonical);
    return row;
  }

  /** parseListAddress(address).address, remembered: a pure function of the text (IDNA included), asked on every lookup of a list. */
  private canonicalListAddress(address: string): string {
    let canonical = this.listAddresses.get(address);
    if (canonical === undefined) {
      canonical = parseListAddress(address).address;
      if (this.listAddresses.size >= MEMO_ENTRIES) this.listAddresses.clear();
      this.listAddresses.set(address, canonical);
    }
    return canonical;
  }

  private toList(row: ListRow, parseSettings: ParseSettings): MailingList {
    return {
      address: row.address,
      name: row.name,
      domain: row.domain,
      displayName: row.display_name,
      description: row.description,
      settings: this.settingsOf(row.settings, parseSettings),
      createdAt: new Date(row.created_at),
    };
  }

  /**
   * A list's settings from their stored JSON text. The validated result is
   * remembered by that text (content-addressed: the same text always
   * parses to the same settings, so nothing can be stale whoever changed the
   * row), and each caller gets its own copy, as it got its own parse before:
   * a caller that changes the object changes nobody else's.
   */
  private settingsOf(text: string, parseSettings: ParseSettings): ListSettings {
    let parsed = this.parsedSettings.get(text);
    if (parsed === undefined) {
      parsed = parseSettings(JSON.parse(text), false);
      if (this.parsedSettings.size >= MEMO_ENTRIES) this.parsedSettings.clear();
      this.parsedSettings.set(text, parsed);
    }
    return structuredClone(parsed);
  }

  /**
   * Where the database stands, or undefined inside a transaction:
   * data_version moves when another connection (another process, another
   * store object) commits, total_changes() when this one changes a row.
   * Equal marks, both read outside a transaction: no committed row changed
   * in between.
   */
  private changeMark(): ChangeMark | undefined {
    if (this.db.inTransaction) return undefined;
    const changes = this.statement('SELECT total_changes()').pluck().get() as number;
    // data_version once per store call (guard()), the only costly part of the mark: a commit by
    // another process during this one synchronous call is seen by the next call, as if this
    // call had read everything at its start. total_changes() is read every time: this call's
    // own writes outside a transaction move it.
    let version = this.callDataVersion;
    if (version === undefined) {
      version = this.statement('PRAGMA data_version').pluck().get() as number;
      if (this.guarding) this.callDataVersion = version;
    }
    return { changes, version };
  }

  /**
   * What `read` gives, remembered under `key` until the change mark moves
   * (the rows a post reads again and again: its list, its poster's member
   * row, the delivery members). The mark is read before `read` runs, so
   * what is kept is never older than the mark it is kept under; any change
   * since, by anyone, empties the memory at the next call. Inside a
   * transaction `read` runs and nothing is kept or used: rows changed there
   * may yet be rolled back, which moves no mark. What is kept is shared:
   * callers build their results from it and never change it.
   */
  private remember<T>(key: string, read: () => T): T {
    const mark = this.changeMark();
    if (mark === undefined) return read();
    if (this.memoMark === undefined || this.memoMark.changes !== mark.changes || this.memoMark.version !== mark.version) {
      this.memo.clear();
      this.memoMark = mark;
    }
    if (this.memo.has(key)) return this.memo.get(key) as T;
    const value = read();
    if (this.memo.size >= MEMO_ENTRIES) this.memo.clear();
    this.memo.set(key, value);
    return value;
  }

  async createList(list: NewList): Promise<MailingList> {
    const { address, name, domain } = parseListAddress(list.address);
    const displayName = list.displayName ?? capitalise(name);
    const parseSettings = await settingsParser();
    const settings = parseSettings({ subjectPrefix: `[${displayName}] `, ...list.settings }, true);
    checkHeaderValues({ displayName, settings });
    const members = (list.members ?? []).map((member) => ({ address: parseAddress(member.address), displayName: member.displayName ?? '', role: member.role ?? 'member' }));
    return this.write(() => {
      const now = new Date().toISOString();
      let listId: number;
      try {
        listId = Number(
          this.statement('INSERT INTO lists (address, name, domain, display_name, description, settings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
            .run(address, name, domain, displayName, list.description ?? '', JSON.stringify(settings), now).lastInsertRowid,
        );
      } catch (error) {
        if (isUniqueViolation(error)) throw new ListExistsError(address);
        throw error;
      }
      const insert = this.statement(
        `INSERT INTO members (list_id, address, address_key, display_name, role, subscribed_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (list_id, role, address_key) DO NOTHING`,
      );
      for (const member of members) insert.run(listId, member.address.address, member.address.key, member.displayName, member.role, now);
      return this.toList(this.listRow(address), parseSettings);
    });
  }

  async getList(address: string): Promise<MailingList> {
    const parseSettings = await settingsParser();
    return this.guard(() => this.toList(this.listRow(address), parseSettings));
  }

  async findListAddress(address: string): Promise<string | null> {
    const canonical = parseListAddress(address).address;
    const row = this.guard(() => this.statement('SELECT address FROM lists WHERE address = ?').get(canonical)) as { address: string } | undefined;
    return row?.address ?? null;
  }

  async findList(address: string): Promise<MailingList | null> {
    try {
      return await this.getList(address);
    } catch (error) {
      if (error instanceof ListUnknownError) return null;
      throw error;
    }
  }

  async lists(): Promise<MailingList[]> {
    const parseSettings = await settingsParser();
    return this.guard(() => (this.statement('SELECT * FROM lists ORDER BY address').all() as ListRow[]).map((row) => this.toList(row, parseSettings)));
  }

  async updateList(address: string, changes: ListChanges, options: { precondition?: (current: MailingList) => void } = {}): Promise<MailingList> {
    // Only the values being written: an old stored value must not block changing another.
    checkHeaderValues({ ...(changes.displayName === undefined ? {} : { displayName: changes.displayName }), ...(changes.settings === undefined ? {} : { settings: changes.settings }) });
    const parseSettings = await settingsParser();
    return this.write(() => {
      const row = this.listRow(address);
      options.precondition?.(this.toList(row, parseSettings));
      const current = parseSettings(JSON.parse(row.settings), false);
      const settings: ListSettings = changes.settings === undefined ? current : parseSettings({ ...current, ...changes.settings }, true);
      this.statement('UPDATE lists SET display_name = ?, description = ?, settings = ? WHERE id = ?')
        .run(changes.displayName ?? row.display_name, changes.description ?? row.description, JSON.stringify(settings), row.id);
      return this.toList(this.listRow(row.address), parseSettings);
    });
  }

  async removeList(address: string): Promise<RemovedList> {
    return this.write(() => {
      const row = this.listRow(address);
      const count = (sql: string): number => (this.statement(sql).get(row.id) as { n: number }).n;
      const members = count('SELECT COUNT(*) AS n FROM members WHERE list_id = ?');
      const held = count('SELECT COUNT(*) AS n FROM held_messages WHERE list_id = ?');
      // Explicit deletes rather than relying on ON DELETE CASCADE alone: the result is the same with foreign keys off.
      this.statement('DELETE FROM held_messages WHERE list_id = ?').run(row.id);
      this.statement('DELETE FROM bounce_events WHERE list_id = ?').run(row.id);
      if (this.currentVersion() >= 7) {
        this.statement('DELETE FROM pending_requests WHERE list_id = ?').run(row.id);
        this.statement('DELETE FROM auto_response_counts WHERE list_id = ?').run(row.id);
      }
      this.statement('DELETE FROM members WHERE list_id = ?').run(row.id);
      this.statement('DELETE FROM lists WHERE id = ?').run(row.id);
      return { list: row.address, members, held };
    });
  }

  // ---------------------------------------------------------------- members

  private memberRow(list: string, address: Address, role: Role): MemberRow | undefined {
    return this.remember(`member\0${list}\0${role}\0${address.key}`, () =>
      this.statement(`SELECT ${this.memberColumns} FROM members m JOIN lists l ON l.id = m.list_id WHERE l.address = ? AND m.role = ? AND m.address_key = ?`)
        .get(list, role, address.key) as MemberRow | undefined,
    );
  }

  async addMember(list: string, member: NewMember): Promise<Member> {
    checkMemberName(member.address, member.displayName);
    const address = parseAddress(member.address);
    const role = member.role ?? 'member';
    return this.write(() => {
      const row = this.listRow(list);
      try {
        this.insertMember('').run(...this.memberValues(row.id, address, member.displayName ?? '', role, member, new Date().toISOString()));
      } catch (error) {
        if (isUniqueViolation(error)) throw new MemberExistsError(row.address, address.address, role);
        throw error;
      }
      return toMember(this.memberRow(row.address, address, role) as MemberRow);
    });
  }

  async addMembers(list: string, members: readonly NewMember[]): Promise<AddedMembers> {
    for (const member of members) checkMemberName(member.address, member.displayName);
    const rows = members.map((member) => ({ address: parseAddress(member.address), member }));
    return this.write(() => {
      const listId = this.listRow(list).id;
      const insert = this.insertMember(' ON CONFLICT (list_id, role, address_key) DO NOTHING');
      const now = new Date().toISOString();
      let added = 0;
      for (const row of rows) added += insert.run(...this.memberValues(listId, row.address, row.member.displayName ?? '', row.member.role ?? 'member', row.member, now)).changes;
      return { added, existing: rows.length - added };
    });
  }

  /** The INSERT of one new member row; a store held below the preferences migration (upgrade tests) has no delivery_mode. */
  private insertMember(conflict: string): Database.Statement {
    const mode = this.hasPreferences ? ', delivery_mode' : '';
    return this.statement(
      `INSERT INTO members (list_id, address, address_key, display_name, role, subscribed_at, delivery_status${mode}) VALUES (?, ?, ?, ?, ?, ?, ?${this.hasPreferences ? ', ?' : ''})${conflict}`,
    );
  }

  private memberValues(listId: number, address: Address, displayName: string, role: Role, member: NewMember, now: string): unknown[] {
    const values: unknown[] = [listId, address.address, address.key, displayName, role, now, member.deliveryStatus ?? 'enabled'];
    if (this.hasPreferences) values.push(member.deliveryMode ?? 'regular');
    return values;
  }

  async removeMember(list: string, address: string, role: Role = 'member'): Promise<Member> {
    const parsed = parseAddress(address);
    return this.write(() => {
      const row = this.listRow(list);
      const member = this.memberRow(row.address, parsed, role);
      if (member === undefined) throw new MemberUnknownError(row.address, parsed.address, role);
      this.statement('DELETE FROM members WHERE list_id = ? AND role = ? AND address_key = ?').run(row.id, role, parsed.key);
      return toMember(member);
    });
  }

  async getMember(list: string, address: string, role: Role = 'member'): Promise<Member> {
    const found = await this.findMember(list, address, role);
    if (found === null) throw new MemberUnknownError(parseListAddress(list).address, parseAddress(address).address, role);
    return found;
  }

  async findMember(list: string, address: string, role: Role = 'member'): Promise<Member | null> {
    const parsed = parseAddress(address);
    return this.guard(() => {
      const row = this.listRow(list);
      const member = this.memberRow(row.address, parsed, role);
      return member === undefined ? null : toMember(member);
    });
  }

  async deliveryAddresses(list: string, post?: PostAddressing): Promise<string[]> {
    // Keys as the members table has them; an unreadable address names no member, so it is dropped here.
    const key = (text: string): string | null => (addressProblem(text) === null ? parseAddress(text).key : null);
    const sender = post?.sender == null ? '' : (key(post.sender) ?? '');
    const explicit = new Set((post?.explicitRecipients ?? []).map(key).filter((k): k is string => k !== null));
    return this.guard(() => {
      const row = this.listRow(list);
      if (!this.hasPreferences) return this.statement(DELIVERY_QUERY_NO_PREFERENCES).pluck().all(row.id) as string[];
      const base = this.remember(`delivery\0${row.id}`, () => deliveryBase(this.statement(DELIVERY_BASE_QUERY).raw().all(row.id) as Array<[string, string, number, number]>));
      // The two preferences that depend on the post (see DELIVERY_BASE_QUERY), on the only rows that can fail them.
      const excluded = (i: number): boolean => (base.ownOff[i] === true && base.keys[i] === sender) || (base.copyOff[i] === true && explicit.has(base.keys[i]!));
      if (base.exceptions.length === 0 || !base.exceptions.some(excluded)) return base.addresses.slice();
      return base.addresses.filter((_address, i) => !excluded(i));
    });
  }

  async digestAddresses(list: string, mode: DigestMode): Promise<string[]> {
    return this.guard(() => {
      const row = this.listRow(list);
      if (!this.hasPreferences) return [];
      return this.statement("SELECT address FROM members WHERE list_id = ? AND delivery_mode = ? AND role = 'member' AND delivery_status = 'enabled' ORDER BY address_key")
        .pluck()
        .all(row.id, mode) as string[];
    });
  }

  async countDigestMembers(list: string): Promise<Partial<Record<DigestMode, number>>> {
    return this.guard(() => {
      const row = this.listRow(list);
      if (!this.hasPreferences) return {};
      // Asked for every post (src/app/digests.ts addToDigest): remembered as the delivery members are.
      const rows = this.remember(`digest-counts\0${row.id}`, () => this.statement(
        "SELECT delivery_mode AS mode, COUNT(*) AS n FROM members WHERE list_id = ? AND delivery_mode <> 'regular' AND role = 'member' AND delivery_status = 'enabled' GROUP BY delivery_mode",
      ).all(row.id) as Array<{ mode: DigestMode; n: number }>);
      return Object.fromEntries(rows.map((r) => [r.mode, r.n]));
    });
  }

  async members(list: string, options: { role?: Role; deliveryStatus?: DeliveryStatus } = {}): Promise<Member[]> {
    return this.guard(() => {
      const row = this.listRow(list);
      let byRole = options.role === undefined ? '' : ' AND m.role = ?';
      const params: unknown[] = options.role === undefined ? [row.id] : [row.id, options.role];
      if (options.deliveryStatus !== undefined) {
        byRole += ' AND m.delivery_status = ?';
        params.push(options.deliveryStatus);
      }
      const rows = this.statement(`SELECT ${this.memberColumns} FROM members m JOIN lists l ON l.id = m.list_id WHERE m.list_id = ?${byRole} ORDER BY m.address_key, m.role`)
        .all(...params) as MemberRow[];
      return rows.map(toMember);
    });
  }

  async memberPage(list: string, page: MemberPageRequest): Promise<Member[]> {
    return this.guard(() => {
      const row = this.listRow(list);
      let where = 'm.list_id = ?';
      const params: unknown[] = [row.id];
      if (page.role !== undefined) {
        where += ' AND m.role = ?';
        params.push(page.role);
      }
      if (page.after !== undefined) {
        // Row-value comparison: the index (list_id, role, address_key) is not in this order, but address_key is.
        where += ' AND (m.address_key, m.role) > (?, ?)';
        params.push(page.after.address.toLowerCase(), page.after.role);
      }
      if (page.search !== undefined && page.search !== '') {
        where += " AND (m.address_key LIKE ? ESCAPE '\\' OR m.display_name LIKE ? ESCAPE '\\')";
        const pattern = `%${page.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        params.push(pattern, pattern);
      }
      params.push(page.limit);
      const rows = this.statement(`SELECT ${this.memberColumns} FROM members m JOIN lists l ON l.id = m.list_id WHERE ${where} ORDER BY m.address_key, m.role LIMIT ?`).all(...params) as MemberRow[];
      return rows.map(toMember);
    });
  }

  async countMembers(list: string, options: { role?: Role } = {}): Promise<number> {
    return this.guard(() => {
      const row = this.listRow(list);
      const byRole = options.role === undefined ? '' : ' AND role = ?';
      const params: unknown[] = options.role === undefined ? [row.id] : [row.id, options.role];
      return (this.statement(`SELECT COUNT(*) AS n FROM members WHERE list_id = ?${byRole}`).get(...params) as { n: number }).n;
    });
  }

  async updateMember(list: string, address: string, role: Role, changes: MemberChanges): Promise<Member> {
    checkMemberName(address, changes.displayName);
    const parsed = parseAddress(address);
    return this.write(() => {
      const listRow = this.listRow(list);
      const current = this.memberRow(listRow.address, parsed, role);
      if (current === undefined) throw new MemberUnknownError(listRow.address, parsed.address, role);
      this.applyMemberChanges(listRow.id, parsed, role, current, changes);
      return toMember(this.memberRow(listRow.address, parsed, role) as MemberRow);
    });
  }

  async updateMembers(list: string, updates: readonly { address: string; role: Role; changes: MemberChanges }[]): Promise<number> {
    for (const update of updates) checkMemberName(update.address, update.changes.displayName);
    const parsed = updates.map((update) => ({ ...update, address: parseAddress(update.address) }));
    return this.write(() => {
      const listRow = this.listRow(list);
      for (const update of parsed) {
        const current = this.memberRow(listRow.address, update.address, update.role);
        if (current === undefined) throw new MemberUnknownError(listRow.address, update.address.address, update.role);
        this.applyMemberChanges(listRow.id, update.address, update.role, current, update.changes);
      }
      return parsed.length;
    });
  }

  private applyMemberChanges(listId: number, address: Address, role: Role, current: MemberRow, changes: MemberChanges): void {
    const date = (change: Date | null | undefined, stored: string | null): string | null => (change === undefined ? stored : (change?.toISOString() ?? null));
    const values: Array<[column: string, value: unknown]> = [
      ['display_name', changes.displayName ?? current.display_name],
      ['delivery_status', changes.deliveryStatus ?? current.delivery_status],
      ['moderation_action', changes.moderationAction === undefined ? current.moderation_action : changes.moderationAction],
      ['bounce_score', changes.bounceScore ?? current.bounce_score],
      ['last_bounce_at', date(changes.lastBounceAt, current.last_bounce_at)],
    ];
    if (this.hasPreferences) {
      const flag = (change: boolean | undefined, stored: number): number => (change === undefined ? stored : change ? 1 : 0);
      values.push(
        ['delivery_mode', changes.deliveryMode ?? current.delivery_mode],
        ['receive_own_postings', flag(changes.receiveOwnPostings, current.receive_own_postings)],
        ['receive_list_copy', flag(changes.receiveListCopy, current.receive_list_copy)],
        ['acknowledge_posts', flag(changes.acknowledgePosts, current.acknowledge_posts)],
        ['hide_address', flag(changes.hideAddress, current.hide_address)],
        ['preferred_language', changes.preferredLanguage === undefined ? current.preferred_language : changes.preferredLanguage],
      );
    }
    // A store held below schema 3 (upgrade tests) has no warning columns yet.
    if (this.memberColumns.includes('m.bounce_warnings_sent')) {
      values.push(['bounce_warnings_sent', changes.bounceWarningsSent ?? current.bounce_warnings_sent], ['last_bounce_warning_at', date(changes.lastBounceWarningAt, current.last_bounce_warning_at)]);
    }
    this.statement(`UPDATE members SET ${values.map(([column]) => `${column} = ?`).join(', ')} WHERE list_id = ? AND role = ? AND address_key = ?`).run(
      ...values.map(([, value]) => value),
      listId,
      role,
      address.key,
    );
  }

  // ---------------------------------------------------------------- bounces

  async recordBounce(event: NewBounceEvent, scorer: BounceScorer): Promise<RecordedBounce | null> {
    const parsed = parseAddress(event.address);
    return this.write(() => {
      const listRow = this.listRow(event.list);
      const current = this.memberRow(listRow.address, parsed, 'member');
      if (current === undefined) return null;
      const dayStart = utcDayStart(event.at);
      const sameDay = (
        this.statement(
            `SELECT ${this.eventColumns} FROM bounce_events e JOIN lists l ON l.id = e.list_id
             WHERE e.list_id = ? AND e.address_key = ? AND e.at >= ? AND e.at < ? ORDER BY e.at, e.id`,
          )
          .all(listRow.id, parsed.key, dayStart.toISOString(), new Date(dayStart.getTime() + 86_400_000).toISOString()) as BounceEventRow[]
      ).map(toBounceEvent);
      const before = toMember(current);
      const atIso = event.at.toISOString();
      const permanent = event.permanent ? 1 : 0;
      const repeat = sameDay.find((earlier) => earlier.at.toISOString() === atIso && earlier.source === event.source && earlier.permanent === event.permanent);
      // The same bounce again (its queue entry re-run after a crash): already recorded and scored.
      if (repeat !== undefined) return { event: repeat, before, after: before };
      const changes = scorer(before, event, sameDay);
      const reason = event.reason ?? 'undefined';
      const status = event.status ?? null;
      const reply = event.reply ?? null;
      const { lastInsertRowid } =
        this.eventColumns === EVENT_COLUMNS
          ? this.statement('INSERT INTO bounce_events (list_id, address, address_key, at, permanent, source, reason, status, reply) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
              .run(listRow.id, current.address, parsed.key, atIso, permanent, event.source, reason, status, reply)
          : this.statement('INSERT INTO bounce_events (list_id, address, address_key, at, permanent, source) VALUES (?, ?, ?, ?, ?, ?)')
              .run(listRow.id, current.address, parsed.key, atIso, permanent, event.source);
      this.applyMemberChanges(listRow.id, parsed, 'member', current, changes);
      const after = toMember(this.memberRow(listRow.address, parsed, 'member') as MemberRow);
      return {
        event: { id: Number(lastInsertRowid), list: listRow.address, address: current.address, at: event.at, permanent: event.permanent, source: event.source, reason, status, reply },
        before,
        after,
      };
    });
  }

  async bounceEvents(list: string, options: { address?: string; limit?: number } = {}): Promise<BounceEvent[]> {
    const key = options.address === undefined ? undefined : parseAddress(options.address).key;
    return this.guard(() => {
      const listRow = this.listRow(list);
      const byAddress = key === undefined ? '' : ' AND e.address_key = ?';
      const params: unknown[] = key === undefined ? [listRow.id] : [listRow.id, key];
      const rows = this.statement(
          `SELECT ${this.eventColumns} FROM bounce_events e JOIN lists l ON l.id = e.list_id
           WHERE e.list_id = ?${byAddress} ORDER BY e.at DESC, e.id DESC LIMIT ?`,
        )
        .all(...params, options.limit ?? 100) as BounceEventRow[];
      return rows.map(toBounceEvent);
    });
  }

  async recordDomainBounce(list: string, bounce: { domain: string; reason: string; at: Date; reply?: string }): Promise<void> {
    const at = bounce.at.toISOString();
    await this.write(() => {
      const listRow = this.listRow(list);
      this.statement(
          `INSERT INTO bounce_domains (list_id, domain, reason, count, first_at, last_at, last_reply) VALUES (?, ?, ?, 1, ?, ?, ?)
           ON CONFLICT (list_id, domain, reason) DO UPDATE SET count = count + 1, last_at = MAX(last_at, excluded.last_at), last_reply = excluded.last_reply`,
        )
        .run(listRow.id, bounce.domain.toLowerCase(), bounce.reason, at, at, (bounce.reply ?? '').slice(0, 500));
      if (this.hasTable('refusals_hourly')) {
        this.statement(
            `INSERT INTO refusals_hourly (list_id, domain, reason, hour, count) VALUES (?, ?, ?, ?, 1)
             ON CONFLICT (list_id, domain, reason, hour) DO UPDATE SET count = count + 1`,
          )
          .run(listRow.id, bounce.domain.toLowerCase(), bounce.reason, hourOf(bounce.at));
      }
    });
  }

  async domainBounces(list: string): Promise<DomainBounces[]> {
    return this.guard(() => {
      const listRow = this.listRow(list);
      if (this.eventColumns !== EVENT_COLUMNS) return [];
      const rows = this.statement(
          `SELECT l.address AS list_address, d.domain, d.reason, d.count, d.first_at, d.last_at, d.last_reply FROM bounce_domains d JOIN lists l ON l.id = d.list_id
           WHERE d.list_id = ? ORDER BY d.last_at DESC, d.domain, d.reason`,
        )
        .all(listRow.id) as DomainBounceRow[];
      return rows.map((row) => ({ list: row.list_address, domain: row.domain, reason: row.reason, count: row.count, firstAt: new Date(row.first_at), lastAt: new Date(row.last_at), lastReply: row.last_reply }));
    });
  }

  /** Whether `name` exists: a store held at an older schema (targetVersion, upgrade tests) lacks the newer tables. */
  private hasTable(name: string): boolean {
    let known = this.tables.get(name);
    if (known === undefined) {
      known = this.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
      this.tables.set(name, known);
    }
    return known;
  }

  async domainRefusals(since: Date, options: { list?: string } = {}): Promise<DomainRefusals[]> {
    return this.guard(() => {
      if (!this.hasTable('refusals_hourly')) return [];
      const byList = options.list === undefined ? '' : ' AND r.list_id = ?';
      const params: unknown[] = [hourOf(since)];
      if (options.list !== undefined) params.push(this.listRow(options.list).id);
      const rows = this.statement(
          `SELECT l.address AS list, r.domain, r.reason, SUM(r.count) AS count FROM refusals_hourly r JOIN lists l ON l.id = r.list_id
           WHERE r.hour >= ?${byList} GROUP BY l.address, r.domain, r.reason ORDER BY count DESC, l.address, r.domain, r.reason`,
        )
        .all(...params) as DomainRefusals[];
      return rows.map((row) => ({ list: row.list, domain: row.domain, reason: row.reason, count: row.count }));
    });
  }

  async recordComplaint(complaint: NewComplaint): Promise<RecordedComplaint | null> {
    const parsed = parseAddress(complaint.address);
    const at = complaint.at.toISOString();
    const source = complaint.source.slice(0, 1000);
    return this.write(() => {
      const listRow = this.listRow(complaint.list);
      const earlier = this.statement(
          `SELECT c.id, l.address AS list, c.address, c.at, c.feedback_type, c.source, c.action FROM complaints c JOIN lists l ON l.id = c.list_id
           WHERE c.list_id = ? AND c.address_key = ? AND c.at = ? AND c.source = ?`,
        )
        .get(listRow.id, parsed.key, at, source) as ComplaintRow | undefined;
      // Its queue entry re-run after a crash: recorded and acted on already (the member may be gone by now).
      if (earlier !== undefined) return { complaint: toComplaint(earlier), repeat: true };
      const member = this.memberRow(listRow.address, parsed, 'member');
      if (member === undefined) return null;
      const { lastInsertRowid } = this.statement(
          'INSERT INTO complaints (list_id, address, address_key, at, feedback_type, source, action) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(listRow.id, member.address, parsed.key, at, complaint.feedbackType, source, complaint.action);
      if (complaint.action === 'unsubscribe') {
        this.statement("DELETE FROM members WHERE list_id = ? AND role = 'member' AND address_key = ?").run(listRow.id, parsed.key);
      } else if (complaint.action === 'disable') {
        this.applyMemberChanges(listRow.id, parsed, 'member', member, { deliveryStatus: 'by_user' });
      }
      return {
        complaint: { id: Number(lastInsertRowid), list: listRow.address, address: member.address, at: complaint.at, feedbackType: complaint.feedbackType, source, action: complaint.action },
        repeat: false,
      };
    });
  }

  async complaints(list: string, options: { limit?: number } = {}): Promise<ComplaintRecord[]> {
    return this.guard(() => {
      const listRow = this.listRow(list);
      if (!this.hasTable('complaints')) return [];
      const rows = this.statement(
          `SELECT c.id, l.address AS list, c.address, c.at, c.feedback_type, c.source, c.action FROM complaints c JOIN lists l ON l.id = c.list_id
           WHERE c.list_id = ? ORDER BY c.at DESC, c.id DESC LIMIT ?`,
        )
        .all(listRow.id, options.limit ?? 100) as ComplaintRow[];
      return rows.map(toComplaint);
    });
  }

  async lastBounceReasons(list: string): Promise<Map<string, string>> {
    return this.guard(() => {
      const listRow = this.listRow(list);
      if (this.eventColumns !== EVENT_COLUMNS) return new Map();
      // The newest event per member: the greatest (at, id).
      const rows = this.statement(
          `SELECT e.address_key, e.reason FROM bounce_events e
           WHERE e.list_id = ? AND NOT EXISTS (SELECT 1 FROM bounce_events n WHERE n.list_id = e.list_id AND n.address_key = e.address_key AND (n.at > e.at OR (n.at = e.at AND n.id > e.id)))`,
        )
        .all(listRow.id) as Array<{ address_key: string; reason: string }>;
      return new Map(rows.map((row) => [row.address_key, row.reason]));
    });
  }

  async resetStaleBounceScores(list: string, before: Date): Promise<number> {
    return this.write(() => {
      const listRow = this.listRow(list);
      return this.statement(
          `UPDATE members SET bounce_score = 0 WHERE list_id = ? AND bounce_score > 0 AND role = 'member'
             AND delivery_status = 'enabled' AND (last_bounce_at IS NULL OR last_bounce_at < ?)`,
        )
        .run(listRow.id, before.toISOString()).changes;
    });
  }

  // ----------------------------------------------------------- held messages

  async holdMessage(message: NewHeldMessage): Promise<HeldMessage> {
    const queueRef = message.queueRef ?? null;
    const raw = message.raw ?? null;
    if ((queueRef === null) === (raw === null)) throw new HeldMessageInvalidError();
    return this.write(() => {
      const row = this.listRow(message.list);
      const { lastInsertRowid } = this.statement(
          `INSERT INTO held_messages (list_id, sender, subject, reason, received_at, message_id, queue_ref, raw, metadata)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          row.id,
          message.sender,
          message.subject,
          message.reason,
          (message.receivedAt ?? new Date()).toISOString(),
          message.messageId ?? null,
          queueRef,
          raw,
          JSON.stringify(message.metadata ?? {}),
        );
      return this.heldRow(Number(lastInsertRowid));
    });
  }

  private heldRow(id: number): HeldMessage {
    const row = this.statement(`SELECT ${HELD_COLUMNS} FROM held_messages h JOIN lists l ON l.id = h.list_id WHERE h.id = ?`).get(id) as HeldRow | undefined;
    if (row === undefined) throw new HeldMessageUnknownError(id);
    return toHeld(row);
  }

  async getHeld(id: number): Promise<HeldMessage> {
    return this.guard(() => this.heldRow(id));
  }

  async heldReplyToken(id: number, fresh: string): Promise<string> {
    return this.write(() => {
      this.heldRow(id);
      this.statement('INSERT INTO held_reply_tokens (token, held_id) VALUES (?, ?) ON CONFLICT (held_id) DO NOTHING').run(fresh, id);
      return (this.statement('SELECT token FROM held_reply_tokens WHERE held_id = ?').get(id) as { token: string }).token;
    });
  }

  async heldByReplyToken(token: string): Promise<HeldMessage | null> {
    return this.guard(() => {
      const row = this.statement('SELECT held_id FROM held_reply_tokens WHERE token = ?').get(token) as { held_id: number } | undefined;
      return row === undefined ? null : this.heldRow(row.held_id);
    });
  }

  async heldMessages(list: string): Promise<HeldMessage[]> {
    return this.guard(() => {
      const row = this.listRow(list);
      const rows = this.statement(`SELECT ${HELD_COLUMNS} FROM held_messages h JOIN lists l ON l.id = h.list_id WHERE h.list_id = ? ORDER BY h.id`).all(row.id) as HeldRow[];
      return rows.map(toHeld);
    });
  }

  async heldSummaries(list: string, page: { offset: number; limit: number }): Promise<HeldSummary[]> {
    return this.guard(() => {
      const row = this.listRow(list);
      const rows = this.statement('SELECT id, sender, subject, reason, received_at, message_id FROM held_messages WHERE list_id = ? ORDER BY id LIMIT ? OFFSET ?').all(row.id, page.limit, page.offset) as {
        id: number;
        sender: string;
        subject: string;
        reason: string;
        received_at: string;
        message_id: string | null;
      }[];
      return rows.map((r) => ({ id: r.id, list: row.address, sender: r.sender, subject: r.subject, reason: r.reason, receivedAt: new Date(r.received_at), messageId: r.message_id }));
    });
  }

  async countHeld(list: string): Promise<number> {
    return this.guard(() => (this.statement('SELECT COUNT(*) AS n FROM held_messages WHERE list_id = ?').get(this.listRow(list).id) as { n: number }).n);
  }

  async removeHeld(id: number): Promise<void> {
    this.write(() => {
      if (this.statement('DELETE FROM held_messages WHERE id = ?').run(id).changes === 0) throw new HeldMessageUnknownError(id);
    });
  }

  async decideHeld(id: number, decision: HeldDecision): Promise<HeldDecisionRecord> {
    return this.write(() => {
      const held = this.heldRow(id);
      const decidedAt = new Date().toISOString();
      this.statement(
          `INSERT INTO held_decisions (held_id, list_address, sender, subject, message_id, decision, decided_by, reason, decided_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, held.list, held.sender, held.subject, held.messageId, decision.decision, decision.decidedBy, decision.reason ?? '', decidedAt);
      this.statement('DELETE FROM held_messages WHERE id = ?').run(id);
      return this.decisionRow(id)!;
    });
  }

  private decisionRow(id: number): HeldDecisionRecord | null {
    const row = this.statement('SELECT * FROM held_decisions WHERE held_id = ?').get(id) as DecisionRow | undefined;
    if (row === undefined) return null;
    return {
      heldId: row.held_id,
      list: row.list_address,
      sender: row.sender,
      subject: row.subject,
      messageId: row.message_id,
      decision: row.decision as HeldDecision['decision'],
      decidedBy: row.decided_by,
      reason: row.reason,
      decidedAt: new Date(row.decided_at),
    };
  }

  async heldDecision(id: number): Promise<HeldDecisionRecord | null> {
    return this.guard(() => this.decisionRow(id));
  }

  async claimApproval(heldId: number, token: string): Promise<boolean> {
    return this.write(() => {
      this.statement('INSERT OR IGNORE INTO approval_claims (held_id, token, claimed_at) VALUES (?, ?, ?)').run(heldId, token, new Date().toISOString());
      const row = this.statement('SELECT token FROM approval_claims WHERE held_id = ?').get(heldId) as { token: string };
      return row.token === token;
    });
  }

  // ------------------------------------------------------- pending requests

  async addPendingRequest(request: NewPendingRequest): Promise<PendingRequest> {
    checkMemberName(request.address, request.displayName);
    const parsed = parseAddress(request.address);
    return this.write(() => {
      const listRow = this.listRow(request.list);
      const { lastInsertRowid } = this.statement(
          `INSERT INTO pending_requests (token, list_id, kind, address, address_key, display_name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(request.token, listRow.id, request.kind, parsed.address, parsed.key, request.displayName ?? '', request.createdAt.toISOString(), request.expiresAt.toISOString());
      return this.pendingRow('p.id = ?', Number(lastInsertRowid))!;
    });
  }

  private pendingRow(where: string, ...params: unknown[]): PendingRequest | null {
    const row = this.statement(`SELECT ${PENDING_COLUMNS} FROM pending_requests p JOIN lists l ON l.id = p.list_id WHERE ${where} ORDER BY p.id DESC LIMIT 1`).get(...params) as PendingRow | undefined;
    return row === undefined ? null : toPending(row);
  }

  async pendingRequestByToken(token: string): Promise<PendingRequest | null> {
    return this.guard(() => this.pendingRow('p.token = ?', token));
  }

  async findPendingRequest(list: string, kind: PendingKind, address: string, now: Date): Promise<PendingRequest | null> {
    const parsed = parseAddress(address);
    return this.guard(() => {
      const listRow = this.listRow(list);
      return this.pendingRow('p.list_id = ? AND p.kind = ? AND p.address_key = ? AND p.expires_at > ?', listRow.id, kind, parsed.key, now.toISOString());
    });
  }

  async getPendingRequest(list: string, id: number): Promise<PendingRequest> {
    return this.guard(() => {
      const listRow = this.listRow(list);
      const found = this.pendingRow('p.id = ? AND p.list_id = ?', id, listRow.id);
      if (found === null) throw new PendingRequestUnknownError(listRow.address, id);
      return found;
    });
  }

  async pendingRequests(list: string, options: { kinds?: readonly PendingKind[] } = {}): Promise<PendingRequest[]> {
    return this.guard(() => {
      const listRow = this.listRow(list);
      const rows = this.statement(`SELECT ${PENDING_COLUMNS} FROM pending_requests p JOIN lists l ON l.id = p.list_id WHERE p.list_id = ? ORDER BY p.id`).all(listRow.id) as PendingRow[];
      const kinds = options.kinds;
      return rows.map(toPending).filter((request) => kinds === undefined || kinds.includes(request.kind));
    });
  }

  async removePendingRequest(id: number): Promise<boolean> {
    return this.write(() => this.statement('DELETE FROM pending_requests WHERE id = ?').run(id).changes > 0);
  }

  async removeExpiredRequests(now: Date): Promise<PendingRequest[]> {
    return this.write(() => {
      const at = now.toISOString();
      const rows = this.statement(`SELECT ${PENDING_COLUMNS} FROM pending_requests p JOIN lists l ON l.id = p.list_id WHERE p.expires_at <= ? ORDER BY p.id`).all(at) as PendingRow[];
      this.statement('DELETE FROM pending_requests WHERE expires_at <= ?').run(at);
      return rows.map(toPending);
    });
  }

  async addPendingPreferenceChange(change: NewPendingPreferenceChange): Promise<PendingPreferenceChange> {
    const parsed = parseAddress(change.address);
    return this.write(() => {
      const listRow = this.listRow(change.list);
      const { lastInsertRowid } = this.statement(
        'INSERT INTO pending_preference_changes (token, list_id, address, address_key, changes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(change.token, listRow.id, parsed.address, parsed.key, change.changes, change.createdAt.toISOString(), change.expiresAt.toISOString());
      return { ...change, id: Number(lastInsertRowid), list: listRow.address, address: parsed.address };
    });
  }

  async takePendingPreferenceChange(list: string, token: string): Promise<PendingPreferenceChange | null> {
    return this.write(() => {
      const listRow = this.listRow(list);
      const row = this.statement(
        'SELECT c.id, c.token, l.address AS list, c.address, c.changes, c.created_at, c.expires_at FROM pending_preference_changes c JOIN lists l ON l.id = c.list_id WHERE c.token = ? AND c.list_id = ?',
      ).get(token, listRow.id) as { id: number; token: string; list: string; address: string; changes: string; created_at: string; expires_at: string } | undefined;
      if (row === undefined) return null;
      this.statement('DELETE FROM pending_preference_changes WHERE id = ?').run(row.id);
      return { id: row.id, token: row.token, list: row.list, address: row.address, changes: row.changes, createdAt: new Date(row.created_at), expiresAt: new Date(row.expires_at) };
    });
  }

  async removeExpiredPreferenceChanges(now: Date): Promise<number> {
    return this.write(() => this.statement('DELETE FROM pending_preference_changes WHERE expires_at <= ?').run(now.toISOString()).changes);
  }

  async markOwnersNotified(ids: readonly number[], at: Date): Promise<void> {
    await this.write(() => {
      const update = this.statement('UPDATE pending_requests SET owners_notified_at = ? WHERE id = ?');
      for (const id of ids) update.run(at.toISOString(), id);
    });
  }

  async takeAutoResponse(list: string, address: string, kind: string, period: string, limit: number): Promise<boolean> {
    const key = address === '' ? '' : parseAddress(address).key;
    return this.write(() => {
      const listRow = this.listRow(list);
      const row = this.statement('SELECT count FROM auto_response_counts WHERE list_id = ? AND address_key = ? AND kind = ? AND period = ?').get(listRow.id, key, kind, period) as
        | { count: number }
        | undefined;
      if ((row?.count ?? 0) >= limit) return false;
      this.statement(
        `INSERT INTO auto_response_counts (list_id, address_key, kind, period, count) VALUES (?, ?, ?, ?, 1)
         ON CONFLICT (list_id, address_key, kind, period) DO UPDATE SET count = count + 1`,
      ).run(listRow.id, key, kind, period);
      return true;
    });
  }

  async pruneAutoResponses(before: string): Promise<number> {
    return this.write(() => this.statement('DELETE FROM auto_response_counts WHERE period < ?').run(before).changes);
  }

  async claimJobRun(job: string, claim: JobRunClaim): Promise<JobRunClaimResult> {
    return this.write(() => {
      const row = this.statement('SELECT run_key, holder, expires_at, finished_at FROM job_leases WHERE job = ?').get(job) as
        | { run_key: string; holder: string; expires_at: string; finished_at: string | null }
        | undefined;
      if (row !== undefined) {
        // ISO 8601 UTC strings of one format compare as their times do.
        if (row.run_key >= claim.runKey) return { claimed: false, why: 'done', holder: row.holder, runKey: row.run_key };
        if (row.finished_at === null && row.expires_at > claim.now.toISOString()) return { claimed: false, why: 'busy', holder: row.holder, runKey: row.run_key };
      }
      this.statement(
        `INSERT INTO job_leases (job, run_key, holder, expires_at, finished_at) VALUES (?, ?, ?, ?, NULL)
         ON CONFLICT (job) DO UPDATE SET run_key = excluded.run_key, holder = excluded.holder, expires_at = excluded.expires_at, finished_at = NULL`,
      ).run(job, claim.runKey, claim.holder, claim.expiresAt.toISOString());
      return { claimed: true };
    });
  }

  async finishJobRun(job: string, holder: string, runKey: string, result: { at: Date; outcome: 'ok' | 'failed'; detail: string }): Promise<void> {
    await this.write(() => {
      this.statement('UPDATE job_leases SET finished_at = ?, outcome = ?, detail = ? WHERE job = ? AND holder = ? AND run_key = ?').run(
        result.at.toISOString(),
        result.outcome,
        result.detail,
        job,
        holder,
        runKey,
      );
    });
  }

  async jobLeases(): Promise<JobLease[]> {
    return this.guard(() =>
      (this.statement('SELECT job, run_key, holder, expires_at, finished_at, outcome, detail FROM job_leases ORDER BY job').all() as {
        job: string;
        run_key: string;
        holder: string;
        expires_at: string;
        finished_at: string | null;
        outcome: 'ok' | 'failed' | null;
        detail: string;
      }[]).map((row) => ({
        job: row.job,
        runKey: row.run_key,
        holder: row.holder,
        expiresAt: new Date(row.expires_at),
        finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
        outcome: row.outcome,
        detail: row.detail,
      })),
    );
  }

  // ---------------------------------------------------------------- digests

  async addDigestPost(post: NewDigestPost): Promise<boolean> {
    return this.write(() => {
      const listRow = this.listRow(post.list);
      const { changes } = this.statement(
        `INSERT OR IGNORE INTO digest_posts (list_id, entry_key, added_at, sender, subject, message_id, size, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(listRow.id, post.entryKey, post.addedAt.toISOString(), post.sender, post.subject, post.messageId, post.raw.length, post.raw);
      return changes === 1;
    });
  }

  private digestIssueRow(where: string, ...params: unknown[]): DigestIssue | null {
    const row = this.statement(
      `SELECT i.id, l.address AS list, i.volume, i.issue, i.created_at, i.status, i.staged,
         (SELECT COUNT(*) FROM digest_posts p WHERE p.issue_id = i.id) AS posts,
         (SELECT COALESCE(SUM(size), 0) FROM digest_posts p WHERE p.issue_id = i.id) AS size
       FROM digest_issues i JOIN lists l ON l.id = i.list_id WHERE ${where} ORDER BY i.id LIMIT 1`,
    ).get(...params) as { id: number; list: string; volume: number; issue: number; created_at: string; status: DigestIssue['status']; staged: string; posts: number; size: number } | undefined;
    if (row === undefined) return null;
    return { id: row.id, list: row.list, volume: row.volume, issue: row.issue, createdAt: new Date(row.created_at), status: row.status, staged: JSON.parse(row.staged) as StagedDigest[], posts: row.posts, size: row.size };
  }

  async digestStatus(list: string): Promise<DigestStatus> {
    return this.guard(() => {
      const listRow = this.listRow(list);
      const state = this.statement('SELECT volume, next_issue, last_sent_at FROM digest_state WHERE list_id = ?').get(listRow.id) as
        | { volume: number; next_issue: number; last_sent_at: string | null }
        | undefined;
      const pending = this.statement('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS size FROM digest_posts WHERE list_id = ? AND issue_id IS NULL').get(listRow.id) as { n: number; size: number };
      return {
        list: listRow.address,
        volume: state?.volume ?? 1,
        nextIssue: state?.next_issue ?? 1,
        pendingPosts: pending.n,
        pendingSize: pending.size,
        lastSentAt: state?.last_sent_at == null ? null : new Date(state.last_sent_at),
        unfinished: this.digestIssueRow("i.list_id = ? AND i.status <> 'sent'", listRow.id),
      };
    });
  }

  async claimDigestIssue(list: string, claim: { now: Date; period: string }): Promise<{ issue: DigestIssue; resumed: boolean } | null> {
    return this.write(() => {
      const listRow = this.listRow(list);
      const open = this.digestIssueRow("i.list_id = ? AND i.status <> 'sent'", listRow.id);
      if (open !== null) return { issue: open, resumed: true };
      const last = this.statement('SELECT MAX(id) AS id FROM digest_posts WHERE list_id = ? AND issue_id IS NULL').get(listRow.id) as { id: number | null };
      if (last.id === null) return null;
      const state = this.statement('SELECT volume, next_issue, period FROM digest_state WHERE list_id = ?').get(listRow.id) as { volume: number; next_issue: number; period: string } | undefined;
      let volume = state?.volume ?? 1;
      let issue = state?.next_issue ?? 1;
      if (state !== undefined && state.period !== claim.period) {
        volume += 1;
        issue = 1;
      }
      const { lastInsertRowid } = this.statement("INSERT INTO digest_issues (list_id, volume, issue, created_at, status) VALUES (?, ?, ?, ?, 'claimed')").run(
        listRow.id,
        volume,
        issue,
        claim.now.toISOString(),
      );
      this.statement('UPDATE digest_posts SET issue_id = ? WHERE list_id = ? AND issue_id IS NULL AND id <= ?').run(lastInsertRowid, listRow.id, last.id);
      this.statement(
        `INSERT INTO digest_state (list_id, volume, next_issue, period) VALUES (?, ?, ?, ?)
         ON CONFLICT (list_id) DO UPDATE SET volume = excluded.volume, next_issue = excluded.next_issue, period = excluded.period`,
      ).run(listRow.id, volume, issue + 1, claim.period);
      return { issue: this.digestIssueRow('i.id = ?', lastInsertRowid)!, resumed: false };
    });
  }

  async digestIssuePosts(issueId: number): Promise<DigestPost[]> {
    return this.guard(() => {
      const rows = this.statement(
        `SELECT p.id, l.address AS list, p.entry_key, p.added_at, p.sender, p.subject, p.message_id, p.size, p.raw
         FROM digest_posts p JOIN lists l ON l.id = p.list_id WHERE p.issue_id = ? ORDER BY p.id`,
      ).all(issueId) as Array<{ id: number; list: string; entry_key: string; added_at: string; sender: string; subject: string; message_id: string | null; size: number; raw: Buffer | null }>;
      return rows.map((row) => ({ id: row.id, list: row.list, entryKey: row.entry_key, addedAt: new Date(row.added_at), sender: row.sender, subject: row.subject, messageId: row.message_id, size: row.size, raw: row.raw }));
    });
  }

  async stageDigestIssue(issueId: number, staged: readonly StagedDigest[]): Promise<{ recorded: boolean; issue: DigestIssue }> {
    return this.write(() => {
      const { changes } = this.statement("UPDATE digest_issues SET status = 'staged', staged = ? WHERE id = ? AND status = 'claimed'").run(JSON.stringify(staged), issueId);
      const issue = this.digestIssueRow('i.id = ?', issueId);
      if (issue === null) throw new DigestIssueUnknownError(issueId);
      return { recorded: changes === 1, issue };
    });
  }

  async finishDigestIssue(issueId: number, at: Date): Promise<void> {
    this.write(() => {
      const { changes } = this.statement("UPDATE digest_issues SET status = 'sent', sent_at = ? WHERE id = ? AND status <> 'sent'").run(at.toISOString(), issueId);
      if (changes === 0) return;
      this.statement('UPDATE digest_posts SET raw = NULL WHERE issue_id = ?').run(issueId);
      this.statement('UPDATE digest_state SET last_sent_at = ? WHERE list_id = (SELECT list_id FROM digest_issues WHERE id = ?)').run(at.toISOString(), issueId);
    });
  }

  // ------------------------------------------------------------------ archive

  async addArchivedMessage(message: NewArchivedMessage): Promise<boolean> {
    const params = insertParams(message);
    return this.write(() => this.statement(INSERT_ARCHIVED).run(...params).changes === 1);
  }

  async archivedMessageSummaries(list: string, query: ArchiveQuery = {}): Promise<ArchivedMessageSummary[]> {
    const { sql, params } = selectSql(list, query, false);
    return this.guard(() => (this.statement(sql).all(...params) as ArchivedRow[]).map(toSummary));
  }

  async archivedMessages(list: string, query: ArchiveQuery = {}): Promise<ArchivedMessage[]> {
    const { sql, params } = selectSql(list, query, true);
    return this.guard(() => (this.statement(sql).all(...params) as ArchivedRow[]).map(toMessage));
  }

  async archivedMessage(list: string, key: string): Promise<ArchivedMessage | null> {
    const query = oneSql(list, key);
    if (query === null) return null;
    return this.guard(() => {
      const row = this.statement(query.sql).get(...query.params) as ArchivedRow | undefined;
      return row === undefined ? null : toMessage(row);
    });
  }

  async archiveMonths(list: string): Promise<Array<{ month: string; count: number }>> {
    const address = parseListAddress(list).address;
    return this.guard(() => (this.statement(MONTHS_SQL).all(address) as Array<{ month: string; count: number }>).map((row) => ({ month: row.month, count: Number(row.count) })));
  }

  async countArchivedMessages(list: string, month?: string): Promise<number> {
    const { sql, params } = countSql(list, month);
    return this.guard(() => Number((this.statement(sql).get(...params) as { n: number }).n));
  }

  // ------------------------------------------------------------------ API tokens

  async addApiToken(token: NewApiToken): Promise<ApiToken> {
    return this.write(() => {
      const listId = token.list === undefined ? null : this.listRow(token.list).id;
      const id = Number(
        this.statement('INSERT INTO api_tokens (name, hash, list_id, role, created_at) VALUES (?, ?, ?, ?, ?)').run(token.name, token.hash, listId, token.role, token.createdAt.toISOString())
          .lastInsertRowid,
      );
      return this.apiTokenRow(id)!;
    });
  }

  async apiTokens(): Promise<ApiToken[]> {
    return this.guard(() => (this.statement(`${API_TOKEN_SELECT} ORDER BY t.id`).all() as ApiTokenRow[]).map(toApiToken));
  }

  async useApiToken(hash: string, at: Date): Promise<ApiToken | null> {
    const row = this.guard(() => this.statement(`${API_TOKEN_SELECT} WHERE t.hash = ?`).get(hash) as ApiTokenRow | undefined);
    if (row === undefined) return null;
    // The last use is recorded to the minute: a write (and its fsync) per request would cost more than the request.
    if (row.last_used_at !== null && at.getTime() - Date.parse(row.last_used_at) < API_TOKEN_USE_RESOLUTION_MS) return toApiToken(row);
    this.write(() => this.statement('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at.toISOString(), row.id));
    return toApiToken({ ...row, last_used_at: at.toISOString() });
  }

  async removeApiToken(id: number): Promise<boolean> {
    return this.write(() => this.statement('DELETE FROM api_tokens WHERE id = ?').run(id).changes > 0);
  }

  // ------------------------------------------------------------------ web admin login links and sessions

  async addLoginLink(link: NewLoginLink): Promise<void> {
    this.write(() =>
      this.statement('INSERT INTO web_login_links (hash, address, created_at, expires_at) VALUES (?, ?, ?, ?)').run(link.hash, link.address, link.createdAt.toISOString(), link.expiresAt.toISOString()),
    );
  }

  async takeLoginLink(hash: string, now: Date): Promise<{ address: string } | null> {
    return this.write(() => {
      const at = now.toISOString();
      // Used and expiry checked in the same statement that marks it used: two clicks at once, one wins.
      const row = this.statement('UPDATE web_login_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ? RETURNING address').get(at, hash, at) as { address: string } | undefined;
      return row === undefined ? null : { address: row.address };
    });
  }

  async addWebSession(session: NewWebSession): Promise<void> {
    this.write(() =>
      this.statement('INSERT INTO web_sessions (hash, address, token_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(
        session.hash,
        session.address,
        session.tokenId,
        session.createdAt.toISOString(),
        session.expiresAt.toISOString(),
      ),
    );
  }

  async webSession(hash: string, now: Date): Promise<WebSession | null> {
    const row = this.guard(
      () =>
        this.statement('SELECT address, token_id, created_at, expires_at FROM web_sessions WHERE hash = ? AND expires_at > ?').get(hash, now.toISOString()) as
          | { address: string | null; token_id: number | null; created_at: string; expires_at: string }
          | undefined,
    );
    return row === undefined ? null : { address: row.address, tokenId: row.token_id, createdAt: new Date(row.created_at), expiresAt: new Date(row.expires_at) };
  }

  async removeWebSession(hash: string): Promise<boolean> {
    return this.write(() => this.statement('DELETE FROM web_sessions WHERE hash = ?').run(hash).changes > 0);
  }

  async removeExpiredWebState(now: Date): Promise<number> {
    return this.write(() => {
      const at = now.toISOString();
      return this.statement('DELETE FROM web_login_links WHERE expires_at <= ?').run(at).changes + this.statement('DELETE FROM web_sessions WHERE expires_at <= ?').run(at).changes;
    });
  }

  private apiTokenRow(id: number): ApiToken | null {
    const row = this.statement(`${API_TOKEN_SELECT} WHERE t.id = ?`).get(id) as ApiTokenRow | undefined;
    return row === undefined ? null : toApiToken(row);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
