/**
 * Mailman 3's message store (mailman/model/messagestore.py): a held post is
 * kept as a pickled `email.message.Message` in the core's messages directory
 * (var/messages/AB/CD/HASH, HASH being the Message-ID-Hash, named in the
 * `message` table's `path` column). Read only.
 *
 * The pickle goes through the safe pickle reader (safe-pickle.ts) with only
 * the classes a message is made of accepted: Mailman's and Python's
 * Message, the compat32 (or email.policy) policy, email.charset.Charset,
 * the email.errors defects a parser records, and the `copyreg._reconstructor`
 * and `object` that protocols 0 and 1 use to make them. Nothing is imported or
 * called; any other global (os.system, a Header object, ...) is refused
 * with SY_IMPORT_UNSAFE.
 *
 * The message is then written back as bytes the way Python's BytesGenerator
 * does for `msg.as_bytes()` under compat32 (headers as stored, no refolding;
 * multipart bodies with the Content-Type's boundary, preamble and epilogue;
 * message/rfc822 and message/delivery-status parts), with two differences
 * that keep it byte-exact with what Mailman received: the line ending is
 * the message's own (CRLF when any stored text has one, else LF; Python would
 * write LF), and payloads are written as stored instead of having their line
 * endings rewritten. Strings of a message parsed from bytes carry the bytes
 * that were not ASCII as surrogates (U+DC80..U+DCFF, Python's surrogateescape):
 * they become those bytes again.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImportSourceError, ImportUnsafeError } from './errors.js';
import { PickledObject, readPickle, type PickleValue } from './safe-pickle.js';

const MESSAGE_CLASSES = new Set(['mailman.email.message Message', 'email.message Message']);
const ACCEPTED = new Set([...MESSAGE_CLASSES, 'email._policybase Compat32', 'email.policy EmailPolicy', 'email.charset Charset']);
/** The parser's defect records (email.errors.*Defect, exceptions that pickle by REDUCE of their class). */
const DEFECT = /^email\.errors [A-Za-z]+Defect$/;

/** A message as the pickle holds it, as plain data. */
export interface StoredMessage {
  /** `_headers`: (name, value) pairs in order, values as stored (continuation lines included). */
  headers: [string, string][];
  /** `_payload`: text (with surrogateescape'd bytes), sub-messages (multipart, message/*), or none. */
  payload: string | StoredMessage[] | null;
  unixfrom: string | null;
  /** `_charset`'s input charset, if set. */
  charset: string | null;
  preamble: string | null;
  epilogue: string | null;
  /** Class names of the parser's defects. */
  defects: string[];
  /** `_default_type`: text/plain, or message/rfc822 inside multipart/digest. */
  defaultType: string;
}

/** Mailman's Message-ID-Hash (mailman/utilities/email.py add_message_hash): base32 of the SHA-1 of the Message-ID without its angle brackets. */
export function messageIdHash(messageId: string): string {
  const id = messageId.startsWith('<') && messageId.endsWith('>') ? messageId.slice(1, -1) : messageId.trim();
  const digest = createHash('sha1').update(id, 'utf8').digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out; // 160 bits: 32 characters, no padding
}

/** The store's relative path of a hash (MAX_SPLITS 2: AB/CD/ABCD...). */
export function messageStorePath(hash: string): string {
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;
}

/** A `message.path` from Mailman's database, checked before it touches the file system (it is data from another program). */
export function storedMessageFile(messagesDir: string, relativePath: string): string {
  if (!/^[A-Z2-7]{2}\/[A-Z2-7]{2}\/[A-Z2-7]{32}$/.test(relativePath)) throw new ImportUnsafeError(`Mailman's message table names the path ${JSON.stringify(relativePath.slice(0, 80))}, which is not a message store path (AB/CD/HASH): refused`);
  return join(messagesDir, ...relativePath.split('/'));
}

/** The bytes of the stored message at `file`. */
export async function readStoredMessage(file: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ImportSourceError(
      missing ? `the held post's message is not in Mailman's message store (${file}): give --messages-dir with the core's var/messages directory` : `cannot read Mailman's stored message ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return storedMessageBytes(data);
}

/** A message-store pickle as the message's bytes. */
export function storedMessageBytes(pickle: Buffer): Buffer {
  return messageBytes(unpickleMessage(pickle));
}

export function unpickleMessage(pickle: Buffer): StoredMessage {
  const value = readPickle(pickle, { classes: (name) => ACCEPTED.has(name) || DEFECT.test(name) });
  return messageFrom(value, 0);
}

function text(value: PickleValue | undefined, what: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new ImportUnsafeError(`the stored message's ${what} is not text: refused`);
  return value;
}

function messageFrom(value: PickleValue, depth: number): StoredMessage {
  if (!(value instanceof PickledObject) || !MESSAGE_CLASSES.has(value.className)) throw new ImportUnsafeError('the stored pickle is not an email message: refused');
  if (depth > 100) throw new ImportUnsafeError('the stored message nests parts more than 100 deep: refused');
  const state = value.state;
  const headers: [string, string][] = [];
  const rawHeaders = state.get('_headers') ?? [];
  if (!Array.isArray(rawHeaders)) throw new ImportUnsafeError("the stored message's headers are not a list: refused");
  for (const pair of rawHeaders) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw new ImportUnsafeError('a stored header is not a (name, text) pair (a Header object?): refused');
    headers.push([pair[0], pair[1]]);
  }
  const rawPayload = state.get('_payload') ?? null;
  const payload = Array.isArray(rawPayload) ? rawPayload.map((part) => messageFrom(part, depth + 1)) : text(rawPayload, 'payload');
  const charset = state.get('_charset');
  const defects = state.get('defects');
  return {
    headers,
    payload,
    unixfrom: text(state.get('_unixfrom'), 'Unix From line'),
    charset: charset instanceof PickledObject ? text(charset.state.get('input_charset'), 'charset') : null,
    preamble: text(state.get('preamble'), 'preamble'),
    epilogue: text(state.get('epilogue'), 'epilogue'),
    defects: Array.isArray(defects) ? defects.map((defect) => (defect instanceof PickledObject ? defect.className.replace(/^.* /, '') : String(defect))) : [],
    defaultType: text(state.get('_default_type'), 'default type') ?? 'text/plain',
  };
}

/** CRLF if any stored text carries one (the message came in with CRLF line endings), else LF. */
function lineEnding(message: StoredMessage): string {
  const texts = [message.preamble, message.epilogue, ...message.headers.map(([, value]) => value)];
  if (typeof message.payload === 'string') texts.push(message.payload);
  if (texts.some((item) => item !== null && item.includes('\r\n'))) return '\r\n';
  return Array.isArray(message.payload) && message.payload.some((part) => lineEnding(part) === '\r\n') ? '\r\n' : '\n';
}

/** The message's bytes, as Python's BytesGenerator writes `as_bytes()` under compat32 (see the module comment). */
export function messageBytes(message: StoredMessage): Buffer {
  return pythonBytes(flatten(message, lineEnding(message)));
}

function header(message: StoredMessage, name: string): string | undefined {
  return message.headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** email.message.Message.get_content_type(). */
function contentType(message: StoredMessage): string {
  const value = header(message, 'content-type');
  if (value === undefined) return message.defaultType;
  const type = value.split(';')[0]!.trim().toLowerCase();
  return type.split('/').length === 2 ? type : 'text/plain';
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\\\/g, '\\').replace(/\\"/g, '"');
  if (value.length >= 2 && value.startsWith('<') && value.endsWith('>')) return value.slice(1, -1);
  return value;
}

/** email.message.Message.get_boundary(): the Content-Type's boundary parameter, split on `;` outside quotes as email.message._parseparam does. */
function boundary(message: StoredMessage): string | undefined {
  const value = header(message, 'content-type');
  if (value === undefined) return undefined;
  let rest = `;${value}`;
  while (rest.startsWith(';')) {
    rest = rest.slice(1);
    let end = rest.indexOf(';');
    const quotes = (upTo: number): number => (rest.slice(0, upTo).match(/"/g)?.length ?? 0) - (rest.slice(0, upTo).match(/\\"/g)?.length ?? 0);
    while (end > 0 && quotes(end) % 2 === 1) end = rest.indexOf(';', end + 1);
    if (end < 0) end = rest.length;
    const param = rest.slice(0, end);
    rest = rest.slice(end);
    const equals = param.indexOf('=');
    if (equals < 0 || param.slice(0, equals).trim().toLowerCase() !== 'boundary') continue;
    return unquote(unquote(param.slice(equals + 1).trim())).trimEnd();
  }
  return undefined;
}

function flatten(message: StoredMessage, nl: string): string {
  let out = '';
  for (const [name, value] of message.headers) out += `${name}: ${value}${nl}`;
  return out + nl + body(message, nl);
}

function body(message: StoredMessage, nl: string): string {
  const { payload } = message;
  if (payload === null) return '';
  // A string is written as it is stored, whatever the type says (a non-strict parse of a multipart without its boundary, a message/rfc822 read by HeaderParser).
  if (typeof payload === 'string') return payload;
  const type = contentType(message);
  if (type.startsWith('multipart/')) {
    const mark = boundary(message);
    if (mark === undefined || mark === '') throw new ImportSourceError('a stored multipart message has no boundary in its Content-Type: it cannot be written back as Mailman would');
    let out = message.preamble === null ? '' : message.preamble + nl;
    out += `--${mark}${nl}`;
    out += payload.map((part) => flatten(part, nl)).join(`${nl}--${mark}${nl}`);
    out += `${nl}--${mark}--${nl}`;
    return message.epilogue === null ? out : out + message.epilogue;
  }
  if (type === 'message/delivery-status') {
    // Header blocks joined by an empty line, without the last block's trailing one.
    return payload.map((part) => {
      const block = flatten(part, nl);
      return block.endsWith(nl) ? block.slice(0, -nl.length) : block;
    }).join(nl);
  }
  if (type.startsWith('message/')) return payload.length === 0 ? '' : flatten(payload[0]!, nl);
  throw new ImportSourceError(`a stored ${type} part holds sub-messages instead of text: it cannot be written back as Mailman would`);
}

/** Python's `str.encode('ascii', 'surrogateescape')`, with UTF-8 for the other characters (as Mailman's as_bytes falls back to). */
export function pythonBytes(value: string): Buffer {
  const out = Buffer.alloc(value.length * 3);
  let length = 0;
  let plain = 0; // start of the run not yet copied
  const flush = (end: number): void => {
    if (end > plain) length += out.write(value.slice(plain, end), length, 'utf8');
  };
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xdc80 && unit <= 0xdcff) {
      flush(i);
      out[length++] = unit - 0xdc00;
      plain = i + 1;
    }
  }
  flush(value.length);
  return out.subarray(0, length);
}
