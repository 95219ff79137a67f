/**
 * switchyard/mail: the byte-preserving message (RawMessage: header fields
 * read and rewritten, everything untouched kept byte for byte) and the one
 * header writer every field goes through (formatField and friends refuse
 * CR, LF and NUL in values, fold long ones and RFC 2047-encode non-ASCII).
 */
export { RawMessage, decodeWords } from './raw-message.js';
export {
  assertHeaderValue,
  FIELD_NAME,
  formatField,
  HeaderValueError,
  headerValueProblem,
  oneLine,
  prefixField,
  type HeaderField,
  type LineEnding,
} from './header-field.js';
