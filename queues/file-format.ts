/**
 * The queue file format, version 1:
 *
 *     SWITCHYARD-QUEUE 1 <json length> <message length>\n
 *     <JSON: {"metadata": {...}, "control": {...}}>\n
 *     <message bytes, exactly as received>
 *
 * The first line names the format and its version and gives both lengths, so
 * a truncated or padded file is detected rather than half-read. JSON comes
 * first and the message is appended raw: any byte sequence (NUL, bare CR,
 * invalid UTF-8) round-trips exactly, and a 7-bit message's file reads well in
 * `less`. `metadata` belongs to the caller; `control` to the switchboard
 * (restore count, where and why the entry was moved). Decoding is pure
 * JSON.parse: a queue file is data, never code. A length may have leading
 * zeros: an entry written while its message was still arriving
 * (stream-enqueue.ts) reserves STREAMED_LENGTH_WIDTH digits for the message
 * length and fills them in once it is known.
 */
import { FileFormatError } from './errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';

export const FORMAT_MAGIC = 'SWITCHYARD-QUEUE';
export const FORMAT_VERSION = 1;
const MAX_HEADER_LINE = 128;

/** What the switchboard records about an entry, beside the caller's metadata. */
export interface EntryControl {
  /** How many times the entry was restored from `.bak` after a crash. */
  restores: number;
  /** ISO time the entry was first enqueued. */
  enqueuedAt: string;
  /** The queue the entry came from, once it has moved (retry, shunt, bad). */
  originalQueue?: string;
  /** Why it was moved or quarantined. */
  reason?: string;
  /** ISO time of the last move. */
  movedAt?: string;
  [key: string]: JsonValue | undefined;
}

export interface DecodedEntry {
  metadata: JsonObject;
  control: EntryControl;
  message: Buffer;
}

/** Digits of the message length of a streamed entry: written as zeros first, rewritten in place (same width) at the end. */
export const STREAMED_LENGTH_WIDTH = 15;

export function encodeEntry(metadata: JsonObject, control: EntryControl, message: Uint8Array): Buffer[] {
  return [...encodeEntryHead(metadata, control, message.length), Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength)];
}

/** Everything before the message: the header line, the JSON and its separator. */
export function encodeEntryHead(metadata: JsonObject, control: EntryControl, messageLength: number, lengthWidth = 0): Buffer[] {
  const json = Buffer.from(`{"metadata":${metadataJson(metadata)},"control":${JSON.stringify(control)}}`, 'utf8');
  return [encodeHeaderLine(json.length, messageLength, lengthWidth), json, Buffer.from('\n')];
}

/** The JSON texts of arrays given to jsonOnce(). */
const knownJson = new WeakMap<object, string>();

/**
 * Freeze `array` and serialise it now, once: wherever it is a top-level
 * metadata value of an entry, encodeEntryHead() puts this text in instead of
 * serialising it again. For a large value a producer sends again and again
 * unchanged (the incoming runner's recipients: the same 1,000 addresses for
 * every post to a list until its membership changes). Frozen, so the text
 * can never disagree with the array.
 */
export function jsonOnce<T extends JsonValue[]>(array: T): T {
  if (!knownJson.has(array)) {
    Object.freeze(array);
    knownJson.set(array, JSON.stringify(array));
  }
  return array;
}

/** JSON.stringify(metadata), byte for byte, with the texts jsonOnce() keeps for its top-level values. */
function metadataJson(metadata: JsonObject): string {
  const keys = Object.keys(metadata);
  if (!keys.some((key) => knownJson.has(metadata[key] as object))) return JSON.stringify(metadata);
  const members: string[] = [];
  for (const key of keys) {
    const value = metadata[key];
    // As JSON.stringify: a member whose value has no JSON form (undefined) is left out.
    const text = knownJson.get(value as object) ?? (JSON.stringify(value) as string | undefined);
    if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(',')}}`;
}

/** The first line; `lengthWidth` pads the message length with zeros (see STREAMED_LENGTH_WIDTH). */
export function encodeHeaderLine(jsonLength: number, messageLength: number, lengthWidth = 0): Buffer {
  return Buffer.from(`${FORMAT_MAGIC} ${FORMAT_VERSION} ${jsonLength} ${String(messageLength).padStart(lengthWidth, '0')}\n`, 'latin1');
}

export function decodeEntry(bytes: Buffer): DecodedEntry {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0 || newline > MAX_HEADER_LINE) {
    throw new FileFormatError(bytes.length === 0 ? 'empty file' : 'no header line: not a switchyard queue file');
  }
  const header = bytes.subarray(0, newline).toString('latin1').split(' ');
  if (header.length !== 4 || header[0] !== FORMAT_MAGIC) {
    throw new FileFormatError('bad header line: not a switchyard queue file');
  }
  if (header[1] !== String(FORMAT_VERSION)) {
    throw new FileFormatError(`unknown queue file format version ${JSON.stringify(header[1])} (this switchyard reads ${FORMAT_VERSION})`);
  }
  const jsonLength = parseLength(header[2]);
  const messageLength = parseLength(header[3]);
  const jsonStart = newline + 1;
  const messageStart = jsonStart + jsonLength + 1;
  const expected = messageStart + messageLength;
  if (bytes.length !== expected) {
    throw new FileFormatError(`${bytes.length < expected ? 'truncated' : 'overlong'} file: ${bytes.length} bytes, header says ${expected}`);
  }
  if (bytes[messageStart - 1] !== 0x0a) throw new FileFormatError('missing separator after JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.subarray(jsonStart, jsonStart + jsonLength).toString('utf8'));
  } catch (error) {
    throw new FileFormatError(`metadata is not valid JSON: ${(error as Error).message}`);
  }
  if (!isJsonObject(parsed) || !isJsonObject(parsed.metadata) || !isJsonObject(parsed.control)) {
    throw new FileFormatError('metadata JSON lacks the metadata and control objects');
  }
  const control = parsed.control;
  if (typeof control.restores !== 'number' || !Number.isInteger(control.restores) || control.restores < 0) {
    throw new FileFormatError('control.restores is not a non-negative integer');
  }
  return {
    metadata: parsed.metadata,
    control: control as EntryControl,
    message: bytes.subarray(messageStart),
  };
}

function parseLength(text: string | undefined): number {
  if (text === undefined || !/^\d{1,15}$/.test(text)) throw new FileFormatError(`bad length ${JSON.stringify(text)} in header`);
  return Number(text);
}
