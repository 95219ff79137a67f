/**
 * `switchyard dkim check`: is the key record in DNS the one for the
 * configured key? One TXT lookup per key (node:dns's Resolver, with the
 * `[dns]` servers and timeout), its tags compared with the key's type and
 * public key.
 */
import type { Resolver } from 'node:dns/promises';
import { parseRecord, recordName, recordText } from './dns-record.js';
import type { SigningKey } from './keys.js';

export type CheckStatus = 'match' | 'mismatch' | 'missing' | 'error';

export interface KeyCheck {
  selector: string;
  algorithm: string;
  file: string;
  name: string;
  status: CheckStatus;
  reason: string;
  /** The record found (the strings of one TXT record joined), if any. */
  found?: string;
  /** The record to publish. */
  expected: string;
}

export { makeResolver, type ResolverOptions } from '../dns-resolver.js';

export async function checkKey(resolver: Resolver, domain: string, selector: string, key: SigningKey): Promise<KeyCheck> {
  const name = recordName(selector, domain);
  const expected = recordText(key.type, key.publicKey);
  const base = { selector, algorithm: key.algorithm, file: key.file, name, expected };
  let records: string[][];
  try {
    records = await resolver.resolveTxt(name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { ...base, status: 'missing', reason: `no TXT record at ${name}` };
    return { ...base, status: 'error', reason: `DNS lookup of ${name} failed: ${code ?? (error as Error).message}` };
  }
  const texts = records.map((strings) => strings.join(''));
  const keyRecords = texts.filter((text) => parseRecord(text)?.has('p') === true);
  if (keyRecords.length === 0) return { ...base, status: 'missing', reason: `no DKIM key record (with p=) among the ${texts.length} TXT record(s) at ${name}`, ...(texts[0] === undefined ? {} : { found: texts[0] }) };
  if (keyRecords.length > 1) return { ...base, status: 'mismatch', reason: `${keyRecords.length} key records at ${name}: receivers may pick any; keep one`, found: keyRecords.join(' | ') };
  const found = keyRecords[0]!;
  const tags = parseRecord(found)!;
  const version = tags.get('v');
  if (version !== undefined && version !== 'DKIM1') return { ...base, status: 'mismatch', reason: `v=${version}, not DKIM1`, found };
  const type = tags.get('k') ?? 'rsa';
  if (type !== key.type) return { ...base, status: 'mismatch', reason: `the record is for a ${type} key, the configured key is ${key.type}`, found };
  const p = tags.get('p') ?? '';
  if (p === '') return { ...base, status: 'mismatch', reason: 'the record revokes the key (empty p=)', found };
  if (p !== key.publicKey) return { ...base, status: 'mismatch', reason: `the record's public key (p=) is not that of ${key.file}`, found };
  return { ...base, status: 'match', reason: 'the record matches the key', found };
}
