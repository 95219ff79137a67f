/**
 * The schema of both store backends, as one list of numbered migrations.
 * Each runs in its own transaction together with the row that records it in
 * `schema_migrations`, so a process killed midway leaves the database at the
 * previous version, and the next run applies the migration again from the
 * start. SQLite applies them when a store is opened (IMMEDIATE transactions:
 * two processes opening a fresh file serialise on the write lock, the second
 * finds the work done); PostgreSQL only through `switchyard store migrate`
 * (postgres-migrate.ts), which serialises on an advisory lock.
 *
 * `statements` are written in SQLite's dialect; `statementsFor()` gives
 * PostgreSQL's by a few mechanical rules (postgresDdl below), and a
 * migration whose SQL cannot be translated (SQLite's table rebuild to change
 * a CHECK) carries its own `postgres` statements. Never edit a released
 * migration: add the next one.
 *
 * Timestamps are ISO 8601 UTC text in both (they compare as their times do);
 * list settings are JSON text parsed through list-settings.ts on every read
 * (new settings need no migration); flags are integers 0/1 in both.
 */

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  version: number;
  name: string;
  /** Statements run in order (SQLite's dialect); no transaction control inside. */
  statements: readonly string[];
  /** PostgreSQL's statements where the translation of `statements` cannot do. */
  postgres?: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'lists and members',
    statements: [
      `CREATE TABLE lists (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        domain TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        settings TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
      )`,
      `CREATE TABLE members (
        id INTEGER PRIMARY KEY,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        address_key TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL CHECK (role IN ('member', 'owner', 'moderator')),
        delivery_status TEXT NOT NULL DEFAULT 'enabled' CHECK (delivery_status IN ('enabled', 'by_user', 'by_bounces')),
        moderation_action TEXT CHECK (moderation_action IN ('accept', 'hold', 'reject', 'discard')),
        bounce_score REAL NOT NULL DEFAULT 0,
        last_bounce_at TEXT,
        subscribed_at TEXT NOT NULL,
        UNIQUE (list_id, role, address_key)
      )`,
      // "Which lists is this address on?" for bounces and unsubscribes across lists.
      `CREATE INDEX members_address_key ON members (address_key)`,
    ],
  },
  {
    version: 2,
    name: 'held messages',
    statements: [
      `CREATE TABLE held_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        sender TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL,
        received_at TEXT NOT NULL,
        message_id TEXT,
        queue_ref TEXT,
        raw BLOB,
        metadata TEXT NOT NULL DEFAULT '{}',
        CHECK ((queue_ref IS NULL) <> (raw IS NULL))
      )`,
      `CREATE INDEX held_messages_list ON held_messages (list_id, id)`,
    ],
  },
  {
    version: 3,
    name: 'bounce events',
    statements: [
      // One row per bounce the bounce runner attributed to a member (src/bounce/).
      `CREATE TABLE bounce_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        address_key TEXT NOT NULL,
        at TEXT NOT NULL,
        permanent INTEGER NOT NULL CHECK (permanent IN (0, 1)),
        source TEXT NOT NULL DEFAULT ''
      )`,
      `CREATE INDEX bounce_events_member ON bounce_events (list_id, address_key, at)`,
      // Mailman's total_warnings_sent and last_warning_sent.
      `ALTER TABLE members ADD COLUMN bounce_warnings_sent INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE members ADD COLUMN last_bounce_warning_at TEXT`,
      // The warnings pass visits only these: members disabled by bounces, and scores that may be stale.
      `CREATE INDEX members_disabled_by_bounces ON members (list_id) WHERE delivery_status = 'by_bounces'`,
      `CREATE INDEX members_bounce_scored ON members (list_id, last_bounce_at) WHERE bounce_score > 0`,
    ],
  },
  {
    version: 4,
    name: 'held message decisions and approval claims',
    statements: [
      // What became of each held post (Store.decideHeld); kept after the post and even the list are gone.
      `CREATE TABLE held_decisions (
        held_id INTEGER PRIMARY KEY,
        list_address TEXT NOT NULL,
        sender TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        message_id TEXT,
        decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'discard', 'expire')),
        decided_by TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        decided_at TEXT NOT NULL
      )`,
      `CREATE INDEX held_decisions_list ON held_decisions (list_address, decided_at)`,
      // The first approval of a held post the incoming runner let through (Store.claimApproval).
      `CREATE TABLE approval_claims (
        held_id INTEGER PRIMARY KEY,
        token TEXT NOT NULL,
        claimed_at TEXT NOT NULL
      )`,
    ],
  },
  {
    version: 5,
    name: 'job leases',
    statements: [
      // One row per scheduler job that runs once for all hosts sharing this store (Store.claimJobRun):
      // the run last claimed, by whom, until when, and how the last finished run went.
      `CREATE TABLE job_leases (
        job TEXT PRIMARY KEY,
        run_key TEXT NOT NULL,
        holder TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT CHECK (outcome IN ('ok', 'failed')),
        detail TEXT NOT NULL DEFAULT ''
      )`,
    ],
  },
  {
    version: 6,
    name: 'bounce reasons and per-domain list blocks',
    statements: [
      // What each bounce said (src/bounce/reasons.ts): the reason, the enhanced status, the SMTP reply code, the reply text.
      `ALTER TABLE bounce_events ADD COLUMN reason TEXT NOT NULL DEFAULT 'undefined'`,
      `ALTER TABLE bounce_events ADD COLUMN status TEXT`,
      `ALTER TABLE bounce_events ADD COLUMN reply TEXT`,
      // Bounces that are the list's problem (blocked, spamdetected, ...), counted per destination domain, members or not.
      `CREATE TABLE bounce_domains (
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        domain TEXT NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 0,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        last_reply TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (list_id, domain, reason)
      )`,
    ],
  },
  {
    version: 7,
    name: 'pending membership requests and daily auto-response counts',
    statements: [
      // A request waiting for the address's confirmation (subscribe, unsubscribe) or an owner's decision
      // (subscription_approval, unsubscription_approval). The token is the secret mailed to the address.
      `CREATE TABLE pending_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token TEXT NOT NULL UNIQUE,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('subscribe', 'unsubscribe', 'subscription_approval', 'unsubscription_approval')),
        address TEXT NOT NULL,
        address_key TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        owners_notified_at TEXT
      )`,
      `CREATE INDEX pending_requests_address ON pending_requests (list_id, address_key, kind)`,
      `CREATE INDEX pending_requests_expiry ON pending_requests (expires_at)`,
      // How many automatic mails of one kind (confirmation, command reply, owner notice) went to one
      // address for one list on one UTC day (or hour): the per-day limits against mail bombs and loops.
      `CREATE TABLE auto_response_counts (
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        address_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        period TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (list_id, address_key, kind, period)
      )`,
    ],
  },
  {
    version: 8,
    name: 'complaints and hourly list refusals',
    statements: [
      // One row per complaint (ARF feedback report, SES complaint) about a member, and what the list did (complaintAction).
      `CREATE TABLE complaints (
        id INTEGER PRIMARY KEY,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        address_key TEXT NOT NULL,
        at TEXT NOT NULL,
        feedback_type TEXT NOT NULL,
        source TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('unsubscribe', 'disable', 'record')),
        UNIQUE (list_id, address_key, at, source)
      )`,
      // Refusals of the list (blocked, spamdetected, ...) per destination domain and hour: "gmail.com, 14 in 24h" for status.
      `CREATE TABLE refusals_hourly (
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        domain TEXT NOT NULL,
        reason TEXT NOT NULL,
        hour TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (list_id, domain, reason, hour)
      )`,
      `CREATE INDEX refusals_hourly_hour ON refusals_hourly (hour)`,
    ],
  },
  {
    version: 9,
    name: 'delivery disabled by the owner',
    statements: [
      // SQLite cannot change a CHECK constraint in place: the members table is rebuilt with 'by_owner' allowed
      // (`switchyard members disable`), every row and index kept as it was.
      `CREATE TABLE members_rebuilt (
        id INTEGER PRIMARY KEY,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        address_key TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL CHECK (role IN ('member', 'owner', 'moderator')),
        delivery_status TEXT NOT NULL DEFAULT 'enabled' CHECK (delivery_status IN ('enabled', 'by_user', 'by_bounces', 'by_owner')),
        moderation_action TEXT CHECK (moderation_action IN ('accept', 'hold', 'reject', 'discard')),
        bounce_score REAL NOT NULL DEFAULT 0,
        last_bounce_at TEXT,
        subscribed_at TEXT NOT NULL,
        bounce_warnings_sent INTEGER NOT NULL DEFAULT 0,
        last_bounce_warning_at TEXT,
        UNIQUE (list_id, role, address_key)
      )`,
      `INSERT INTO members_rebuilt (id, list_id, address, address_key, display_name, role, delivery_status, moderation_action,
         bounce_score, last_bounce_at, subscribed_at, bounce_warnings_sent, last_bounce_warning_at)
       SELECT id, list_id, address, address_key, display_name, role, delivery_status, moderation_action,
         bounce_score, last_bounce_at, subscribed_at, bounce_warnings_sent, last_bounce_warning_at FROM members`,
      `DROP TABLE members`,
      `ALTER TABLE members_rebuilt RENAME TO members`,
      `CREATE INDEX members_address_key ON members (address_key)`,
      `CREATE INDEX members_disabled_by_bounces ON members (list_id) WHERE delivery_status = 'by_bounces'`,
      `CREATE INDEX members_bounce_scored ON members (list_id, last_bounce_at) WHERE bounce_score > 0`,
    ],
    // PostgreSQL changes a CHECK in place (the constraint keeps the name PostgreSQL gave it in migration 1).
    postgres: [
      `ALTER TABLE members DROP CONSTRAINT members_delivery_status_check,
         ADD CONSTRAINT members_delivery_status_check CHECK (delivery_status IN ('enabled', 'by_user', 'by_bounces', 'by_owner'))`,
    ],
  },
  {
    version: 10,
    name: 'reply tokens of held posts',
    statements: [
      // The secret of a held post's notice (its Reply-To name-confirm+TOKEN): a moderator replying to it
      // decides the post by mail. Gone with the post (approved, rejected, discarded, expired).
      `CREATE TABLE held_reply_tokens (
        token TEXT PRIMARY KEY,
        held_id INTEGER NOT NULL UNIQUE REFERENCES held_messages (id) ON DELETE CASCADE
      )`,
    ],
  },
  {
    version: 11,
    name: 'member preferences',
    statements: [
      // Each member's own choices (src/app/member-preferences.ts): how posts reach them (every post, or a digest
      // in one of three formats), whether they get their own posts, a list copy of a post that named them in
      // To/Cc, an acknowledgement of each accepted post, whether `who` shows them, and their language. The
      // delivery query (Store.deliveryAddresses) reads them in SQL; delivery_status stays the one on/off flag.
      `ALTER TABLE members ADD COLUMN delivery_mode TEXT NOT NULL DEFAULT 'regular'
         CHECK (delivery_mode IN ('regular', 'mime_digests', 'plain_digests', 'summary_digests'))`,
      `ALTER TABLE members ADD COLUMN receive_own_postings INTEGER NOT NULL DEFAULT 1 CHECK (receive_own_postings IN (0, 1))`,
      `ALTER TABLE members ADD COLUMN receive_list_copy INTEGER NOT NULL DEFAULT 1 CHECK (receive_list_copy IN (0, 1))`,
      `ALTER TABLE members ADD COLUMN acknowledge_posts INTEGER NOT NULL DEFAULT 0 CHECK (acknowledge_posts IN (0, 1))`,
      `ALTER TABLE members ADD COLUMN hide_address INTEGER NOT NULL DEFAULT 0 CHECK (hide_address IN (0, 1))`,
      `ALTER TABLE members ADD COLUMN preferred_language TEXT`,
      // The digest members of a list, for the digest sender; regular members (nearly all) stay out of it.
      `CREATE INDEX members_digest ON members (list_id, delivery_mode) WHERE delivery_mode <> 'regular'`,
    ],
  },
  {
    version: 12,
    name: 'digests',
    statements: [
      // A digest issue of a list (src/app/digests.ts): claimed (its posts assigned to it), staged (its `out` entries
      // written beside the spool, named in `staged`), sent (moved into `out`). At most one per list is not sent.
      `CREATE TABLE digest_issues (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        volume INTEGER NOT NULL,
        issue INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('claimed', 'staged', 'sent')),
        staged TEXT NOT NULL DEFAULT '[]',
        sent_at TEXT,
        UNIQUE (list_id, volume, issue)
      )`,
      `CREATE INDEX digest_issues_open ON digest_issues (list_id) WHERE status <> 'sent'`,
      // Each accepted post of a list with digest members, once: keyed by the queue entry that carried it, so the
      // entry run again after a crash adds nothing (INSERT OR IGNORE). issue_id NULL: waiting for the next issue.
      // The bytes are dropped once the issue is sent; the row stays as the record that the post was taken.
      `CREATE TABLE digest_posts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        entry_key TEXT NOT NULL,
        added_at TEXT NOT NULL,
        sender TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        message_id TEXT,
        size INTEGER NOT NULL,
        raw BLOB,
        issue_id INTEGER,
        UNIQUE (list_id, entry_key)
      )`,
      `CREATE INDEX digest_posts_pending ON digest_posts (list_id, id) WHERE issue_id IS NULL`,
      `CREATE INDEX digest_posts_issue ON digest_posts (issue_id)`,
      // The numbering: the current volume, the next issue number in it, and the period (digestVolumeFrequency) it is for.
      `CREATE TABLE digest_state (
        list_id INTEGER PRIMARY KEY REFERENCES lists (id) ON DELETE CASCADE,
        volume INTEGER NOT NULL,
        next_issue INTEGER NOT NULL,
        period TEXT NOT NULL,
        last_sent_at TEXT
      )`,
    ],
  },
  {
    version: 13,
    name: 'preference changes waiting for confirmation',
    statements: [
      // A `set` email command's changes to a member's own preferences, applied only when the member answers the
      // confirmation mailed to their address (src/app/preference-confirmation.ts): a forged From cannot change them.
      `CREATE TABLE pending_preference_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token TEXT NOT NULL UNIQUE,
        list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        address_key TEXT NOT NULL,
        changes TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      )`,
      `CREATE INDEX pending_preference_changes_expiry ON pending_preference_changes (expires_at)`,
    ],
  },
  {
    version: 14,
    name: 'http api: tokens, member paging',
    statements: [
      // Tokens of the HTTP API (src/app/api-tokens.ts): only the SHA-256 of each is kept, so a copy of the store
      // gives no access. list_id NULL: a site administrator's token; else scoped to that list as owner or moderator.
      `CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        list_id INTEGER REFERENCES lists (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'owner', 'moderator')),
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        CHECK ((list_id IS NULL) = (role = 'admin'))
      )`,
      // The API's member pages (Store.memberPage): in address order from a cursor, read from the index, not sorted per page.
      `CREATE INDEX members_page ON members (list_id, address_key, role)`,
    ],
  },
  {
    version: 15,
    name: 'web admin: login links, sessions',
    statements: [
      // One-time login links of the web admin (src/app/web-login.ts): only the SHA-256 of each token is kept; a link
      // works once (used_at set in the transaction that accepts it) and until expires_at.
      `CREATE TABLE web_login_links (
        hash TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
      )`,
      `CREATE INDEX web_login_links_expiry ON web_login_links (expires_at)`,
      // Web sessions: the SHA-256 of the session id the cookie carries. address: who logged in by a link; token_id:
      // a site administrator who logged in with an API token (revoking the token ends the session).
      `CREATE TABLE web_sessions (
        hash TEXT PRIMARY KEY,
        address TEXT,
        token_id INTEGER REFERENCES api_tokens (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        CHECK ((address IS NULL) <> (token_id IS NULL))
      )`,
      `CREATE INDEX web_sessions_expiry ON web_sessions (expires_at)`,
    ],
  },
  {
    version: 16,
    name: 'the archive in the store',
    statements: [
      // One archive per site, whichever host archives (README "Why the archive lives in the store"). By list address,
      // not list row: an archive outlives its list, as the mbox files did. archive_key: sha256 hex of the Message-ID,
      // else of the bytes (src/mail/mboxrd.ts archiveKey), so a post archived again (a runner killed after the insert,
      // before finishing its entry; an import run twice) adds nothing. raw: the bytes exactly as archived.
      `CREATE TABLE archived_messages (
        list_address TEXT NOT NULL,
        archive_key TEXT NOT NULL,
        archived_at TEXT NOT NULL,
        sender TEXT NOT NULL DEFAULT '',
        message_id TEXT,
        in_reply_to TEXT,
        reference_ids TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        from_field TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL,
        raw BLOB NOT NULL,
        PRIMARY KEY (list_address, archive_key)
      )`,
      // Months, month pages and exports walk a list's archive in (archived_at, archive_key) order.
      `CREATE INDEX archived_messages_order ON archived_messages (list_address, archived_at, archive_key)`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

/**
 * SQLite DDL in PostgreSQL's dialect. The rules, and why each keeps the two
 * stores equal:
 * - `id INTEGER PRIMARY KEY [AUTOINCREMENT]`: an identity column BY DEFAULT
 *   (ids never reused, and `store copy` can insert the ids it copies);
 * - TEXT is `TEXT COLLATE "C"`: ORDER BY and comparisons by bytes, as
 *   SQLite's BINARY collation, whatever the database's locale;
 * - REAL is DOUBLE PRECISION (PostgreSQL's REAL is 4 bytes), BLOB is BYTEA.
 */
export function postgresDdl(statement: string): string {
  return statement
    .replace(/\bid INTEGER PRIMARY KEY(?: AUTOINCREMENT)?/g, 'id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')
    .replace(/\bTEXT\b/g, 'TEXT COLLATE "C"')
    .replace(/\bREAL\b/g, 'DOUBLE PRECISION')
    .replace(/\bBLOB\b/g, 'BYTEA');
}

/** A migration's statements in `dialect`. */
export function statementsFor(migration: Migration, dialect: Dialect): readonly string[] {
  if (dialect === 'sqlite') return migration.statements;
  return migration.postgres ?? migration.statements.map(postgresDdl);
}
