/**
 * The parts of libmime (nodemailer's MIME word and header library, a
 * dependency of mailparser) that switchyard uses; the package ships no types.
 */
declare module 'libmime' {
  interface Libmime {
    /** Decodes every RFC 2047 encoded word in a header value into text. */
    decodeWords(value: string): string;
    /** Encodes the non-ASCII runs of `text` as RFC 2047 words, each at most `maxLength` long. */
    encodeWords(text: string, mimeWordEncoding?: 'Q' | 'B', maxLength?: number): string;
    /** Encodes all of `data` as RFC 2047 words of at most `maxLength`, separated by spaces. */
    encodeWord(data: string, mimeWordEncoding?: 'Q' | 'B', maxLength?: number): string;
    /** Folds a header line at `lineLength` with CRLF + space (afterSpace: break after the space instead, for bodies). */
    foldLines(line: string, lineLength?: number, afterSpace?: boolean): string;
    /** Splits `value; key=value` into its value and parameters (RFC 2231 continuations joined). */
    parseHeaderValue(value: string): { value: string; params: Record<string, string> };
  }
  const libmime: Libmime;
  export default libmime;
}
