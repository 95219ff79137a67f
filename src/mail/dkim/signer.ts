/**
 * DKIM signatures (RFC 6376, relaxed/relaxed; RFC 8463 for Ed25519) over the
 * bytes of an outgoing copy, made where those bytes are final: once per post
 * for a bulk copy (sign()), per recipient for a personalised one
 * (signCopy(head, foot): the runner sends head + message + foot).
 *
 * What is parsed or hashed once per message, not per copy: the header
 * fields, the canonical body and the SHA-256 state over it, so a copy with a
 * footer costs a hash of its footer, not of the whole body again.
 *
 * Signed header fields: those of `signedHeaders` present in the copy, each as
 * many times as it occurs, and From once more (over-signing: a From added
 * on the way, above or below ours, fails the signature). Signatures go at the
 * top of the copy and sign none of each other.
 *
 * Private keys arrive as PEM (checked when the runner started,
 * src/mail/dkim/keys.ts) and become KeyObjects once per thread (keyObject()).
 * Pure computation: no files.
 */
import { createHash, createPrivateKey, sign as cryptoSign, type Hash, type KeyObject } from 'node:crypto';
import { parseFields, relaxedBodyParts, relaxedHeader, splitMessage, type RawField } from './canonical.js';
import type { DkimAlgorithm } from './keys.js';

export interface SigningSpec {
  /** d= */
  domain: string;
  /** Each key with its selector (s=). */
  keys: ReadonlyArray<{ algorithm: DkimAlgorithm; selector: string; pem: string }>;
  /** Names of the header fields to sign (those present), in h= order. */
  signedHeaders: readonly string[];
  /** t=, Unix seconds; default the time of signing. */
  time?: number;
}

const keyObjects = new Map<string, KeyObject>();

/** The KeyObject of a PEM, made once per thread. */
export function keyObject(pem: string): KeyObject {
  let key = keyObjects.get(pem);
  if (key === undefined) {
    key = createPrivateKey({ key: pem, format: 'pem' });
    keyObjects.set(pem, key);
  }
  return key;
}

/** The h= names and the canonical header text they stand for (RFC 6376 §5.4.2: instances taken from the bottom up). */
export function selectHeaders(fields: readonly RawField[], names: readonly string[]): { h: string[]; canonical: string } {
  const h: string[] = [];
  let canonical = '';
  for (const name of names) {
    const key = name.toLowerCase();
    const instances = fields.filter((field) => field.key === key);
    // From once more than it occurs: the extra name matches nothing and so signs its absence.
    const times = key === 'from' ? instances.length + 1 : instances.length;
    for (let i = 0; i < times; i++) {
      h.push(name);
      const instance = instances[instances.length - 1 - i];
      if (instance !== undefined) canonical += instance.canonical ??= relaxedHeader(instance.raw);
    }
  }
  return { h, canonical };
}

/** Fold `h=` names after colons so no line passes 78 characters. */
function foldedNames(names: readonly string[], eol: string): string {
  let out = ' h=';
  let line = out.length;
  names.forEach((name, i) => {
    const piece = i < names.length - 1 ? `${name}:` : `${name};`;
    if (line + piece.length > 76 && i > 0) {
      out += `${eol} `;
      line = 1;
    }
    out += piece;
    line += piece.length;
  });
  return out;
}

/** The DKIM-Signature field, folded in `eol`, its b= value `b` (empty for the hash input). */
function signatureField(domain: string, selector: string, algorithm: DkimAlgorithm, time: number, h: readonly string[], bh: string, b: string, eol: string): string {
  const bFolded = b.replace(/.{72}(?=.)/g, `$&${eol} `);
  return (
    `DKIM-Signature: v=1; a=${algorithm}; c=relaxed/relaxed;${eol}` +
    ` d=${domain}; s=${selector}; t=${time};${eol}` +
    `${foldedNames(h, eol)}${eol}` +
    ` bh=${bh};${eol}` +
    ` b=${bFolded}`
  );
}

/** The signature fields (each ending in `eol`) for header fields `fields` and body hash `bh`. */
export function signatureFields(spec: SigningSpec, fields: readonly RawField[], bh: string, eol: string): string {
  const time = spec.time ?? Math.floor(Date.now() / 1000);
  const { h, canonical } = selectHeaders(fields, spec.signedHeaders);
  let out = '';
  for (const { algorithm, selector, pem } of spec.keys) {
    const unsigned = signatureField(spec.domain, selector, algorithm, time, h, bh, '', eol);
    const input = Buffer.from(canonical + relaxedHeader(unsigned).slice(0, -2), 'latin1');
    const key = keyObject(pem);
    const b =
      algorithm === 'rsa-sha256'
        ? cryptoSign('sha256', input, key).toString('base64')
        : // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the canonical header.
          cryptoSign(null, createHash('sha256').update(input).digest(), key).toString('base64');
    out += `${signatureField(spec.domain, selector, algorithm, time, h, bh, b, eol)}${eol}`;
  }
  return out;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Signs one message and its personalised copies (see the module comment). */
export class MessageSigner {
  readonly eol: '\n' | '\r\n';
  private readonly fields: RawField[];
  private readonly bodyEndsWithNewline: boolean;
  private readonly bodyText: string;
  private readonly trailing: string;
  /** SHA-256 over the canonical body up to its last non-empty line. */
  private readonly prefix: Hash;
  private readonly plainHash: string;

  constructor(message: Uint8Array, private readonly spec: SigningSpec) {
    const text = latin1(message);
    const split = splitMessage(text);
    this.eol = split.eol;
    this.fields = split.fields;
    this.bodyText = text.slice(split.bodyOffset);
    this.bodyEndsWithNewline = this.bodyText === '' || this.bodyText.endsWith('\n');
    const body = relaxedBodyParts(this.bodyText);
    this.trailing = body.trailing;
    this.prefix = createHash('sha256').update(body.lines, 'latin1');
    this.plainHash = this.prefix.copy().digest('base64');
  }

  /** The signature fields to put at the top of the message as it is. */
  sign(): Buffer {
    return Buffer.from(signatureFields(this.spec, this.fields, this.plainHash, this.eol), 'latin1');
  }

  /** The signature fields to put at the top of the copy `head` + message + `foot`. */
  signCopy(head: Uint8Array, foot: Uint8Array): Buffer {
    const fields = head.byteLength === 0 ? this.fields : [...parseFields(latin1(head)), ...this.fields];
    return Buffer.from(signatureFields(this.spec, fields, this.bodyHashWith(latin1(foot)), this.eol), 'latin1');
  }

  /** The body hash of body + foot. */
  private bodyHashWith(foot: string): string {
    if (foot === '') return this.plainHash;
    let rest = foot;
    if (!this.bodyEndsWithNewline) {
      // The footer's leading line end completes the body's last line (canonicalised as complete already).
      const lead = foot.startsWith('\r\n') ? 2 : foot.startsWith('\n') ? 1 : 0;
      if (lead === 0) return createHash('sha256').update(relaxedBodyParts(this.bodyText + foot).lines, 'latin1').digest('base64');
      rest = foot.slice(lead);
    }
    const lines = relaxedBodyParts(rest).lines;
    if (lines === '') return this.plainHash;
    return this.prefix.copy().update(this.trailing + lines, 'latin1').digest('base64');
  }
}
