/**
 * Reads a Mailman 3 site from Mailman core's own database, SQLite or
 * PostgreSQL, for when the core no longer runs: SQLite is opened read-only,
 * PostgreSQL is read in one READ ONLY transaction; nothing is written. Columns are
 * turned into the shape the REST API gives (enums by name, durations in
 * days) and mapped by mailman3-settings.ts like the REST reader's.
 * Pickled columns (the non-member pattern lists) go through the safe pickle
 * reader, which accepts only SQLAlchemy's MutableList (a list) as a
 * constructor.
 *
 * Held posts: their records (`_request` rows of type held_message, with
 * sender, subject, reason and date in the pended data) come from the
 * database, their bytes from Mailman's message store (the pickled Message
 * named by the `message` table's path, read as data by
 * mailman3-message-store.ts, never unpickled by Python). The store is the
 * var/messages directory next to an SQLite database's var/data/, or
 * `messagesDir`; without one (PostgreSQL and no --messages-dir) held posts
 * are counted in the report, not imported. A held post whose stored message
 * is missing or refused is named in the report's problems. Templates are
 * named in the report with their URI.
 */
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Client } from 'pg';
import { ImportSourceError, ImportUsageError } from './errors.js';
import { mapMailman3Settings } from './mailman3-settings.js';
import { mailmanAction, mailmanDate, memberFromMailman, requestKind } from './mailman3-rest.js';
import { readStoredMessage, storedMessageFile } from './mailman3-message-store.js';
import { readPickle, type PickleValue } from './safe-pickle.js';
import type { ImportedHeld, ImportedList, ImportedMember, ImportedRequest, ImportedSite, UnmappedSetting } from './site-model.js';
import { decodeWords } from '../mail/raw-message.js';
import { SwitchyardError } from '../errors.js';
import { parseAddress, type ModerationAction, type Role } from '../store/index.js';

const ENUMS: Record<string, readonly string[]> = {
  reply_goes_to_list: ['no_munging', 'point_to_list', 'explicit_header', 'explicit_header_only'],
  archive_policy: ['never', 'private', 'public'],
  default_member_action: ['hold', 'reject', 'discard', 'accept', 'defer'],
  default_nonmember_action: ['hold', 'reject', 'discard', 'accept', 'defer'],
  subscription_policy: ['open', 'confirm', 'moderate', 'confirm_then_moderate'],
  unsubscription_policy: ['open', 'confirm', 'moderate', 'confirm_then_moderate'],
  dmarc_mitigate_action: ['no_mitigation', 'munge_from', 'wrap_message', 'reject', 'discard'],
  forward_unrecognized_bounces_to: ['discard', 'administrators', 'site_owner'],
  digest_volume_frequency: ['yearly', 'monthly', 'quarterly', 'weekly', 'daily'],
  member_roster_visibility: ['public', 'members', 'moderators'],
  personalize: ['none', 'individual', 'full'],
  filter_action: ['hold', 'reject', 'discard', 'accept', 'defer', 'forward', 'preserve'],
  autorespond_owner: ['none', 'respond_and_discard', 'respond_and_continue'],
  autorespond_postings: ['none', 'respond_and_discard', 'respond_and_continue'],
  autorespond_requests: ['none', 'respond_and_discard', 'respond_and_continue'],
  newsgroup_moderation: ['none', 'open_moderated', 'moderated'],
  archive_rendering_mode: ['', 'text', 'markdown'],
};
const ACTIONS = ['hold', 'reject', 'discard', 'accept', 'defer'];
const BOOLEAN_COLUMNS = /^(allow_list_posts|include_rfc2369_headers|advertised|anonymous_list|admin_immed_notify|admin_notify_mchanges|administrivia|filter_content|collapse_alternatives|convert_html_to_plaintext|bounce_notify_owner_on_bounce_increment|bounce_notify_owner_on_disable|bounce_notify_owner_on_removal|process_bounces|dmarc_mitigate_unconditionally|digests_enabled|digest_is_default|digest_send_periodic|emergency|encode_ascii_prefixes|first_strip_reply_to|forward_auto_discards|gateway_to_mail|gateway_to_news|nntp_prefix_subject_too|obscure_addresses|require_explicit_destination|respond_to_post_requests|scrub_nondigest|send_goodbye_message|send_welcome_message|topics_enabled)$/;
const DURATIONS = new Set(['bounce_info_stale_after', 'bounce_you_are_disabled_warnings_interval', 'autoresponse_grace_period']);
const ROLES: Record<number, Role | 'nonmember'> = { 1: 'member', 2: 'owner', 3: 'moderator', 4: 'nonmember' };
const MODES = ['', 'regular', 'plaintext_digests', 'mime_digests', 'summary_digests'];
const STATES = ['', 'enabled', 'by_user', 'by_bounces', 'by_moderator', 'unknown'];
const NOT_SETTINGS = new Set(['id', 'next_request_id']);

const PICKLE_CONSTRUCTORS = { 'sqlalchemy.ext.mutable MutableList': (args: PickleValue[]) => (Array.isArray(args[0]) ? args[0] : []) };

/** A column as the REST API would give it. */
function restValue(column: string, value: unknown): unknown {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) {
    try {
      return readPickle(value, { constructors: PICKLE_CONSTRUCTORS });
    } catch {
      return `(pickled, ${value.length} bytes)`;
    }
  }
  if (ENUMS[column] !== undefined && typeof value === 'number') return ENUMS[column]![value] ?? value;
  if (BOOLEAN_COLUMNS.test(column) && typeof value === 'number') return value !== 0;
  // PostgreSQL keeps an Interval as an interval ('10 days 02:00:00', read as text below).
  if (DURATIONS.has(column) && typeof value === 'string' && !/^\d{4}-/.test(value)) return `${intervalDays(value).toFixed(4).replace(/\.?0+$/, '')}d`;
  // SQLite: SQLAlchemy stores an Interval as the epoch plus the interval.
  if (DURATIONS.has(column) && typeof value === 'string') return `${(Date.parse(`${value.replace(' ', 'T')}Z`) / 86_400_000).toFixed(4).replace(/\.?0+$/, '')}d`;
  return value;
}

/** Days in a PostgreSQL interval's text ('1 year 2 mons 10 days 02:00:00'; months as 30 days, years as 365, as Mailman's own timedelta does not have them). */
export function intervalDays(text: string): number {
  const unit = (name: string): number => Number(new RegExp(`(-?\\d+) ${name}`).exec(text)?.[1] ?? 0);
  const time = /(-)?(\d+):(\d+):(\d+(?:\.\d+)?)/.exec(text);
  const seconds = time === null ? 0 : (time[1] === '-' ? -1 : 1) * (Number(time[2]) * 3600 + Number(time[3]) * 60 + Number(time[4]));
  return unit('year') * 365 + unit('mon') * 30 + unit('day') + seconds / 86_400;
}

export interface DatabaseSource {
  /** `sqlite:/path/to/mailman.db` (also sqlite:///path, or a plain path), or `postgres://user@host/db` (postgresql: too). */
  url: string;
  list?: string;
  /** Mailman's messages directory (var/messages), where held posts' bytes are; default for SQLite: the one next to the database's data/ directory. */
  messagesDir?: string;
  onProgress?: (done: number, total: number) => void;
}

/** Where Mailman's var_dir layout puts the message store for this database, if it is an SQLite file. */
export function defaultMessagesDir(url: string): string | undefined {
  if (/^postgres(?:ql)?:/i.test(url)) return undefined;
  return join(dirname(dirname(sqlitePath(url))), 'messages');
}

export function sqlitePath(url: string): string {
  if (/^mysql:/i.test(url)) throw new ImportUsageError(`--database ${redactUrl(url)}: MySQL is not read; give sqlite:/path/mailman.db or postgres://user@host/db, or import through the REST API while Mailman runs`);
  const match = /^sqlite:(?:\/\/)?(\/.*)$/i.exec(url);
  if (match !== null) return match[1]!;
  if (/^[a-z]+:/i.test(url)) throw new ImportUsageError(`--database ${redactUrl(url)}: expected sqlite:/path/to/mailman.db or postgres://user@host/db`);
  return url;
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}

/** A row per result line; parameters are written $1, $2, ... in the SQL, each used once and in order. */
interface MailmanDatabase {
  readonly name: string;
  all(sql: string, ...params: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

function openSqlite(url: string): MailmanDatabase {
  const path = sqlitePath(url);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.prepare('SELECT 1 FROM mailinglist LIMIT 1').all();
  } catch (error) {
    throw new ImportSourceError(`cannot read Mailman's database ${path}: ${(error as Error).message}`, { cause: error });
  }
  return {
    name: path,
    all: async (sql, ...params) => db.prepare(sql.replace(/\$\d+/g, '?')).all(...params) as Row[],
    close: async () => void db.close(),
  };
}

/** PostgreSQL: timestamps and intervals as text, as SQLite gives them (no time-zone guessing); bytea as Buffers. */
async function openPostgres(url: string): Promise<MailmanDatabase> {
  const { default: pg } = await import('pg');
  const TEXT_TYPES = new Set([pg.types.builtins.TIMESTAMP, pg.types.builtins.TIMESTAMPTZ, pg.types.builtins.INTERVAL, pg.types.builtins.DATE]);
  const client: Client = new pg.Client({
    connectionString: url,
    application_name: 'switchyard import',
    connectionTimeoutMillis: 10_000,
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (TEXT_TYPES.has(oid) ? (text: string) => text : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // One snapshot for the whole read, and a promise to the server that nothing is written.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query('SELECT 1 FROM mailinglist LIMIT 1');
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new ImportSourceError(`cannot read Mailman's database ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  return {
    name: redactUrl(url),
    all: async (sql, ...params) => (await client.query(sql, params)).rows as Row[],
    close: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

function openMailmanDatabase(url: string): Promise<MailmanDatabase> | MailmanDatabase {
  return /^postgres(?:ql)?:/i.test(url) ? openPostgres(url) : openSqlite(url);
}

type Row = Record<string, unknown>;

/** A held post's record from its pended data (app/moderator.py hold_message's `_mod_*` keys), as the REST API shows it. */
function heldFromPended(values: Record<string, unknown>, key: string, raw: Buffer, requestId: string): ImportedHeld {
  const text = (name: string): string => (typeof values[name] === 'string' ? (values[name] as string) : '');
  return {
    sender: text('_mod_sender'),
    // The REST API decodes the subject's encoded words (make_header(decode_header(...))).
    subject: decodeWords(text('_mod_subject')),
    reason: text('_mod_reason'),
    receivedAt: mailmanDate(values._mod_hold_date) ?? new Date(0),
    messageId: text('_mod_message_id') || key,
    raw,
    sourceId: requestId,
  };
}

export async function readMailman3Database(source: DatabaseSource): Promise<ImportedSite> {
  const db = await openMailmanDatabase(source.url);
  try {
    const wanted = source.list === undefined ? undefined : source.list.includes('@') ? source.list.replace('@', '.').toLowerCase() : source.list.toLowerCase();
    const lists = (await db.all('SELECT * FROM mailinglist ORDER BY list_id')).filter((row) => wanted === undefined || row.list_id === wanted);
    const preferences = new Map<number, Row>((await db.all('SELECT * FROM preferences')).map((row) => [Number(row.id), row]));
    const addresses = new Map<number, Row>((await db.all('SELECT * FROM address')).map((row) => [Number(row.id), row]));
    const users = new Map<number, Row>((await db.all('SELECT * FROM "user"')).map((row) => [Number(row.id), row]));
    const pended = await db.all('SELECT p.id, p.token, p.expiration_date, kv.key, kv.value FROM pended p JOIN pendedkeyvalue kv ON kv.pended_id = p.id');
    const pendings = new Map<string, { token: string; expires: string; values: Record<string, unknown> }>();
    const messagesDir = source.messagesDir ?? defaultMessagesDir(source.url);
    for (const row of pended) {
      const entry = pendings.get(String(row.token)) ?? { token: String(row.token), expires: String(row.expiration_date), values: {} };
      let value: unknown = row.value;
      try {
        value = JSON.parse(String(row.value));
      } catch {
        // `type` is stored bare.
      }
      entry.values[String(row.key)] = value;
      pendings.set(entry.token, entry);
    }

    const result: ImportedList[] = [];
    source.onProgress?.(0, lists.length);
    for (const row of lists) {
      const config: Record<string, unknown> = {};
      for (const [column, value] of Object.entries(row)) if (!NOT_SETTINGS.has(column)) config[column] = restValue(column, value);
      config.fqdn_listname = `${String(row.list_name)}@${String(row.mail_host)}`;
      const unmapped: UnmappedSetting[] = [];
      for (const template of await db.all('SELECT name, uri FROM template WHERE context = $1', row.list_id)) unmapped.push({ setting: `template ${String(template.name)}`, value: String(template.uri), note: 'templates are not fetched from the database path: copy the text into switchyard (headerText, footerText, welcomeMessageText) by hand' });
      const mapped = mapMailman3Settings(config, {});
      unmapped.push(...mapped.unmapped);
      const refused: string[] = [];
      const held: ImportedHeld[] = [];
      const heldRows = await db.all('SELECT r.id, r."key", r.data_hash, m.path FROM _request r LEFT JOIN message m ON m.message_id = r."key" WHERE r.mailing_list_id = $1 AND r.request_type = 1 ORDER BY r.id', row.id);
      if (heldRows.length > 0 && messagesDir === undefined) {
        unmapped.push({ setting: 'held posts', value: String(heldRows.length), note: "their bytes are in Mailman's message store, not in the database: run again with --messages-dir (the core's var/messages directory), or import through the REST API while Mailman runs" });
      }
      for (const request of messagesDir === undefined ? [] : heldRows) {
        const values = pendings.get(String(request.data_hash))?.values ?? {};
        const what = `held post ${String(request.id)} ${String(request.key)}`;
        try {
          if (request.path === null || request.path === undefined) throw new ImportSourceError("its message is not in Mailman's message table (Mailman reports such a post as lost)");
          const raw = await readStoredMessage(storedMessageFile(messagesDir!, String(request.path)));
          held.push(heldFromPended(values, String(request.key), raw, String(request.id)));
        } catch (error) {
          if (!(error instanceof SwitchyardError)) throw error;
          refused.push(`${what} not imported (${error.code}): ${error.message}`);
        }
      }

      const members: ImportedMember[] = [];
      const nonmembers: { address: string; action: ModerationAction }[] = [];
      let silent = 0;
      for (const member of await db.all('SELECT * FROM member WHERE list_id = $1 ORDER BY id', row.list_id)) {
        const role = ROLES[Number(member.role)];
        const address = addresses.get(Number(member.address_id));
        if (role === undefined || address === undefined) continue;
        const action = member.moderation_action === null ? null : mailmanAction(ACTIONS[Number(member.moderation_action)]);
        if (role === 'nonmember') {
          if (action === null) silent++;
          else nonmembers.push({ address: String(address.email), action });
          continue;
        }
        const user = member.user_id !== null ? users.get(Number(member.user_id)) : address.user_id !== null ? users.get(Number(address.user_id)) : undefined;
        // Member, then address, then user preferences win; Mailman's system defaults below them.
        const layers = [member.preferences_id, address.preferences_id, user?.preferences_id].map((id) => (id === null || id === undefined ? undefined : preferences.get(Number(id))));
        const pick = (key: string): unknown => layers.find((layer) => layer !== undefined && layer[key] !== null)?.[key] ?? undefined;
        const flag = (key: string): boolean | undefined => (pick(key) === undefined ? undefined : Boolean(pick(key)));
        const prefs: Record<string, unknown> = {
          delivery_mode: MODES[Number(pick('delivery_mode') ?? 1)],
          delivery_status: STATES[Number(pick('delivery_status') ?? 1)],
          receive_own_postings: flag('receive_own_postings'),
          receive_list_copy: flag('receive_list_copy'),
          acknowledge_posts: flag('acknowledge_posts'),
          hide_address: flag('hide_address'),
          // Mailman's member.preferred_language: member, address, user, else the list's language (not the system preference), as the REST API gives it.
          preferred_language: pick('preferred_language') ?? row.preferred_language,
        };
        const displayName = typeof address.display_name === 'string' && address.display_name !== '' ? address.display_name : typeof user?.display_name === 'string' ? user.display_name : '';
        members.push(
          memberFromMailman(String(address.email), role, { display_name: displayName, moderation_action: action, bounce_score: member.bounce_score, last_bounce_received: member.last_bounce_received, total_warnings_sent: member.total_warnings_sent, last_warning_sent: String(member.last_warning_sent ?? '').replace(' ', 'T').replace(/\.\d+$/, '') }, prefs),
        );
      }
      if (silent > 0) unmapped.push({ setting: 'nonmember records', value: String(silent), note: "non-members without an action of their own (Mailman records every poster): switchyard keeps no such roster; the list's defaultNonmemberAction applies to them" });

      const requests: ImportedRequest[] = [];
      for (const pending of pendings.values()) {
        const values = pending.values;
        if (values.list_id !== row.list_id) continue;
        const kind = requestKind(values.type, values.token_owner);
        if (kind === null) continue;
        const createdAt = mailmanDate(values.when) ?? new Date();
        requests.push({ token: pending.token, kind, address: String(values.email), displayName: typeof values.display_name === 'string' ? values.display_name : '', createdAt, expiresAt: mailmanDate(pending.expires.replace(' ', 'T').replace(/\.\d+$/, '')) ?? new Date(createdAt.getTime() + 3 * 86_400_000) });
      }

      result.push({
        address: parseAddress(String(config.fqdn_listname)).address.toLowerCase(),
        displayName: mapped.displayName,
        description: mapped.description,
        settings: mapped.settings,
        nonmembers,
        bans: (await db.all('SELECT email FROM ban WHERE list_id = $1', row.list_id)).map((ban) => String(ban.email)),
        members,
        held,
        requests,
        unmapped,
        refused,
      });
      source.onProgress?.(result.length, lists.length);
    }
    const siteUnmapped: UnmappedSetting[] = [];
    const globalBans = (await db.all('SELECT email FROM ban WHERE list_id IS NULL')).map((ban) => String(ban.email));
    if (globalBans.length > 0) siteUnmapped.push({ setting: 'site-wide bans', value: globalBans.join(', '), note: 'put them in [membership] bans of switchyard.toml' });
    return { source: `Mailman 3 database ${db.name}`, lists: result, siteUnmapped };
  } finally {
    await db.close();
  }
}
