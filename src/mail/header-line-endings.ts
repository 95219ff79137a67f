/**
 * Stray line breaks in a message's header block: a bare LF in a message
 * whose lines end in CRLF, or a bare CR anywhere. switchyard reads a header
 * line as ending at its LF (src/mail/raw-message.ts), but the SMTP hand-off
 * (nodemailer's DATA stream, like most MTAs) turns every bare CR and bare LF
 * into CRLF. A sender who hides one inside a field (`From: "Evil\rBcc:
 * victim@example.com" <a@b>`) would so get a field onto the wire that the
 * posting chain and the pipeline never saw: header injection.
 *
 * normaliseHeaderLineEndings() repairs them where mail comes in (the
 * incoming and virgin runners, before anything reads the header): a stray
 * followed by a space or tab becomes the message's own line ending (a fold,
 * as the sender evidently meant), any other a space. Either way it can never
 * start a new field. Only the header block is touched; the body stays byte
 * for byte. strayLineBreaks() is the check the outgoing runner makes before
 * the hand-off (see runners/outgoing/wire-form.ts).
 *
 * The header block's line ending is the one most of its lines use (see
 * usesCrlf()). The header block ends at the first empty line, or at the first line that
 * is neither a field nor a continuation; a bare LF directly followed by an
 * empty line ends the block too, since every reader (RawMessage, the MTAs)
 * sees the empty line there.
 */

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

function isWsp(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09;
}

/** Whether a field name (printable ASCII but colon, then optional spaces) and a colon start at `start`. */
function startsField(bytes: Buffer, start: number): boolean {
  let i = start;
  while (i < bytes.length && bytes[i]! >= 0x21 && bytes[i]! <= 0x7e && bytes[i] !== COLON) i++;
  if (i === start) return false;
  while (isWsp(bytes[i])) i++;
  return bytes[i] === COLON;
}

/**
 * Whether the header block's lines end in CRLF: more of them do than end in
 * a bare LF (counted up to the first empty line). Not the first line's
 * ending alone: that is the line a sender hides a bare LF in (`From:
 * "Evil\nBcc: ..."`). Either reading is safe, as the wire then splits lines
 * exactly where it says.
 */
function usesCrlf(bytes: Buffer): boolean {
  let crlf = 0;
  let lf = 0;
  let lineStart = 0;
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, at + 1)) {
    const length = at - lineStart;
    if (length === 0 || (length === 1 && bytes[lineStart] === CR)) break;
    if (bytes[at - 1] === CR) crlf++;
    else lf++;
    lineStart = at + 1;
  }
  return crlf > 0 ? crlf >= lf : lf === 0;
}

/** Offsets of the stray CR and LF bytes in the header block, in order. */
export function strayLineBreaks(bytes: Buffer): number[] {
  const crlf = usesCrlf(bytes);
  const strays: number[] = [];
  const n = bytes.length;
  let position = 0;
  while (position < n) {
    // An empty line: the separator.
    if (bytes[position] === LF || (bytes[position] === CR && bytes[position + 1] === LF)) return strays;
    if (!(position > 0 && isWsp(bytes[position])) && !startsField(bytes, position)) return strays;
    let i = position;
    for (;;) {
      if (i >= n) return strays;
      const byte = bytes[i]!;
      if (byte === LF) {
        const next = bytes[i + 1];
        const endsLine = !crlf || (i > 0 && bytes[i - 1] === CR) || next === LF || (next === CR && bytes[i + 2] === LF);
        if (endsLine) {
          position = i + 1;
          break;
        }
        strays.push(i);
      } else if (byte === CR && bytes[i + 1] !== LF) {
        strays.push(i);
      }
      i++;
    }
  }
  return strays;
}

/** The message with every stray line break of its header block made a fold or a space; `repaired` counts them. */
export function normaliseHeaderLineEndings(bytes: Buffer): { message: Buffer; repaired: number } {
  const strays = strayLineBreaks(bytes);
  if (strays.length === 0) return { message: bytes, repaired: 0 };
  const eol = Buffer.from(usesCrlf(bytes) ? '\r\n' : '\n', 'latin1');
  const space = Buffer.from(' ', 'latin1');
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of strays) {
    chunks.push(bytes.subarray(from, at), isWsp(bytes[at + 1]) ? eol : space);
    from = at + 1;
  }
  chunks.push(bytes.subarray(from));
  return { message: Buffer.concat(chunks), repaired: strays.length };
}
