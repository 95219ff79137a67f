/**
 * subject-prefix: `[name] ` (the list setting subjectPrefix) in front of the
 * Subject, once: a subject that already carries the prefix anywhere (a reply,
 * `Re: [name] ...`, `AW: Re: [name] ...`, a forward) is left exactly as it
 * is. The prefix is inserted into the field's raw bytes, so encoded words,
 * folding and 8-bit text after it are kept byte for byte; a non-ASCII prefix
 * is written as an RFC 2047 word (src/mail/header-field.ts). No Subject: `[name] (no subject)`.
 */
import { oneLine, prefixField } from '../../../src/mail/header-field.js';
import { decodeWords } from '../../../src/mail/raw-message.js';
import type { PipelineContext } from '../pipeline.js';

/** Longest subject inspected (decoded); past this the field is left alone, logged. */
const MAX_SUBJECT = 16_384;

/** Whether the subject already carries the prefix (compared without case and surrounding space). */
export function hasPrefix(subject: string, prefix: string): boolean {
  const wanted = prefix.trim().toLowerCase();
  return wanted.length > 0 && subject.replace(/\s+/g, ' ').toLowerCase().includes(wanted.replace(/\s+/g, ' '));
}

export function subjectPrefix(ctx: PipelineContext): void {
  // A prefix stored before settings were checked may hold a line break: one line, never a new field.
  const prefix = oneLine(ctx.list.settings.subjectPrefix);
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
  const fields = message.fields.slice();
  fields[index] = prefixField(field, prefix);
  ctx.message = message.withFields(fields);
}
