/**
 * The header-injection guard on its own (no encoder): what may not stand in
 * a header value. header-field.ts, the writer, refuses such values with it;
 * schemas that check values before anything is written (the `out` entry's
 * personalised headers, runners/queue-names.ts) use it without loading the
 * writer's RFC 2047 encoder into every process.
 */

/** What can never stand in a header value: it would end the field (CR, LF) or is refused by MTAs (NUL). */
const FORBIDDEN = /[\r\n\0]/;

/** Why `value` cannot be a header value, or null when it can. */
export function headerValueProblem(value: string): string | null {
  const match = FORBIDDEN.exec(value);
  if (match === null) return null;
  const what = match[0] === '\r' ? 'a carriage return (CR)' : match[0] === '\n' ? 'a line feed (LF)' : 'a NUL byte';
  return `contains ${what}, which would let it add header fields; refused`;
}
