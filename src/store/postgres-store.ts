/**
 * The Store on PostgreSQL (`[store] url = "postgres://..."`): the store that
 * several switchyard hosts share. Same tables, same text timestamps and
 * 0/1 flags as the SQLite store (migrations.ts gives both), same semantics
 * method by method; the SQLite store is the reference, and the one store
 * test suite (test/store/store-suite.test.ts) runs against both.
 *
 * - A `pg` Pool; every statement is a named prepared statement (prepared
 *   once per connection), parameters always bound, never spliced.
 * - `pg` is loaded on first use (`await import`), so a process on SQLite, and
 *   `switchyard inject` above all, never loads it; the pool connects lazily.
 * - Writes run in one SERIALIZABLE transaction on one client: what SQLite's
 *   BEGIN IMMEDIATE gives (no lost update between two hosts claiming a job,
 *   counting a bounce, approving a post) without a site-wide write lock.
 *   A serialization failure or deadlock is run again (jittered pauses) for
 *   up to the busy timeout, as SQLite waits for its lock, before it becomes
 *   StoreBusyError; callbacks run inside (a bounce scorer,
 *   an update's precondition) are pure, so running them again is harmless.
 * - A lost connection, a refused one, an admin shutdown (57P01) or a server
 *   starting (57P03) is StoreBusyError (temporary): ingress answers 4xx,
 *   runners send the entry to `retry`. The broken client is dropped from the
 *   pool, which connects afresh on the next call.
 * - The schema is checked on the first use: older than this switchyard is
 *   StoreMigrationNeededError (run `switchyard store migrate`), newer is
 *   StoreSchemaError. PostgreSQL is never migrated by opening it.
 *
 * Crash windows: every change is one transaction; a process killed at any
 * moment leaves the database before or after it. A COMMIT whose answer was
 * lost (connection dropped) may have committed: the caller sees a temporary
 * error and runs the entry again, which every caller already tolerates (it
 * is the same window as a process killed right after an SQLite commit).
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
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
  StoreClosedError,
  StoreError,
  StoreMigrationNeededError,
  StoreSchemaError,
} from './errors.js';
import type { ListSettings, ModerationAction } from './list-settings.js';
import { checkHeaderValues, checkMemberName } from './header-settings.js';
import { SCHEMA_VERSION } from './migrations.js';
import { countSql, INSERT_ARCHIVED, insertParams, MONTHS_SQL, numbered, oneSql, selectSql, toMessage, toSummary, type ArchivedRow } from './archive-rows.js';
import { isConflict, isConnectionLoss, temporaryReason } from './postgres-errors.js';
import type {
  AddedMembers,
  ApiToken,
  ArchiveQuery,
  ArchivedMessage,
  ArchivedMessageSummary,
  NewArchivedMessage,
  BounceEvent,
  BounceScorer,
  ComplaintAction,
  ComplaintRecord,
  DeliveryMode,
  DeliveryStatus,
  DigestIssue,
  DigestMode,
  DigestPost,
  DigestStatus,
  DomainBounces,
  DomainRefusals,
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
  MemberPageRequest,
  NewApiToken,
  NewLoginLink,
  NewWebSession,
  WebSession,
  HeldSummary,
  NewBounceEvent,
  NewComplaint,
  NewDigestPost,
  NewHeldMessage,
  NewList,
  NewMember,
  NewPendingPreferenceChange,
  NewPendingRequest,
  PendingKind,
  PendingPreferenceChange,
  PendingRequest,
  PostAddressing,
  RecordedBounce,
  RecordedComplaint,
  RemovedList,
  Role,
  StagedDigest,
  Store,
} from './store.js';

export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host[:port]/database[?...]`, as `pg` reads it. */
  url: string;
  /** Connections this process keeps at most. Default 4. */
  poolSize?: number;
  /** How long to wait for a connection (ms) before a temporary error. Default 5000. */
  connectTimeoutMs?: number;
  /** How long a write that keeps losing races to other writers is run again before StoreBusyError (config `store.busyTimeout`). Default 5000. */
  busyTimeoutMs?: number;
  /** Skip the schema check (`store migrate` and `store copy` open the store before it is migrated). */
  skipSchemaCheck?: boolean;
}

/** How long transactions that keep losing races (40001, 40P01) are run again before it is a temporary error: as SQLite's busy timeout. */
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** The URL without its password, for messages and `location`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/** A connection (the pool, or one client inside a transaction) with the three shapes of query the store uses. */
interface Db {
  all<T extends QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T extends QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
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

interface ComplaintRow {
  id: number;
  list: string;
  address: string;
  at: string;
  feedback_type: string;
  source: string;
  action: ComplaintAction;
}

interface ApiTokenRow {
  id: number;
  name: string;
  role: ApiToken['role'];
  list_address: string | null;
  created_at: string;
  last_used_at: string | null;
}

const API_TOKEN_USE_RESOLUTION_MS = 60_000;
const API_TOKEN_SELECT = 'SELECT t.id, t.name, t.role, l.address AS list_address, t.created_at, t.last_used_at FROM api_tokens t LEFT JOIN lists l ON l.id = t.list_id';
const MEMBER_COLUMNS = `l.address AS list_address, m.address, m.display_name, m.role, m.delivery_status,
  m.moderation_action, m.bounce_score, m.last_bounce_at, m.bounce_warnings_sent, m.last_bounce_warning_at, m.subscribed_at,
  m.delivery_mode, m.receive_own_postings, m.receive_list_copy, m.acknowledge_posts, m.hide_address, m.preferred_language`;
const EVENT_COLUMNS = 'e.id, l.address AS list_address, e.address, e.at, e.permanent, e.source, e.reason, e.status, e.reply';
const HELD_COLUMNS = `h.id, l.address AS list_address, h.sender, h.subject, h.reason, h.received_at, h.message_id, h.queue_ref, h.raw, h.metadata`;
const PENDING_COLUMNS = 'p.id, p.token, l.address AS list_address, p.kind, p.address, p.display_name, p.created_at, p.expires_at, p.owners_notified_at';
/** Store.deliveryAddresses: $1 list id, $2 the sender's key ('' when unknown), $3 the To/Cc keys. */
const DELIVERY_QUERY = `SELECT address FROM members
  WHERE list_id = $1 AND role = 'member' AND delivery_status = 'enabled' AND delivery_mode = 'regular'
    AND (receive_own_postings = 1 OR address_key <> $2)
    AND (receive_list_copy = 1 OR NOT (address_key = ANY ($3::text[])))
  ORDER BY address_key`;

function capitalise(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13) + ':00';
}

function utcDayStart(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

const dateOrNull = (text: string | null): Date | null => (text === null ? null : new Date(text));

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
    lastBounceAt: dateOrNull(row.last_bounce_at),
    bounceWarningsSent: row.bounce_warnings_sent,
    lastBounceWarningAt: dateOrNull(row.last_bounce_warning_at),
    subscribedAt: new Date(row.subscribed_at),
  };
}

function toBounceEvent(row: BounceEventRow): BounceEvent {
  return { id: row.id, list: row.list_address, address: row.address, at: new Date(row.at), permanent: row.permanent === 1, source: row.source, reason: row.reason, status: row.status, reply: row.reply };
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
    ownersNotifiedAt: dateOrNull(row.owners_notified_at),
  };
}

function toComplaint(row: ComplaintRow): ComplaintRecord {
  return { id: row.id, list: row.list, address: row.address, at: new Date(row.at), feedbackType: row.feedback_type, source: row.source, action: row.action };
}

function toApiToken(row: ApiTokenRow): ApiToken {
  return { id: row.id, name: row.name, role: row.role, list: row.list_address, createdAt: new Date(row.created_at), lastUsedAt: dateOrNull(row.last_used_at) };
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

type ParseSettings = (typeof import('./list-settings.js'))['parseSettings'];
let parseSettingsLoaded: ParseSettings | undefined;
async function settingsParser(): Promise<ParseSettings> {
  parseSettingsLoaded ??= (await import('./list-settings.js')).parseSettings;
  return parseSettingsLoaded;
}

/** Named prepared statements: one name per SQL text, shared by every connection of the process. */
const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `sy_${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return name;
}

function dbOn(target: Pool | PoolClient): Db {
  const query = async <T extends QueryResultRow>(sql: string, params: readonly unknown[] = []) =>
    target.query<T>({ name: statementName(sql), text: sql, values: params as unknown[] });
  return {
    all: async <T extends QueryResultRow>(sql: string, params?: readonly unknown[]) => (await query<T>(sql, params)).rows,
    get: async <T extends QueryResultRow>(sql: string, params?: readonly unknown[]) => (await query<T>(sql, params)).rows[0] as T | undefined,
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
  };
}

export class PostgresStore implements Store {
  readonly location: string;
  private pool: Promise<Pool> | undefined;
  private schemaChecked = false;
  private closed = false;

  constructor(private readonly options: PostgresStoreOptions) {
    this.location = redactUrl(options.url);
  }

  /** The pool, made on first use (and `pg` loaded then). */
  private async getPool(): Promise<Pool> {
    this.pool ??= (async () => {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({
        connectionString: this.options.url,
        max: this.options.poolSize ?? 4,
        connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
        idleTimeoutMillis: 30_000,
        application_name: 'switchyard',
      });
      // An idle client losing its server (a restart, an admin shutdown) emits here; the pool drops it and
      // connects afresh when asked. Without a listener the error would end the process.
      pool.on('error', () => undefined);
      return pool;
    })();
    return this.pool;
  }

  /** The pool, after checking (once per process) that the schema is the one this code knows. */
  private async ready(): Promise<Pool> {
    if (this.closed) throw new StoreClosedError(this.location);
    const pool = await this.getPool();
    if (!this.schemaChecked && this.options.skipSchemaCheck !== true) {
      const version = await this.schemaVersionOn(pool);
      if (version < SCHEMA_VERSION) throw new StoreMigrationNeededError(this.location, version, SCHEMA_VERSION);
      if (version > SCHEMA_VERSION) {
        throw new StoreSchemaError(this.location, `has schema version ${version}, newer than this switchyard knows (${SCHEMA_VERSION}); upgrade switchyard`);
      }
      this.schemaChecked = true;
    }
    return pool;
  }

  private async schemaVersionOn(pool: Pool): Promise<number> {
    const exists = await pool.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
    if (exists.rows[0]?.present !== true) return 0;
    const row = await pool.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
    return row.rows[0]?.version ?? 0;
  }

  /** The schema version recorded in the database (0: not migrated at all). */
  async schemaVersion(): Promise<number> {
    return this.guard(async () => this.schemaVersionOn(await this.getPool()));
  }

  /** Turn PostgreSQL's temporary failures into StoreBusyError. */
  private translate(error: unknown): unknown {
    if (error instanceof StoreError) return error;
    const why = temporaryReason(error);
    return why === undefined ? error : new StoreBusyError(this.location, error, why);
  }

  /** A read: statements on the pool (each its own implicit transaction). */
  private async guard<T>(operation: (db: Db) => Promise<T>): Promise<T> {
    try {
      return await operation(dbOn(await this.ready()));
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** `operation` in one SERIALIZABLE transaction on one client, run again when it loses a race. */
  private async write<T>(operation: (db: Db) => Promise<T>): Promise<T> {
    const giveUpAt = Date.now() + (this.options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient;
      try {
        client = await (await this.ready()).connect();
      } catch (error) {
        throw this.translate(error);
      }
      let broken: Error | undefined;
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await operation(dbOn(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (isConnectionLoss(error)) broken = error as Error;
        else await client.query('ROLLBACK').catch((rollback: unknown) => (broken = rollback as Error));
        if (isConflict(error) && Date.now() < giveUpAt) {
          // Jittered, growing pause (up to 100 ms): writers that just collided should not collide again.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
          continue;
        }
        throw this.translate(error);
      } finally {
        client.release(broken);
      }
    }
  }

  // ------------------------------------------------------------------ lists

  private async listRow(db: Db, address: string): Promise<ListRow> {
    const canonical = parseListAddress(address).address;
    const row = await db.get<ListRow>('SELECT * FROM lists WHERE address = $1', [canonical]);
    if (row === undefined) throw new ListUnknownError(canonical);
    return row;
  }

  private toList(row: ListRow, parseSettings: ParseSettings): MailingList {
    return {
      address: row.address,
      name: row.name,
      domain: row.domain,
      displayName: row.display_name,
      description: row.description,
      settings: parseSettings(JSON.parse(row.settings), false),
      createdAt: new Date(row.created_at),
    };
  }

  async createList(list: NewList): Promise<MailingList> {
    const { address, name, domain } = parseListAddress(list.address);
    const displayName = list.displayName ?? capitalise(name);
    const parseSettings = await settingsParser();
    const settings = parseSettings({ subjectPrefix: `[${displayName}] `, ...list.settings }, true);
    checkHeaderValues({ displayName, settings });
    const members = (list.members ?? []).map((member) => ({ address: parseAddress(member.address), displayName: member.displayName ?? '', role: member.role ?? 'member' }));
    return this.write(async (db) => {
      const now = new Date().toISOString();
      let listId: number;
      try {
        const row = await db.get<{ id: number }>(
          'INSERT INTO lists (address, name, domain, display_name, description, settings, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
          [address, name, domain, displayName, list.description ?? '', JSON.stringify(settings), now],
        );
        listId = row!.id;
      } catch (error) {
        if (isUniqueViolation(error)) throw new ListExistsError(address);
        throw error;
      }
      for (const member of members) {
        await db.run(
          `INSERT INTO members (list_id, address, address_key, display_name, role, subscribed_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (list_id, role, address_key) DO NOTHING`,
          [listId, member.address.address, member.address.key, member.displayName, member.role, now],
        );
      }
      return this.toList(await this.listRow(db, address), parseSettings);
    });
  }

  async getList(address: string): Promise<MailingList> {
    const parseSettings = await settingsParser();
    return this.guard(async (db) => this.toList(await this.listRow(db, address), parseSettings));
  }

  async findListAddress(address: string): Promise<string | null> {
    const canonical = parseListAddress(address).address;
    const row = await this.guard((db) => db.get<{ address: string }>('SELECT address FROM lists WHERE address = $1', [canonical]));
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
    return this.guard(async (db) => (await db.all<ListRow>('SELECT * FROM lists ORDER BY address')).map((row) => this.toList(row, parseSettings)));
  }

  async updateList(address: string, changes: ListChanges, options: { precondition?: (current: MailingList) => void } = {}): Promise<MailingList> {
    checkHeaderValues({ ...(changes.displayName === undefined ? {} : { displayName: changes.displayName }), ...(changes.settings === undefined ? {} : { settings: changes.settings }) });
    const parseSettings = await settingsParser();
    return this.write(async (db) => {
      const row = await this.listRow(db, address);
      options.precondition?.(this.toList(row, parseSettings));
      const current = parseSettings(JSON.parse(row.settings), false);
      const settings: ListSettings = changes.settings === undefined ? current : parseSettings({ ...current, ...changes.settings }, true);
      await db.run('UPDATE lists SET display_name = $1, description = $2, settings = $3 WHERE id = $4', [
        changes.displayName ?? row.display_name,
        changes.description ?? row.description,
        JSON.stringify(settings),
        row.id,
      ]);
      return this.toList(await this.listRow(db, row.address), parseSettings);
    });
  }

  async removeList(address: string): Promise<RemovedList> {
    return this.write(async (db) => {
      const row = await this.listRow(db, address);
      const count = async (sql: string): Promise<number> => (await db.get<{ n: number }>(sql, [row.id]))!.n;
      const members = await count('SELECT COUNT(*)::int AS n FROM members WHERE list_id = $1');
      const held = await count('SELECT COUNT(*)::int AS n FROM held_messages WHERE list_id = $1');
      // The same explicit deletes as the SQLite store; the rest goes by ON DELETE CASCADE.
      for (const table of ['held_messages', 'bounce_events', 'pending_requests', 'auto_response_counts', 'members']) {
        await db.run(`DELETE FROM ${table} WHERE list_id = $1`, [row.id]);
      }
      await db.run('DELETE FROM lists WHERE id = $1', [row.id]);
      return { list: row.address, members, held };
    });
  }

  // ---------------------------------------------------------------- members

  private async memberRow(db: Db, list: string, address: Address, role: Role): Promise<MemberRow | undefined> {
    return db.get<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM members m JOIN lists l ON l.id = m.list_id WHERE l.address = $1 AND m.role = $2 AND m.address_key = $3`, [list, role, address.key]);
  }

  async addMember(list: string, member: NewMember): Promise<Member> {
    checkMemberName(member.address, member.displayName);
    const address = parseAddress(member.address);
    const role = member.role ?? 'member';
    return this.write(async (db) => {
      const row = await this.listRow(db, list);
      const added = await db.run(
        `INSERT INTO members (list_id, address, address_key, display_name, role, subscribed_at, delivery_status, delivery_mode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (list_id, role, address_key) DO NOTHING`,
        [row.id, address.address, address.key, member.displayName ?? '', role, new Date().toISOString(), member.deliveryStatus ?? 'enabled', member.deliveryMode ?? 'regular'],
      );
      if (added === 0) throw new MemberExistsError(row.address, address.address, role);
      return toMember((await this.memberRow(db, row.address, address, role))!);
    });
  }

  async addMembers(list: string, members: readonly NewMember[]): Promise<AddedMembers> {
    for (const member of members) checkMemberName(member.address, member.displayName);
    const rows = members.map((member) => ({
      address: parseAddress(member.address),
      displayName: member.displayName ?? '',
      role: member.role ?? 'member',
      status: member.deliveryStatus ?? 'enabled',
      mode: member.deliveryMode ?? 'regular',
    }));
    return this.write(async (db) => {
      const listId = (await this.listRow(db, list)).id;
      const now = new Date().toISOString();
      let added = 0;
      // One statement per batch of rows (unnest of arrays): a round trip per member would be the import's cost.
      for (let start = 0; start < rows.length; start += 5000) {
        const batch = rows.slice(start, start + 5000);
        added += await db.run(
          `INSERT INTO members (list_id, address, address_key, display_name, role, subscribed_at, delivery_status, delivery_mode)
           SELECT $1, a, k, d, r, $2, s, m FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS u(a, k, d, r, s, m, n) ORDER BY n
           ON CONFLICT (list_id, role, address_key) DO NOTHING`,
          [listId, now, batch.map((r) => r.address.address), batch.map((r) => r.address.key), batch.map((r) => r.displayName), batch.map((r) => r.role), batch.map((r) => r.status), batch.map((r) => r.mode)],
        );
      }
      return { added, existing: rows.length - added };
    });
  }

  async removeMember(list: string, address: string, role: Role = 'member'): Promise<Member> {
    const parsed = parseAddress(address);
    return this.write(async (db) => {
      const row = await this.listRow(db, list);
      const member = await this.memberRow(db, row.address, parsed, role);
      if (member === undefined) throw new MemberUnknownError(row.address, parsed.address, role);
      await db.run('DELETE FROM members WHERE list_id = $1 AND role = $2 AND address_key = $3', [row.id, role, parsed.key]);
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
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      const member = await this.memberRow(db, row.address, parsed, role);
      return member === undefined ? null : toMember(member);
    });
  }

  async deliveryAddresses(list: string, post?: PostAddressing): Promise<string[]> {
    const key = (text: string): string | null => (addressProblem(text) === null ? parseAddress(text).key : null);
    const sender = post?.sender == null ? '' : (key(post.sender) ?? '');
    const explicit = [...new Set((post?.explicitRecipients ?? []).map(key).filter((k): k is string => k !== null))];
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      return (await db.all<{ address: string }>(DELIVERY_QUERY, [row.id, sender, explicit])).map((r) => r.address);
    });
  }

  async digestAddresses(list: string, mode: DigestMode): Promise<string[]> {
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      const rows = await db.all<{ address: string }>(
        "SELECT address FROM members WHERE list_id = $1 AND delivery_mode = $2 AND role = 'member' AND delivery_status = 'enabled' ORDER BY address_key",
        [row.id, mode],
      );
      return rows.map((r) => r.address);
    });
  }

  async countDigestMembers(list: string): Promise<Partial<Record<DigestMode, number>>> {
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      const rows = await db.all<{ mode: DigestMode; n: number }>(
        "SELECT delivery_mode AS mode, COUNT(*)::int AS n FROM members WHERE list_id = $1 AND delivery_mode <> 'regular' AND role = 'member' AND delivery_status = 'enabled' GROUP BY delivery_mode",
        [row.id],
      );
      return Object.fromEntries(rows.map((r) => [r.mode, r.n]));
    });
  }

  async members(list: string, options: { role?: Role; deliveryStatus?: DeliveryStatus } = {}): Promise<Member[]> {
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      const params: unknown[] = [row.id];
      let where = 'm.list_id = $1';
      if (options.role !== undefined) {
        params.push(options.role);
        where += ` AND m.role = $${params.length}`;
      }
      if (options.deliveryStatus !== undefined) {
        params.push(options.deliveryStatus);
        where += ` AND m.delivery_status = $${params.length}`;
      }
      return (await db.all<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM members m JOIN lists l ON l.id = m.list_id WHERE ${where} ORDER BY m.address_key, m.role`, params)).map(toMember);
    });
  }

  async memberPage(list: string, page: MemberPageRequest): Promise<Member[]> {
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      const params: unknown[] = [row.id];
      let where = 'm.list_id = $1';
      if (page.role !== undefined) {
        params.push(page.role);
        where += ` AND m.role = $${params.length}`;
      }
      if (page.after !== undefined) {
        params.push(page.after.address.toLowerCase(), page.after.role);
        where += ` AND (m.address_key, m.role) > ($${params.length - 1}, $${params.length})`;
      }
      if (page.search !== undefined && page.search !== '') {
        const pattern = `%${page.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        params.push(pattern);
        // lower(): SQLite's LIKE ignores ASCII case, PostgreSQL's does not (and lower() under COLLATE "C" folds ASCII only, as SQLite).
        where += ` AND (m.address_key LIKE $${params.length} ESCAPE '\\' OR lower(m.display_name) LIKE $${params.length} ESCAPE '\\')`;
      }
      params.push(page.limit);
      return (await db.all<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM members m JOIN lists l ON l.id = m.list_id WHERE ${where} ORDER BY m.address_key, m.role LIMIT $${params.length}`, params)).map(
        toMember,
      );
    });
  }

  async countMembers(list: string, options: { role?: Role } = {}): Promise<number> {
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      if (options.role === undefined) return (await db.get<{ n: number }>('SELECT COUNT(*)::int AS n FROM members WHERE list_id = $1', [row.id]))!.n;
      return (await db.get<{ n: number }>('SELECT COUNT(*)::int AS n FROM members WHERE list_id = $1 AND role = $2', [row.id, options.role]))!.n;
    });
  }

  async updateMember(list: string, address: string, role: Role, changes: MemberChanges): Promise<Member> {
    checkMemberName(address, changes.displayName);
    const parsed = parseAddress(address);
    return this.write(async (db) => {
      const listRow = await this.listRow(db, list);
      const current = await this.memberRow(db, listRow.address, parsed, role);
      if (current === undefined) throw new MemberUnknownError(listRow.address, parsed.address, role);
      await this.applyMemberChanges(db, listRow.id, parsed, role, current, changes);
      return toMember((await this.memberRow(db, listRow.address, parsed, role))!);
    });
  }

  async updateMembers(list: string, updates: readonly { address: string; role: Role; changes: MemberChanges }[]): Promise<number> {
    for (const update of updates) checkMemberName(update.address, update.changes.displayName);
    const parsed = updates.map((update) => ({ ...update, address: parseAddress(update.address) }));
    return this.write(async (db) => {
      const listRow = await this.listRow(db, list);
      for (const update of parsed) {
        const current = await this.memberRow(db, listRow.address, update.address, update.role);
        if (current === undefined) throw new MemberUnknownError(listRow.address, update.address.address, update.role);
        await this.applyMemberChanges(db, listRow.id, update.address, update.role, current, update.changes);
      }
      return parsed.length;
    });
  }

  private async applyMemberChanges(db: Db, listId: number, address: Address, role: Role, current: MemberRow, changes: MemberChanges): Promise<void> {
    const date = (change: Date | null | undefined, stored: string | null): string | null => (change === undefined ? stored : (change?.toISOString() ?? null));
    const flag = (change: boolean | undefined, stored: number): number => (change === undefined ? stored : change ? 1 : 0);
    await db.run(
      `UPDATE members SET display_name = $1, delivery_status = $2, moderation_action = $3, bounce_score = $4, last_bounce_at = $5,
         delivery_mode = $6, receive_own_postings = $7, receive_list_copy = $8, acknowledge_posts = $9, hide_address = $10, preferred_language = $11,
         bounce_warnings_sent = $12, last_bounce_warning_at = $13
       WHERE list_id = $14 AND role = $15 AND address_key = $16`,
      [
        changes.displayName ?? current.display_name,
        changes.deliveryStatus ?? current.delivery_status,
        changes.moderationAction === undefined ? current.moderation_action : changes.moderationAction,
        changes.bounceScore ?? current.bounce_score,
        date(changes.lastBounceAt, current.last_bounce_at),
        changes.deliveryMode ?? current.delivery_mode,
        flag(changes.receiveOwnPostings, current.receive_own_postings),
        flag(changes.receiveListCopy, current.receive_list_copy),
        flag(changes.acknowledgePosts, current.acknowledge_posts),
        flag(changes.hideAddress, current.hide_address),
        changes.preferredLanguage === undefined ? current.preferred_language : changes.preferredLanguage,
        changes.bounceWarningsSent ?? current.bounce_warnings_sent,
        date(changes.lastBounceWarningAt, current.last_bounce_warning_at),
        listId,
        role,
        address.key,
      ],
    );
  }

  // ---------------------------------------------------------------- bounces

  async recordBounce(event: NewBounceEvent, scorer: BounceScorer): Promise<RecordedBounce | null> {
    const parsed = parseAddress(event.address);
    return this.write(async (db) => {
      const listRow = await this.listRow(db, event.list);
      const current = await this.memberRow(db, listRow.address, parsed, 'member');
      if (current === undefined) return null;
      const dayStart = utcDayStart(event.at);
      const sameDay = (
        await db.all<BounceEventRow>(
          `SELECT ${EVENT_COLUMNS} FROM bounce_events e JOIN lists l ON l.id = e.list_id
           WHERE e.list_id = $1 AND e.address_key = $2 AND e.at >= $3 AND e.at < $4 ORDER BY e.at, e.id`,
          [listRow.id, parsed.key, dayStart.toISOString(), new Date(dayStart.getTime() + 86_400_000).toISOString()],
        )
      ).map(toBounceEvent);
      const before = toMember(current);
      const atIso = event.at.toISOString();
      const repeat = sameDay.find((earlier) => earlier.at.toISOString() === atIso && earlier.source === event.source && earlier.permanent === event.permanent);
      if (repeat !== undefined) return { event: repeat, before, after: before };
      const changes = scorer(before, event, sameDay);
      const reason = event.reason ?? 'undefined';
      const status = event.status ?? null;
      const reply = event.reply ?? null;
      const inserted = await db.get<{ id: number }>(
        'INSERT INTO bounce_events (list_id, address, address_key, at, permanent, source, reason, status, reply) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id',
        [listRow.id, current.address, parsed.key, atIso, event.permanent ? 1 : 0, event.source, reason, status, reply],
      );
      await this.applyMemberChanges(db, listRow.id, parsed, 'member', current, changes);
      const after = toMember((await this.memberRow(db, listRow.address, parsed, 'member'))!);
      return {
        event: { id: inserted!.id, list: listRow.address, address: current.address, at: event.at, permanent: event.permanent, source: event.source, reason, status, reply },
        before,
        after,
      };
    });
  }

  async bounceEvents(list: string, options: { address?: string; limit?: number } = {}): Promise<BounceEvent[]> {
    const key = options.address === undefined ? undefined : parseAddress(options.address).key;
    return this.guard(async (db) => {
      const listRow = await this.listRow(db, list);
      const rows =
        key === undefined
          ? await db.all<BounceEventRow>(`SELECT ${EVENT_COLUMNS} FROM bounce_events e JOIN lists l ON l.id = e.list_id WHERE e.list_id = $1 ORDER BY e.at DESC, e.id DESC LIMIT $2`, [
              listRow.id,
              options.limit ?? 100,
            ])
          : await db.all<BounceEventRow>(
              `SELECT ${EVENT_COLUMNS} FROM bounce_events e JOIN lists l ON l.id = e.list_id WHERE e.list_id = $1 AND e.address_key = $2 ORDER BY e.at DESC, e.id DESC LIMIT $3`,
              [listRow.id, key, options.limit ?? 100],
            );
      return rows.map(toBounceEvent);
    });
  }

  async recordDomainBounce(list: string, bounce: { domain: string; reason: string; at: Date; reply?: string }): Promise<void> {
    const at = bounce.at.toISOString();
    await this.write(async (db) => {
      const listRow = await this.listRow(db, list);
      await db.run(
        `INSERT INTO bounce_domains (list_id, domain, reason, count, first_at, last_at, last_reply) VALUES ($1, $2, $3, 1, $4, $4, $5)
         ON CONFLICT (list_id, domain, reason) DO UPDATE SET count = bounce_domains.count + 1, last_at = GREATEST(bounce_domains.last_at, excluded.last_at), last_reply = excluded.last_reply`,
        [listRow.id, bounce.domain.toLowerCase(), bounce.reason, at, (bounce.reply ?? '').slice(0, 500)],
      );
      await db.run(
        `INSERT INTO refusals_hourly (list_id, domain, reason, hour, count) VALUES ($1, $2, $3, $4, 1)
         ON CONFLICT (list_id, domain, reason, hour) DO UPDATE SET count = refusals_hourly.count + 1`,
        [listRow.id, bounce.domain.toLowerCase(), bounce.reason, hourOf(bounce.at)],
      );
    });
  }

  async domainBounces(list: string): Promise<DomainBounces[]> {
    return this.guard(async (db) => {
      const listRow = await this.listRow(db, list);
      const rows = await db.all<{ list_address: string; domain: string; reason: string; count: number; first_at: string; last_at: string; last_reply: string }>(
        `SELECT l.address AS list_address, d.domain, d.reason, d.count, d.first_at, d.last_at, d.last_reply FROM bounce_domains d JOIN lists l ON l.id = d.list_id
         WHERE d.list_id = $1 ORDER BY d.last_at DESC, d.domain, d.reason`,
        [listRow.id],
      );
      return rows.map((row) => ({ list: row.list_address, domain: row.domain, reason: row.reason, count: row.count, firstAt: new Date(row.first_at), lastAt: new Date(row.last_at), lastReply: row.last_reply }));
    });
  }

  async domainRefusals(since: Date, options: { list?: string } = {}): Promise<DomainRefusals[]> {
    return this.guard(async (db) => {
      const params: unknown[] = [hourOf(since)];
      let byList = '';
      if (options.list !== undefined) {
        params.push((await this.listRow(db, options.list)).id);
        byList = ' AND r.list_id = $2';
      }
      const rows = await db.all<DomainRefusals>(
        `SELECT l.address AS list, r.domain, r.reason, SUM(r.count)::int AS count FROM refusals_hourly r JOIN lists l ON l.id = r.list_id
         WHERE r.hour >= $1${byList} GROUP BY l.address, r.domain, r.reason ORDER BY count DESC, l.address, r.domain, r.reason`,
        params,
      );
      return rows.map((row) => ({ list: row.list, domain: row.domain, reason: row.reason, count: row.count }));
    });
  }

  async recordComplaint(complaint: NewComplaint): Promise<RecordedComplaint | null> {
    const parsed = parseAddress(complaint.address);
    const at = complaint.at.toISOString();
    const source = complaint.source.slice(0, 1000);
    return this.write(async (db) => {
      const listRow = await this.listRow(db, complaint.list);
      const earlier = await db.get<ComplaintRow>(
        `SELECT c.id, l.address AS list, c.address, c.at, c.feedback_type, c.source, c.action FROM complaints c JOIN lists l ON l.id = c.list_id
         WHERE c.list_id = $1 AND c.address_key = $2 AND c.at = $3 AND c.source = $4`,
        [listRow.id, parsed.key, at, source],
      );
      if (earlier !== undefined) return { complaint: toComplaint(earlier), repeat: true };
      const member = await this.memberRow(db, listRow.address, parsed, 'member');
      if (member === undefined) return null;
      const inserted = await db.get<{ id: number }>(
        'INSERT INTO complaints (list_id, address, address_key, at, feedback_type, source, action) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
        [listRow.id, member.address, parsed.key, at, complaint.feedbackType, source, complaint.action],
      );
      if (complaint.action === 'unsubscribe') {
        await db.run("DELETE FROM members WHERE list_id = $1 AND role = 'member' AND address_key = $2", [listRow.id, parsed.key]);
      } else if (complaint.action === 'disable') {
        await this.applyMemberChanges(db, listRow.id, parsed, 'member', member, { deliveryStatus: 'by_user' });
      }
      return {
        complaint: { id: inserted!.id, list: listRow.address, address: member.address, at: complaint.at, feedbackType: complaint.feedbackType, source, action: complaint.action },
        repeat: false,
      };
    });
  }

  async complaints(list: string, options: { limit?: number } = {}): Promise<ComplaintRecord[]> {
    return this.guard(async (db) => {
      const listRow = await this.listRow(db, list);
      const rows = await db.all<ComplaintRow>(
        `SELECT c.id, l.address AS list, c.address, c.at, c.feedback_type, c.source, c.action FROM complaints c JOIN lists l ON l.id = c.list_id
         WHERE c.list_id = $1 ORDER BY c.at DESC, c.id DESC LIMIT $2`,
        [listRow.id, options.limit ?? 100],
      );
      return rows.map(toComplaint);
    });
  }

  async lastBounceReasons(list: string): Promise<Map<string, string>> {
    return this.guard(async (db) => {
      const listRow = await this.listRow(db, list);
      const rows = await db.all<{ address_key: string; reason: string }>(
        `SELECT DISTINCT ON (address_key) address_key, reason FROM bounce_events WHERE list_id = $1 ORDER BY address_key, at DESC, id DESC`,
        [listRow.id],
      );
      return new Map(rows.map((row) => [row.address_key, row.reason]));
    });
  }

  async resetStaleBounceScores(list: string, before: Date): Promise<number> {
    return this.write(async (db) => {
      const listRow = await this.listRow(db, list);
      return db.run(
        `UPDATE members SET bounce_score = 0 WHERE list_id = $1 AND bounce_score > 0 AND role = 'member'
           AND delivery_status = 'enabled' AND (last_bounce_at IS NULL OR last_bounce_at < $2)`,
        [listRow.id, before.toISOString()],
      );
    });
  }

  // ----------------------------------------------------------- held messages

  async holdMessage(message: NewHeldMessage): Promise<HeldMessage> {
    const queueRef = message.queueRef ?? null;
    const raw = message.raw ?? null;
    if ((queueRef === null) === (raw === null)) throw new HeldMessageInvalidError();
    return this.write(async (db) => {
      const row = await this.listRow(db, message.list);
      const inserted = await db.get<{ id: number }>(
        `INSERT INTO held_messages (list_id, sender, subject, reason, received_at, message_id, queue_ref, raw, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
        [row.id, message.sender, message.subject, message.reason, (message.receivedAt ?? new Date()).toISOString(), message.messageId ?? null, queueRef, raw, JSON.stringify(message.metadata ?? {})],
      );
      return this.heldRow(db, inserted!.id);
    });
  }

  private async heldRow(db: Db, id: number): Promise<HeldMessage> {
    const row = await db.get<HeldRow>(`SELECT ${HELD_COLUMNS} FROM held_messages h JOIN lists l ON l.id = h.list_id WHERE h.id = $1`, [id]);
    if (row === undefined) throw new HeldMessageUnknownError(id);
    return toHeld(row);
  }

  async getHeld(id: number): Promise<HeldMessage> {
    return this.guard((db) => this.heldRow(db, id));
  }

  async heldReplyToken(id: number, fresh: string): Promise<string> {
    return this.write(async (db) => {
      await this.heldRow(db, id);
      await db.run('INSERT INTO held_reply_tokens (token, held_id) VALUES ($1, $2) ON CONFLICT (held_id) DO NOTHING', [fresh, id]);
      return (await db.get<{ token: string }>('SELECT token FROM held_reply_tokens WHERE held_id = $1', [id]))!.token;
    });
  }

  async heldByReplyToken(token: string): Promise<HeldMessage | null> {
    return this.guard(async (db) => {
      const row = await db.get<{ held_id: number }>('SELECT held_id FROM held_reply_tokens WHERE token = $1', [token]);
      return row === undefined ? null : this.heldRow(db, row.held_id);
    });
  }

  async heldMessages(list: string): Promise<HeldMessage[]> {
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      return (await db.all<HeldRow>(`SELECT ${HELD_COLUMNS} FROM held_messages h JOIN lists l ON l.id = h.list_id WHERE h.list_id = $1 ORDER BY h.id`, [row.id])).map(toHeld);
    });
  }

  async heldSummaries(list: string, page: { offset: number; limit: number }): Promise<HeldSummary[]> {
    return this.guard(async (db) => {
      const row = await this.listRow(db, list);
      const rows = await db.all<{ id: number; sender: string; subject: string; reason: string; received_at: string; message_id: string | null }>(
        'SELECT id, sender, subject, reason, received_at, message_id FROM held_messages WHERE list_id = $1 ORDER BY id LIMIT $2 OFFSET $3',
        [row.id, page.limit, page.offset],
      );
      return rows.map((r) => ({ id: r.id, list: row.address, sender: r.sender, subject: r.subject, reason: r.reason, receivedAt: new Date(r.received_at), messageId: r.message_id }));
    });
  }

  async countHeld(list: string): Promise<number> {
    return this.guard(async (db) => (await db.get<{ n: number }>('SELECT COUNT(*)::int AS n FROM held_messages WHERE list_id = $1', [(await this.listRow(db, list)).id]))!.n);
  }

  async removeHeld(id: number): Promise<void> {
    await this.write(async (db) => {
      if ((await db.run('DELETE FROM held_messages WHERE id = $1', [id])) === 0) throw new HeldMessageUnknownError(id);
    });
  }

  async decideHeld(id: number, decision: HeldDecision): Promise<HeldDecisionRecord> {
    return this.write(async (db) => {
      const held = await this.heldRow(db, id);
      await db.run(
        `INSERT INTO held_decisions (held_id, list_address, sender, subject, message_id, decision, decided_by, reason, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [id, held.list, held.sender, held.subject, held.messageId, decision.decision, decision.decidedBy, decision.reason ?? '', new Date().toISOString()],
      );
      await db.run('DELETE FROM held_messages WHERE id = $1', [id]);
      return (await this.decisionRow(db, id))!;
    });
  }

  private async decisionRow(db: Db, id: number): Promise<HeldDecisionRecord | null> {
    const row = await db.get<{ held_id: number; list_address: string; sender: string; subject: string; message_id: string | null; decision: string; decided_by: string; reason: string; decided_at: string }>(
      'SELECT * FROM held_decisions WHERE held_id = $1',
      [id],
    );
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
    return this.guard((db) => this.decisionRow(db, id));
  }

  async claimApproval(heldId: number, token: string): Promise<boolean> {
    return this.write(async (db) => {
      await db.run('INSERT INTO approval_claims (held_id, token, claimed_at) VALUES ($1, $2, $3) ON CONFLICT (held_id) DO NOTHING', [heldId, token, new Date().toISOString()]);
      return (await db.get<{ token: string }>('SELECT token FROM approval_claims WHERE held_id = $1', [heldId]))!.token === token;
    });
  }

  // ------------------------------------------------------- pending requests

  private async pendingRow(db: Db, where: string, params: readonly unknown[]): Promise<PendingRequest | null> {
    const row = await db.get<PendingRow>(`SELECT ${PENDING_COLUMNS} FROM pending_requests p JOIN lists l ON l.id = p.list_id WHERE ${where} ORDER BY p.id DESC LIMIT 1`, params);
    return row === undefined ? null : toPending(row);
  }

  async addPendingRequest(request: NewPendingRequest): Promise<PendingRequest> {
    checkMemberName(request.address, request.displayName);
    const parsed = parseAddress(request.address);
    return this.write(async (db) => {
      const listRow = await this.listRow(db, request.list);
      const inserted = await db.get<{ id: number }>(
        `INSERT INTO pending_requests (token, list_id, kind, address, address_key, display_name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [request.token, listRow.id, request.kind, parsed.address, parsed.key, request.displayName ?? '', request.createdAt.toISOString(), request.expiresAt.toISOString()],
      );
      return (await this.pendingRow(db, 'p.id = $1', [inserted!.id]))!;
    });
  }

  async pendingRequestByToken(token: string): Promise<PendingRequest | null> {
    return this.guard((db) => this.pendingRow(db, 'p.token = $1', [token]));
  }

  async findPendingRequest(list: string, kind: PendingKind, address: string, now: Date): Promise<PendingRequest | null> {
    const parsed = parseAddress(address);
    return this.guard(async (db) => {
      const listRow = await this.listRow(db, list);
      return this.pendingRow(db, 'p.list_id = $1 AND p.kind = $2 AND p.address_key = $3 AND p.expires_at > $4', [listRow.id, kind, parsed.key, now.toISOString()]);
    });
  }

  async getPendingRequest(list: string, id: number): Promise<PendingRequest> {
    return this.guard(async (db) => {
      const listRow = await this.listRow(db, list);
      const found = await this.pendingRow(db, 'p.id = $1 AND p.list_id = $2', [id, listRow.id]);
      if (found === null) throw new PendingRequestUnknownError(listRow.address, id);
      return found;
    });
  }

  async pendingRequests(list: string, options: { kinds?: readonly PendingKind[] } = {}): Promise<PendingRequest[]> {
    return this.guard(async (db) => {
      const listRow = await this.listRow(db, list);
      const rows = await db.all<PendingRow>(`SELECT ${PENDING_COLUMNS} FROM pending_requests p JOIN lists l ON l.id = p.list_id WHERE p.list_id = $1 ORDER BY p.id`, [listRow.id]);
      const kinds = options.kinds;
      return rows.map(toPending).filter((request) => kinds === undefined || kinds.includes(request.kind));
    });
  }

  async removePendingRequest(id: number): Promise<boolean> {
    return this.write(async (db) => (await db.run('DELETE FROM pending_requests WHERE id = $1', [id])) > 0);
  }

  async removeExpiredRequests(now: Date): Promise<PendingRequest[]> {
    return this.write(async (db) => {
      const at = now.toISOString();
      const rows = await db.all<PendingRow>(`SELECT ${PENDING_COLUMNS} FROM pending_requests p JOIN lists l ON l.id = p.list_id WHERE p.expires_at <= $1 ORDER BY p.id`, [at]);
      await db.run('DELETE FROM pending_requests WHERE expires_at <= $1', [at]);
      return rows.map(toPending);
    });
  }

  async addPendingPreferenceChange(change: NewPendingPreferenceChange): Promise<PendingPreferenceChange> {
    const parsed = parseAddress(change.address);
    return this.write(async (db) => {
      const listRow = await this.listRow(db, change.list);
      const inserted = await db.get<{ id: number }>(
        'INSERT INTO pending_preference_changes (token, list_id, address, address_key, changes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
        [change.token, listRow.id, parsed.address, parsed.key, change.changes, change.createdAt.toISOString(), change.expiresAt.toISOString()],
      );
      return { ...change, id: inserted!.id, list: listRow.address, address: parsed.address };
    });
  }

  async takePendingPreferenceChange(list: string, token: string): Promise<PendingPreferenceChange | null> {
    return this.write(async (db) => {
      const listRow = await this.listRow(db, list);
      const row = await db.get<{ id: number; token: string; list: string; address: string; changes: string; created_at: string; expires_at: string }>(
        'SELECT c.id, c.token, l.address AS list, c.address, c.changes, c.created_at, c.expires_at FROM pending_preference_changes c JOIN lists l ON l.id = c.list_id WHERE c.token = $1 AND c.list_id = $2',
        [token, listRow.id],
      );
      if (row === undefined) return null;
      await db.run('DELETE FROM pending_preference_changes WHERE id = $1', [row.id]);
      return { id: row.id, token: row.token, list: row.list, address: row.address, changes: row.changes, createdAt: new Date(row.created_at), expiresAt: new Date(row.expires_at) };
    });
  }

  async removeExpiredPreferenceChanges(now: Date): Promise<number> {
    return this.write((db) => db.run('DELETE FROM pending_preference_changes WHERE expires_at <= $1', [now.toISOString()]));
  }

  async markOwnersNotified(ids: readonly number[], at: Date): Promise<void> {
    await this.write((db) => db.run('UPDATE pending_requests SET owners_notified_at = $1 WHERE id = ANY ($2::int[])', [at.toISOString(), [...ids]]));
  }

  async takeAutoResponse(list: string, address: string, kind: string, period: string, limit: number): Promise<boolean> {
    const key = address === '' ? '' : parseAddress(address).key;
    return this.write(async (db) => {
      const listRow = await this.listRow(db, list);
      const row = await db.get<{ count: number }>('SELECT count FROM auto_response_counts WHERE list_id = $1 AND address_key = $2 AND kind = $3 AND period = $4', [listRow.id, key, kind, period]);
      if ((row?.count ?? 0) >= limit) return false;
      await db.run(
        `INSERT INTO auto_response_counts (list_id, address_key, kind, period, count) VALUES ($1, $2, $3, $4, 1)
         ON CONFLICT (list_id, address_key, kind, period) DO UPDATE SET count = auto_response_counts.count + 1`,
        [listRow.id, key, kind, period],
      );
      return true;
    });
  }

  async pruneAutoResponses(before: string): Promise<number> {
    return this.write((db) => db.run('DELETE FROM auto_response_counts WHERE period < $1', [before]));
  }

  // ------------------------------------------------------------- job leases

  async claimJobRun(job: string, claim: JobRunClaim): Promise<JobRunClaimResult> {
    return this.write(async (db) => {
      const row = await db.get<{ run_key: string; holder: string; expires_at: string; finished_at: string | null }>(
        'SELECT run_key, holder, expires_at, finished_at FROM job_leases WHERE job = $1',
        [job],
      );
      if (row !== undefined) {
        if (row.run_key >= claim.runKey) return { claimed: false, why: 'done', holder: row.holder, runKey: row.run_key };
        if (row.finished_at === null && row.expires_at > claim.now.toISOString()) return { claimed: false, why: 'busy', holder: row.holder, runKey: row.run_key };
      }
      await db.run(
        `INSERT INTO job_leases (job, run_key, holder, expires_at, finished_at) VALUES ($1, $2, $3, $4, NULL)
         ON CONFLICT (job) DO UPDATE SET run_key = excluded.run_key, holder = excluded.holder, expires_at = excluded.expires_at, finished_at = NULL`,
        [job, claim.runKey, claim.holder, claim.expiresAt.toISOString()],
      );
      return { claimed: true };
    });
  }

  async finishJobRun(job: string, holder: string, runKey: string, result: { at: Date; outcome: 'ok' | 'failed'; detail: string }): Promise<void> {
    await this.write((db) =>
      db.run('UPDATE job_leases SET finished_at = $1, outcome = $2, detail = $3 WHERE job = $4 AND holder = $5 AND run_key = $6', [
        result.at.toISOString(),
        result.outcome,
        result.detail,
        job,
        holder,
        runKey,
      ]),
    );
  }

  async jobLeases(): Promise<JobLease[]> {
    return this.guard(async (db) =>
      (
        await db.all<{ job: string; run_key: string; holder: string; expires_at: string; finished_at: string | null; outcome: 'ok' | 'failed' | null; detail: string }>(
          'SELECT job, run_key, holder, expires_at, finished_at, outcome, detail FROM job_leases ORDER BY job',
        )
      ).map((row) => ({
        job: row.job,
        runKey: row.run_key,
        holder: row.holder,
        expiresAt: new Date(row.expires_at),
        finishedAt: dateOrNull(row.finished_at),
        outcome: row.outcome,
        detail: row.detail,
      })),
    );
  }

  // ---------------------------------------------------------------- digests

  async addDigestPost(post: NewDigestPost): Promise<boolean> {
    return this.write(async (db) => {
      const listRow = await this.listRow(db, post.list);
      const added = await db.run(
        `INSERT INTO digest_posts (list_id, entry_key, added_at, sender, subject, message_id, size, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (list_id, entry_key) DO NOTHING`,
        [listRow.id, post.entryKey, post.addedAt.toISOString(), post.sender, post.subject, post.messageId, post.raw.length, post.raw],
      );
      return added === 1;
    });
  }

  private async digestIssueRow(db: Db, where: string, params: readonly unknown[]): Promise<DigestIssue | null> {
    const row = await db.get<{ id: number; list: string; volume: number; issue: number; created_at: string; status: DigestIssue['status']; staged: string; posts: number; size: number }>(
      `SELECT i.id, l.address AS list, i.volume, i.issue, i.created_at, i.status, i.staged,
         (SELECT COUNT(*)::int FROM digest_posts p WHERE p.issue_id = i.id) AS posts,
         (SELECT COALESCE(SUM(size), 0)::int FROM digest_posts p WHERE p.issue_id = i.id) AS size
       FROM digest_issues i JOIN lists l ON l.id = i.list_id WHERE ${where} ORDER BY i.id LIMIT 1`,
      params,
    );
    if (row === undefined) return null;
    return { id: row.id, list: row.list, volume: row.volume, issue: row.issue, createdAt: new Date(row.created_at), status: row.status, staged: JSON.parse(row.staged) as StagedDigest[], posts: row.posts, size: row.size };
  }

  async digestStatus(list: string): Promise<DigestStatus> {
    return this.guard(async (db) => {
      const listRow = await this.listRow(db, list);
      const state = await db.get<{ volume: number; next_issue: number; last_sent_at: string | null }>('SELECT volume, next_issue, last_sent_at FROM digest_state WHERE list_id = $1', [listRow.id]);
      const pending = (await db.get<{ n: number; size: number }>('SELECT COUNT(*)::int AS n, COALESCE(SUM(size), 0)::int AS size FROM digest_posts WHERE list_id = $1 AND issue_id IS NULL', [listRow.id]))!;
      return {
        list: listRow.address,
        volume: state?.volume ?? 1,
        nextIssue: state?.next_issue ?? 1,
        pendingPosts: pending.n,
        pendingSize: pending.size,
        lastSentAt: state?.last_sent_at == null ? null : new Date(state.last_sent_at),
        unfinished: await this.digestIssueRow(db, "i.list_id = $1 AND i.status <> 'sent'", [listRow.id]),
      };
    });
  }

  async claimDigestIssue(list: string, claim: { now: Date; period: string }): Promise<{ issue: DigestIssue; resumed: boolean } | null> {
    return this.write(async (db) => {
      const listRow = await this.listRow(db, list);
      const open = await this.digestIssueRow(db, "i.list_id = $1 AND i.status <> 'sent'", [listRow.id]);
      if (open !== null) return { issue: open, resumed: true };
      const last = (await db.get<{ id: number | null }>('SELECT MAX(id) AS id FROM digest_posts WHERE list_id = $1 AND issue_id IS NULL', [listRow.id]))!;
      if (last.id === null) return null;
      const state = await db.get<{ volume: number; next_issue: number; period: string }>('SELECT volume, next_issue, period FROM digest_state WHERE list_id = $1', [listRow.id]);
      let volume = state?.volume ?? 1;
      let issue = state?.next_issue ?? 1;
      if (state !== undefined && state.period !== claim.period) {
        volume += 1;
        issue = 1;
      }
      const inserted = (await db.get<{ id: number }>("INSERT INTO digest_issues (list_id, volume, issue, created_at, status) VALUES ($1, $2, $3, $4, 'claimed') RETURNING id", [
        listRow.id,
        volume,
        issue,
        claim.now.toISOString(),
      ]))!;
      await db.run('UPDATE digest_posts SET issue_id = $1 WHERE list_id = $2 AND issue_id IS NULL AND id <= $3', [inserted.id, listRow.id, last.id]);
      await db.run(
        `INSERT INTO digest_state (list_id, volume, next_issue, period) VALUES ($1, $2, $3, $4)
         ON CONFLICT (list_id) DO UPDATE SET volume = excluded.volume, next_issue = excluded.next_issue, period = excluded.period`,
        [listRow.id, volume, issue + 1, claim.period],
      );
      return { issue: (await this.digestIssueRow(db, 'i.id = $1', [inserted.id]))!, resumed: false };
    });
  }

  async digestIssuePosts(issueId: number): Promise<DigestPost[]> {
    return this.guard(async (db) => {
      const rows = await db.all<{ id: number; list: string; entry_key: string; added_at: string; sender: string; subject: string; message_id: string | null; size: number; raw: Buffer | null }>(
        `SELECT p.id, l.address AS list, p.entry_key, p.added_at, p.sender, p.subject, p.message_id, p.size, p.raw
         FROM digest_posts p JOIN lists l ON l.id = p.list_id WHERE p.issue_id = $1 ORDER BY p.id`,
        [issueId],
      );
      return rows.map((row) => ({ id: row.id, list: row.list, entryKey: row.entry_key, addedAt: new Date(row.added_at), sender: row.sender, subject: row.subject, messageId: row.message_id, size: row.size, raw: row.raw }));
    });
  }

  async stageDigestIssue(issueId: number, staged: readonly StagedDigest[]): Promise<{ recorded: boolean; issue: DigestIssue }> {
    return this.write(async (db) => {
      const changed = await db.run("UPDATE digest_issues SET status = 'staged', staged = $1 WHERE id = $2 AND status = 'claimed'", [JSON.stringify(staged), issueId]);
      const issue = await this.digestIssueRow(db, 'i.id = $1', [issueId]);
      if (issue === null) throw new DigestIssueUnknownError(issueId);
      return { recorded: changed === 1, issue };
    });
  }

  async finishDigestIssue(issueId: number, at: Date): Promise<void> {
    await this.write(async (db) => {
      const changed = await db.run("UPDATE digest_issues SET status = 'sent', sent_at = $1 WHERE id = $2 AND status <> 'sent'", [at.toISOString(), issueId]);
      if (changed === 0) return;
      await db.run('UPDATE digest_posts SET raw = NULL WHERE issue_id = $1', [issueId]);
      await db.run('UPDATE digest_state SET last_sent_at = $1 WHERE list_id = (SELECT list_id FROM digest_issues WHERE id = $2)', [at.toISOString(), issueId]);
    });
  }

  // ------------------------------------------------------------------ archive

  async addArchivedMessage(message: NewArchivedMessage): Promise<boolean> {
    const params = insertParams(message);
    return this.write(async (db) => (await db.run(numbered(INSERT_ARCHIVED), params)) === 1);
  }

  async archivedMessageSummaries(list: string, query: ArchiveQuery = {}): Promise<ArchivedMessageSummary[]> {
    const { sql, params } = selectSql(list, query, false);
    return this.guard(async (db) => (await db.all<ArchivedRow & QueryResultRow>(numbered(sql), params)).map(toSummary));
  }

  async archivedMessages(list: string, query: ArchiveQuery = {}): Promise<ArchivedMessage[]> {
    const { sql, params } = selectSql(list, query, true);
    return this.guard(async (db) => (await db.all<ArchivedRow & QueryResultRow>(numbered(sql), params)).map(toMessage));
  }

  async archivedMessage(list: string, key: string): Promise<ArchivedMessage | null> {
    const query = oneSql(list, key);
    if (query === null) return null;
    return this.guard(async (db) => {
      const row = await db.get<ArchivedRow & QueryResultRow>(numbered(query.sql), query.params);
      return row === undefined ? null : toMessage(row);
    });
  }

  async archiveMonths(list: string): Promise<Array<{ month: string; count: number }>> {
    const address = parseListAddress(list).address;
    return this.guard(async (db) => (await db.all<{ month: string; count: string | number }>(numbered(MONTHS_SQL), [address])).map((row) => ({ month: row.month, count: Number(row.count) })));
  }

  async countArchivedMessages(list: string, month?: string): Promise<number> {
    const { sql, params } = countSql(list, month);
    return this.guard(async (db) => Number((await db.get<{ n: string | number }>(numbered(sql), params))!.n));
  }

  // ------------------------------------------------------------------ API tokens

  async addApiToken(token: NewApiToken): Promise<ApiToken> {
    return this.write(async (db) => {
      const listId = token.list === undefined ? null : (await this.listRow(db, token.list)).id;
      const inserted = (await db.get<{ id: number }>('INSERT INTO api_tokens (name, hash, list_id, role, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id', [
        token.name,
        token.hash,
        listId,
        token.role,
        token.createdAt.toISOString(),
      ]))!;
      return toApiToken((await db.get<ApiTokenRow>(`${API_TOKEN_SELECT} WHERE t.id = $1`, [inserted.id]))!);
    });
  }

  async apiTokens(): Promise<ApiToken[]> {
    return this.guard(async (db) => (await db.all<ApiTokenRow>(`${API_TOKEN_SELECT} ORDER BY t.id`)).map(toApiToken));
  }

  async useApiToken(hash: string, at: Date): Promise<ApiToken | null> {
    const row = await this.guard((db) => db.get<ApiTokenRow>(`${API_TOKEN_SELECT} WHERE t.hash = $1`, [hash]));
    if (row === undefined) return null;
    if (row.last_used_at !== null && at.getTime() - Date.parse(row.last_used_at) < API_TOKEN_USE_RESOLUTION_MS) return toApiToken(row);
    await this.write((db) => db.run('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [at.toISOString(), row.id]));
    return toApiToken({ ...row, last_used_at: at.toISOString() });
  }

  async removeApiToken(id: number): Promise<boolean> {
    return this.write(async (db) => (await db.run('DELETE FROM api_tokens WHERE id = $1', [id])) > 0);
  }

  // ------------------------------------------------------------------ web admin login links and sessions

  async addLoginLink(link: NewLoginLink): Promise<void> {
    await this.write((db) =>
      db.run('INSERT INTO web_login_links (hash, address, created_at, expires_at) VALUES ($1, $2, $3, $4)', [link.hash, link.address, link.createdAt.toISOString(), link.expiresAt.toISOString()]),
    );
  }

  async takeLoginLink(hash: string, now: Date): Promise<{ address: string } | null> {
    return this.write(async (db) => {
      const at = now.toISOString();
      // Used and expiry checked in the statement that marks it used: two clicks at once, one wins.
      const row = await db.get<{ address: string }>('UPDATE web_login_links SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING address', [at, hash]);
      return row === undefined ? null : { address: row.address };
    });
  }

  async addWebSession(session: NewWebSession): Promise<void> {
    await this.write((db) =>
      db.run('INSERT INTO web_sessions (hash, address, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        session.hash,
        session.address,
        session.tokenId,
        session.createdAt.toISOString(),
        session.expiresAt.toISOString(),
      ]),
    );
  }

  async webSession(hash: string, now: Date): Promise<WebSession | null> {
    const row = await this.guard((db) =>
      db.get<{ address: string | null; token_id: number | null; created_at: string; expires_at: string }>('SELECT address, token_id, created_at, expires_at FROM web_sessions WHERE hash = $1 AND expires_at > $2', [hash, now.toISOString()]),
    );
    return row === undefined ? null : { address: row.address, tokenId: row.token_id, createdAt: new Date(row.created_at), expiresAt: new Date(row.expires_at) };
  }

  async removeWebSession(hash: string): Promise<boolean> {
    return this.write(async (db) => (await db.run('DELETE FROM web_sessions WHERE hash = $1', [hash])) > 0);
  }

  async removeExpiredWebState(now: Date): Promise<number> {
    return this.write(async (db) => {
      const at = now.toISOString();
      return (await db.run('DELETE FROM web_login_links WHERE expires_at <= $1', [at])) + (await db.run('DELETE FROM web_sessions WHERE expires_at <= $1', [at]));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) await (await pool).end();
  }
}
