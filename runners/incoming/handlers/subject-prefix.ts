/**
 * subject-prefix: `[name] ` (the list setting subjectPrefix) in front of the
 * Subject, once: a subject that already carries the prefix anywhere (a reply,
 * `Re: [name] ...`, `AW: Re: [name] ...`, a forward) is left exactly as it
 * is. The prefix is inserted into the field's raw bytes, so encoded words,
 * folding and 8-bit text after it are kept byte for byte; a non-ASCII prefix
 * is written as an RFC 2047 word. No Subject: `[name] (no subject)`.
 */
import libmime from 'libmime';
import { decodeWords } from '../../../src/mail/raw-message.js';
import type { PipelineContext } from '../pipeline.js';

/** Longest subject inspected (decoded); past this the field is left alone, logged. */
const MAX_SUBJECT = 16_384;

/** Whether the subject already carries the prefix (compared without case and surrounding space). */
export function hasPrefix(subject: string, prefix: string): boolean {
  const wanted = prefix.trim().toLowerCase();
  return wanted.length > 0 && subject.replace(/\s+/g, ' ').toLowerCase().includes(wanted.replace(/\s+/g, ' '));
}

/** The prefix as it stands in a field: as is when ASCII, else one encoded word. */
function encodedPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\s+$/, '');
  return /^[\x20-\x7e]*$/.test(trimmed) ? trimmed : libmime.encodeWords(trimmed, 'Q', 0);
}

export function subjectPrefix(ctx: PipelineContext): void {
  const prefix = ctx.list.settings.subjectPrefix;
  if (prefix.trim() === '') return;
  const message = ctx.message;
  const index = message.fields.findIndex((field) => field.key === 'subject');
  if (index < 0) {
    ctx.message = message.append('Subject', `${prefix.trimEnd()} (no subject)`);
    return;
  }
  const field = message.fields[index]!;
  if (field.raw.length > MAX_SUBJECT) {
    ctx.log.warn({ bytes: field.raw.length }, 'subject-prefix: Subject too long to inspect; left as it is');
    return;
  }
  const value = message.get('subject') ?? '';
  if (hasPrefix(decodeWords(value), prefix)) return;
  if (value === '') {
    ctx.message = message.set('Subject', `${prefix.trimEnd()} (no subject)`);
    return;
  }
  // The raw bytes after the colon and its white space stay as they were.
  const colon = field.raw.indexOf(0x3a);
  let start = colon + 1;
  while (field.raw[start] === 0x20 || field.raw[start] === 0x09) start++;
  const head = Buffer.from(`${field.name}: ${encodedPrefix(prefix)} `, 'latin1');
  const raw = Buffer.concat([head, field.raw.subarray(start)]);
  const fields = message.fields.slice();
  fields[index] = { name: field.name, key: field.key, raw };
  ctx.message = message.withFields(fields);
}
