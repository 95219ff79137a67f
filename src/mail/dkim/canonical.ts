/**
 * DKIM "relaxed" canonicalisation (RFC 6376 §3.4.2, §3.4.4) of the bytes
 * that go on the wire. Messages are handled as latin1 strings: one char per
 * byte, so 8-bit bytes pass through unchanged and offsets are byte offsets.
 * Line ends may be LF or CRLF: the SMTP hand-off sends every line end as
 * CRLF, so both canonicalise alike. Bare CRs are not expected here:
 * runners/outgoing/wire-form.ts re-encodes them before a copy is signed.
 */

/** One header field as it stands in the message: its name and its whole text (folding included, no final line end). */
export interface RawField {
  /** Lower-cased name. */
  key: string;
  raw: string;
  /** relaxedHeader(raw), kept once made: a post's fields are signed for every copy. */
  canonical?: string;
}

export interface SplitMessage {
  /** The line end the message uses. */
  eol: '\n' | '\r\n';
  fields: RawField[];
  /** Where the body starts (after the empty line), as a char (= byte) offset; text.length when there is none. */
  bodyOffset: number;
}

/** The header fields of a header block (no empty line), in order. */
export function parseFields(block: string): RawField[] {
  const fields: RawField[] = [];
  if (block === '') return fields;
  const lines = block.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    const last = fields[fields.length - 1];
    if ((text.startsWith(' ') || text.startsWith('\t')) && last !== undefined) {
      last.raw += `\r\n${text}`;
      continue;
    }
    const colon = text.indexOf(':');
    fields.push({ key: (colon < 0 ? text : text.slice(0, colon)).trim().toLowerCase(), raw: text });
  }
  return fields;
}

/** Header fields and where the body starts, of a whole message (latin1 text). */
export function splitMessage(text: string): SplitMessage {
  const firstNewline = text.indexOf('\n');
  const eol = firstNewline > 0 && text[firstNewline - 1] !== '\r' ? '\n' : '\r\n';
  let end = text.indexOf(`${eol}${eol}`);
  let bodyOffset: number;
  if (end < 0) {
    end = text.length;
    bodyOffset = text.length;
  } else {
    bodyOffset = end + 2 * eol.length;
  }
  return { eol, fields: parseFields(text.slice(0, end)), bodyOffset };
}

/** `name:value` + CRLF, the relaxed form of one header field. */
export function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase();
  const value = raw
    .slice(colon + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}\r\n`;
}

/**
 * The relaxed lines of a body, each ending in CRLF, split into the part up
 * to the last non-empty line and the empty lines after it (which relaxed
 * canonicalisation drops at the end of the body, but which count when a
 * footer follows them).
 */
export interface CanonicalBody {
  /** Up to and including the last non-empty line; '' for a body of empty lines only. */
  lines: string;
  /** The CRLFs of the empty lines after it. */
  trailing: string;
}

export function relaxedBodyParts(body: string): CanonicalBody {
  if (body === '') return { lines: '', trailing: '' };
  let text = body.replace(/\r\n/g, '\n');
  // A last line without its line end counts as one (RFC 6376 §3.4.4 b).
  if (!text.endsWith('\n')) text += '\n';
  text = text.replace(/[ \t]+/g, ' ').replace(/ \n/g, '\n');
  const stripped = text.replace(/\n+$/, '');
  const lines = stripped === '' ? '' : `${stripped.replace(/\n/g, '\r\n')}\r\n`;
  const empties = text.length - stripped.length - (stripped === '' ? 0 : 1);
  return { lines, trailing: '\r\n'.repeat(empties) };
}

/** The relaxed body: its lines, less the empty lines at its end. */
export function relaxedBody(body: string): string {
  return relaxedBodyParts(body).lines;
}
