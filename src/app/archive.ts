/**
 * The list archive, kept in the store (one archive per site, whichever host
 * archives: README "Why the archive lives in the store"):
 *
 * - archivePost(): a post the archive runner took off `archive`;
 * - importMbox(): an mbox file (HyperKitty's export, pipermail's `.mbox`, an
 *   earlier `archive export`, or the archive runner's own mbox file from
 *   before the archive moved into the store), read streaming;
 * - exportArchive(): the list's archive as mboxrd, in archive order.
 *
 * Every add is idempotent on (list, key): the key is the sha256 of the
 * Message-ID, else of the bytes (src/mail/mboxrd.ts archiveKey), so a post
 * archived twice (a runner killed after the insert, before finishing its
 * entry; the same post enqueued twice; an import run again) is one row.
 * Nothing here touches a file but the mbox being read or the export stream.
 */
import { stat } from 'node:fs/promises';
import { archiveKey, exportRecord } from '../mail/mboxrd.js';
import { decodeWords, RawMessage } from '../mail/raw-message.js';
import { readMboxFile, type MboxMessage, type MboxQuoting } from '../migrate/mbox-reader.js';
import { parseListAddress, type ArchiveCursor, type NewArchivedMessage, type Store } from '../store/index.js';

const MESSAGE_IDS = /<[^<>\s]+>/g;

function decoded(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return decodeWords(value);
  } catch {
    return value;
  }
}

/** The row of a post: its threading fields and the names a listing shows, read from its header. */
export function archivedMessageOf(raw: Buffer, options: { list: string; sender: string; archivedAt: Date; key?: string }): NewArchivedMessage {
  const head = RawMessage.parse(raw);
  const references = head.get('references')?.match(MESSAGE_IDS) ?? [];
  return {
    list: parseListAddress(options.list).address,
    key: options.key ?? archiveKey(raw),
    archivedAt: options.archivedAt,
    sender: options.sender,
    messageId: head.get('message-id')?.match(MESSAGE_IDS)?.[0] ?? null,
    inReplyTo: head.get('in-reply-to')?.match(MESSAGE_IDS)?.[0] ?? null,
    references,
    subject: decoded(head.get('subject')),
    from: decoded(head.get('from')),
    raw,
  };
}

/** Archive one post; false when the list's archive held it already. */
export async function archivePost(ctx: { store: Store }, post: { list: string; raw: Buffer; sender: string; receivedAt: Date }): Promise<boolean> {
  return ctx.store.addArchivedMessage(archivedMessageOf(post.raw, { list: post.list, sender: post.sender, archivedAt: post.receivedAt }));
}

export interface ArchiveImportResult {
  list: string;
  file: string;
  read: number;
  added: number;
  existing: number;
  /** Records of the archive runner's old mbox file cut short by a crash mid-write (their entries archived them again). */
  torn: number;
}

export interface ImportMboxOptions {
  quoting: MboxQuoting;
  dryRun?: boolean;
  /** Bytes of the file read so far, and its size. */
  onProgress?: (done: number, total: number) => void;
}

/** `X-Switchyard-Archive: v=1; length=...; key=...`: the first line of a record in the archive runner's old mbox files. */
const OLD_FIELD_NAME = 'X-Switchyard-Archive:';
const OLD_ARCHIVE_FIELD = /^X-Switchyard-Archive: v=1; length=(\d{12}); key=([0-9a-f]{64})\r?\n/;

/**
 * The row an mbox message becomes: its bytes, its From_ line's date (else
 * its Date field's, else the epoch) and sender (MAILER-DAEMON, which an
 * export writes for an unknown one, is '' again). A record of the archive
 * runner's old mbox files keeps its key (so its web id, and any Archived-At
 * URL mailed out, stays the same); one cut short by a crash is null.
 */
function rowOf(list: string, message: MboxMessage): NewArchivedMessage | null {
  let raw = message.raw;
  let key: string | undefined;
  const head = raw.toString('latin1', 0, 120);
  const old = OLD_ARCHIVE_FIELD.exec(head);
  // Cut short before its field was whole: nothing of the message was written.
  if (raw.length === 0 || (old === null && (OLD_FIELD_NAME.startsWith(head) || head.startsWith(OLD_FIELD_NAME)))) return null;
  if (old !== null) {
    if (message.recordLength !== Number(old[1])) return null;
    key = old[2]!;
    raw = raw.subarray(old[0].length);
  }
  const dateField = RawMessage.parse(raw).get('date');
  const fieldDate = dateField === undefined ? null : new Date(dateField);
  const date = message.date ?? (fieldDate !== null && !Number.isNaN(fieldDate.getTime()) ? fieldDate : new Date(0));
  const sender = message.sender === 'MAILER-DAEMON' ? '' : message.sender;
  return archivedMessageOf(raw, { list, sender, archivedAt: date, ...(key === undefined ? {} : { key }) });
}

/** Import an mbox file into a list's archive, one message in memory at a time; messages it holds already are counted, not added. */
export async function importMbox(ctx: { store: Store }, list: string, file: string, options: ImportMboxOptions): Promise<ArchiveImportResult> {
  const address = parseListAddress(list).address;
  const size = (await stat(file)).size;
  const result: ArchiveImportResult = { list: address, file, read: 0, added: 0, existing: 0, torn: 0 };
  for await (const message of readMboxFile(file, options.quoting, (bytes) => options.onProgress?.(bytes, size))) {
    result.read++;
    const row = rowOf(address, message);
    if (row === null) {
      result.torn++;
      continue;
    }
    const added = options.dryRun === true ? (await ctx.store.archivedMessage(address, row.key)) === null : await ctx.store.addArchivedMessage(row);
    if (added) result.added++;
    else result.existing++;
  }
  return result;
}

/** Rows read from the store per query while exporting. */
const EXPORT_PAGE = 200;

/**
 * The list's archive as mboxrd, in archive order, a page of rows at a time:
 * `write` gets each record (and is awaited, so a slow output holds the
 * reading back). Resolves to the number of messages written.
 */
export async function exportArchive(ctx: { store: Store }, list: string, write: (record: Buffer) => Promise<void>): Promise<number> {
  // An archive outlives its list; a name that is neither a list nor an archive is an error (SY_LIST_UNKNOWN).
  if ((await ctx.store.findList(list)) === null && (await ctx.store.countArchivedMessages(list)) === 0) await ctx.store.getList(list);
  let after: ArchiveCursor | undefined;
  let written = 0;
  for (;;) {
    const page = await ctx.store.archivedMessages(list, { limit: EXPORT_PAGE, ...(after === undefined ? {} : { after }) });
    for (const message of page) {
      await write(exportRecord(message.raw, { sender: message.sender, date: message.archivedAt }));
      written++;
    }
    if (page.length < EXPORT_PAGE) return written;
    const last = page[page.length - 1]!;
    after = { archivedAt: last.archivedAt, key: last.key };
  }
}
