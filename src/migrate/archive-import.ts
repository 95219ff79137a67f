/**
 * Imports an mbox file (HyperKitty export, pipermail `.mbox`) into a list's
 * switchyard archive, `<home>/archives/<list>.mbox`, as mboxrd records
 * (src/mail/mboxrd.ts) written by the archive runner's MboxFile: each
 * message's bytes, its Message-ID and its date (the From_ line's, else its
 * Date field's) are kept.
 *
 * Idempotent by Message-ID (else by bytes): the keys of every record the
 * archive holds are read first, and a message whose key is there is
 * skipped. The archive runner must be the file's only writer, so this
 * refuses to run while a master runs for the home (import before `switchyard
 * start`, or stop it). Crash windows are MboxFile's: killed mid-write, the
 * torn record is cut off at the next open and the next run writes it again.
 */
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { archiveKey, mboxrdRecord, readRecordHeader, recordStarts } from '../mail/mboxrd.js';
import { RawMessage } from '../mail/raw-message.js';
import { archivePath, MboxFile } from '../../runners/archive/mbox-file.js';
import { readMbox, type MboxQuoting } from './mbox-reader.js';

export interface ArchiveImportResult {
  list: string;
  file: string;
  archive: string;
  read: number;
  added: number;
  existing: number;
}

/** Keys of every record of the list's archive (none when there is no archive yet). */
async function archivedKeys(path: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return keys;
    throw error;
  }
  for (const start of recordStarts(data, true)) {
    const header = readRecordHeader(data.subarray(start, start + 400));
    if (header !== undefined) keys.add(header.key);
  }
  return keys;
}

export async function importArchive(home: string, list: string, file: string, options: { quoting: MboxQuoting; dryRun?: boolean; onProgress?: (done: number, total: number) => void }): Promise<ArchiveImportResult> {
  const messages = readMbox(await readFile(file), options.quoting);
  const archive = archivePath(home, list);
  const keys = await archivedKeys(archive);
  const result: ArchiveImportResult = { list, file, archive, read: messages.length, added: 0, existing: 0 };
  const mbox = options.dryRun === true ? undefined : await MboxFile.open(home, list, pino({ enabled: false }));
  try {
    for (const [index, message] of messages.entries()) {
      const key = archiveKey(message.raw);
      if (keys.has(key)) result.existing++;
      else {
        keys.add(key);
        result.added++;
        if (mbox !== undefined) {
          const dateField = RawMessage.parse(message.raw).get('date');
          const date = message.date ?? (dateField === undefined ? null : new Date(dateField));
          await mbox.append(mboxrdRecord(message.raw, { sender: message.sender, date: date !== null && !Number.isNaN(date.getTime()) ? date : new Date(0), key }), key);
        }
      }
      options.onProgress?.(index + 1, messages.length);
    }
  } finally {
    await mbox?.close();
  }
  return result;
}
