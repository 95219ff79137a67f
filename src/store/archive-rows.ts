/**
 * The archive table (`archived_messages`, migration 16) as both backends
 * read and write it: the SQL is the same in SQLite and PostgreSQL but for
 * the placeholders (`?` against `$n`), so it is written once here with `?`
 * and numbered for PostgreSQL by `numbered()`; rows turn into
 * ArchivedMessage(Summary) the same way in both.
 *
 * Order: (archived_at, archive_key), the index's order; a page continues
 * after a cursor by the row-value comparison both dialects know. A month is
 * a range of archived_at (ISO 8601 text compares as its times do).
 */
import { parseListAddress } from './address.js';
import type { ArchiveQuery, ArchivedMessage, ArchivedMessageSummary, NewArchivedMessage } from './store.js';

export const SUMMARY_COLUMNS = 'list_address, archive_key, archived_at, sender, message_id, in_reply_to, reference_ids, subject, from_field, size';

export const INSERT_ARCHIVED =
  'INSERT INTO archived_messages (list_address, archive_key, archived_at, sender, message_id, in_reply_to, reference_ids, subject, from_field, size, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (list_address, archive_key) DO NOTHING';

export const MONTHS_SQL =
  'SELECT substr(archived_at, 1, 7) AS month, COUNT(*) AS count FROM archived_messages WHERE list_address = ? GROUP BY substr(archived_at, 1, 7) ORDER BY month DESC';

export interface ArchivedRow {
  list_address: string;
  archive_key: string;
  archived_at: string;
  sender: string;
  message_id: string | null;
  in_reply_to: string | null;
  reference_ids: string;
  subject: string;
  from_field: string;
  size: number;
  raw?: Buffer;
}

const KEY = /^[0-9a-f]{64}$/;
const WEB_ID = /^[0-9a-f]{32}$/;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** `$1, $2, ...` for each `?`, for PostgreSQL. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The first and last instants (as stored, ISO text) of a UTC month, end exclusive. */
export function monthRange(month: string): [string, string] {
  const match = MONTH.exec(month);
  if (match === null) throw new RangeError(`not a month (YYYY-MM): ${JSON.stringify(month)}`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return [new Date(Date.UTC(year, index, 1)).toISOString(), new Date(Date.UTC(year, index + 1, 1)).toISOString()];
}

/** The insert's parameters; the list address normalised, the date to the second (an mbox From_ line's resolution, so an export re-imports to the same row). */
export function insertParams(message: NewArchivedMessage): unknown[] {
  if (!KEY.test(message.key)) throw new RangeError(`an archive key is 64 hex digits: ${JSON.stringify(message.key)}`);
  const at = new Date(Math.floor(message.archivedAt.getTime() / 1000) * 1000);
  return [
    parseListAddress(message.list).address,
    message.key,
    at.toISOString(),
    message.sender,
    message.messageId,
    message.inReplyTo,
    message.references.join(' '),
    message.subject,
    message.from,
    message.raw.length,
    message.raw,
  ];
}

/** WHERE clause and parameters of a query over one list's archive (`raw`: with the bytes). */
export function selectSql(list: string, query: ArchiveQuery, raw: boolean): { sql: string; params: unknown[] } {
  const where = ['list_address = ?'];
  const params: unknown[] = [parseListAddress(list).address];
  if (query.month !== undefined) {
    const [from, to] = monthRange(query.month);
    where.push('archived_at >= ? AND archived_at < ?');
    params.push(from, to);
  }
  if (query.after !== undefined) {
    where.push('(archived_at, archive_key) > (?, ?)');
    params.push(query.after.archivedAt.toISOString(), query.after.key);
  }
  let sql = `SELECT ${SUMMARY_COLUMNS}${raw ? ', raw' : ''} FROM archived_messages WHERE ${where.join(' AND ')} ORDER BY archived_at, archive_key`;
  if (query.limit !== undefined) {
    sql += ' LIMIT ?';
    params.push(Math.max(0, Math.floor(query.limit)));
  }
  return { sql, params };
}

/** One message by full key or by its web id (the key's first 32 digits: a range of the primary key). */
export function oneSql(list: string, key: string): { sql: string; params: unknown[] } | null {
  const address = parseListAddress(list).address;
  if (KEY.test(key)) return { sql: `SELECT ${SUMMARY_COLUMNS}, raw FROM archived_messages WHERE list_address = ? AND archive_key = ?`, params: [address, key] };
  if (!WEB_ID.test(key)) return null;
  // Hex digits sort below 'g': every key with this prefix lies in [prefix, prefix + 'g').
  return { sql: `SELECT ${SUMMARY_COLUMNS}, raw FROM archived_messages WHERE list_address = ? AND archive_key >= ? AND archive_key < ? ORDER BY archive_key LIMIT 1`, params: [address, key, `${key}g`] };
}

export function countSql(list: string, month?: string): { sql: string; params: unknown[] } {
  const params: unknown[] = [parseListAddress(list).address];
  let sql = 'SELECT COUNT(*) AS n FROM archived_messages WHERE list_address = ?';
  if (month !== undefined) {
    sql += ' AND archived_at >= ? AND archived_at < ?';
    params.push(...monthRange(month));
  }
  return { sql, params };
}

export function toSummary(row: ArchivedRow): ArchivedMessageSummary {
  return {
    list: row.list_address,
    key: row.archive_key,
    archivedAt: new Date(row.archived_at),
    sender: row.sender,
    messageId: row.message_id,
    inReplyTo: row.in_reply_to,
    references: row.reference_ids === '' ? [] : row.reference_ids.split(' '),
    subject: row.subject,
    from: row.from_field,
    size: Number(row.size),
  };
}

export function toMessage(row: ArchivedRow): ArchivedMessage {
  return { ...toSummary(row), raw: Buffer.from(row.raw ?? Buffer.alloc(0)) };
}
