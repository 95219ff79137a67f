/**
 * A message as bytes, with its header block split into fields: what the
 * pipeline, inject and the bounce runner use to read and rewrite headers
 * without touching anything else. Parsing and serialising round-trip
 * exactly, so a field nobody rewrites and the whole body stay byte for byte
 * as they arrived (signatures, 8-bit text, odd line endings and all).
 *
 * The header block ends at the first empty line, or at the first line that
 * is neither a field (`name:` with a printable ASCII name) nor a
 * continuation (leading space or tab): as Python's email parser does, such a
 * line starts the body, with no separator. A message without any empty line
 * is all header (or all body), never an error: bad mail reaches a defined
 * outcome downstream, not an exception here.
 *
 * Values read through get()/getAll() are unfolded and trimmed; non-ASCII
 * bytes are read as UTF-8 (RFC 6532). decoded() also decodes RFC 2047
 * encoded words. Fields written by this module are folded at 78 columns,
 * encoded as RFC 2047 words when not ASCII, and use the message's own line
 * ending: they are all written by src/mail/header-field.ts, which refuses a
 * value holding CR, LF or NUL (HeaderValueError), so nothing can inject a
 * field.
 */
import { libmime } from './lazy-libmime.js';
import { FIELD_NAME, formatField, type HeaderField, type LineEnding } from './header-field.js';

export type { HeaderField, LineEnding } from './header-field.js';
const LF = 0x0a;
const CR = 0x0d;

function lineEnd(bytes: Buffer, start: number): number {
  const newline = bytes.indexOf(LF, start);
  return newline < 0 ? bytes.length : newline + 1;
}

/** Whether bytes[start, end) is an empty line (just CRLF or LF). */
function isEmptyLine(bytes: Buffer, start: number, end: number): boolean {
  const length = end - start;
  return (length === 1 && bytes[start] === LF) || (length === 2 && bytes[start] === CR && bytes[start + 1] === LF);
}

/** The name of the field starting at `start`, or undefined when the line is not a field. */
function fieldName(bytes: Buffer, start: number, end: number): string | undefined {
  const colon = bytes.indexOf(0x3a, start);
  if (colon <= start || colon >= end) return undefined;
  // Obsolete syntax allows spaces before the colon ("Subject : x"); they are not part of the name.
  const name = bytes.toString('latin1', start, colon).replace(/[ \t]+$/, '');
  return FIELD_NAME.test(name) ? name : undefined;
}

export class RawMessage {
  private constructor(
    readonly fields: readonly HeaderField[],
    /** The empty line between header and body: CRLF, LF, or empty when there was none. */
    readonly separator: Buffer,
    readonly body: Buffer,
    /** The line ending the message uses (its first line's), for fields written here. */
    readonly eol: LineEnding,
  ) {}

  static parse(bytes: Buffer): RawMessage {
    const firstNewline = bytes.indexOf(LF);
    const eol: LineEnding = firstNewline > 0 && bytes[firstNewline - 1] === CR ? '\r\n' : firstNewline < 0 ? '\r\n' : '\n';
    const fields: HeaderField[] = [];
    let position = 0;
    let current: { name: string; start: number } | undefined;
    const close = (end: number): void => {
      if (current) fields.push({ name: current.name, key: current.name.toLowerCase(), raw: bytes.subarray(current.start, end) });
      current = undefined;
    };
    while (position < bytes.length) {
      const end = lineEnd(bytes, position);
      if (isEmptyLine(bytes, position, end)) {
        close(position);
        return new RawMessage(fields, bytes.subarray(position, end), bytes.subarray(end), eol);
      }
      const first = bytes[position];
      if ((first === 0x20 || first === 0x09) && current) {
        position = end;
        continue;
      }
      const name = fieldName(bytes, position, end);
      if (name === undefined) break;
      close(position);
      current = { name, start: position };
      position = end;
    }
    close(position);
    return new RawMessage(fields, Buffer.alloc(0), bytes.subarray(position), eol);
  }

  /** The message's bytes: exactly the input of parse() when nothing was rewritten. */
  toBuffer(): Buffer {
    return Buffer.concat([...this.fields.map((field) => field.raw), this.separator, this.body]);
  }

  /** The header block's size in bytes, separator included. */
  get headerLength(): number {
    return this.fields.reduce((sum, field) => sum + field.raw.length, 0) + this.separator.length;
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.fields.some((field) => field.key === key);
  }

  /** The first field's value, unfolded and trimmed; undefined when absent. */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    const field = this.fields.find((f) => f.key === key);
    return field === undefined ? undefined : fieldValue(field);
  }

  /** Every value of the field, in order. */
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    return this.fields.filter((f) => f.key === key).map(fieldValue);
  }

  /** The first value with RFC 2047 encoded words decoded (Subject, display names). */
  decoded(name: string): string | undefined {
    const value = this.get(name);
    return value === undefined ? undefined : decodeWords(value);
  }

  /** Without every field of these names. */
  without(...names: string[]): RawMessage {
    const keys = new Set(names.map((name) => name.toLowerCase()));
    return this.withFields(this.fields.filter((field) => !keys.has(field.key)));
  }

  /** With a new field at the top of the header block (as trace fields are added). */
  prepend(name: string, value: string): RawMessage {
    return this.withFields([this.format(name, value), ...this.fields]);
  }

  /** With a new field at the bottom of the header block. */
  append(name: string, value: string): RawMessage {
    return this.withFields([...this.fields, this.format(name, value)]);
  }

  /**
   * With the field set to `value`: written where its first occurrence stood
   * (others removed), or at the bottom when there was none.
   */
  set(name: string, value: string): RawMessage {
    const key = name.toLowerCase();
    const index = this.fields.findIndex((field) => field.key === key);
    if (index < 0) return this.append(name, value);
    const written = this.format(this.fields[index]!.name, value);
    return this.withFields(this.fields.flatMap((field, i) => (i === index ? [written] : field.key === key ? [] : [field])));
  }

  /** With another body (its bytes as given); the header block unchanged. */
  withBody(body: Buffer): RawMessage {
    const separator = this.separator.length > 0 ? this.separator : Buffer.from(this.eol);
    return new RawMessage(this.fields, separator, body, this.eol);
  }

  /** With these fields in place of the header block. */
  withFields(fields: readonly HeaderField[]): RawMessage {
    // A message that had no separator needs one once it has fields, or its body would read as header.
    const separator = this.separator.length === 0 && fields.length > 0 && this.body.length > 0 ? Buffer.from(this.eol) : this.separator;
    return new RawMessage(fields, separator, this.body, this.eol);
  }

  /** A field as this module writes it: see the module comment. */
  format(name: string, value: string): HeaderField {
    return formatField(name, value, this.eol);
  }
}

function fieldValue(field: HeaderField): string {
  const text = field.raw.toString('utf8');
  const colon = text.indexOf(':');
  return text
    .slice(colon + 1)
    .replace(/\r?\n([ \t])/g, '$1')
    .replace(/\r?\n$/, '')
    .trim();
}

/** RFC 2047 encoded words decoded; text that is not valid encoding is left as it is. */
export function decodeWords(value: string): string {
  try {
    return libmime().decodeWords(value);
  } catch {
    return value;
  }
}

/** The field writer (src/mail/header-field.ts), here for the modules that already import it from this one. */
export { formatField };
