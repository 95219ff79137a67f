/**
 * The answer cache in front of the runners' DNS lookups
 * (src/mail/dns-cache.ts, `[dns] cacheSize` and `cacheTtl`): over a real
 * DNS server on loopback (the responder fixture counts the queries it gets)
 * and with a lookup function on a test clock for expiry and eviction.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cachedLookup } from '../../src/mail/dns-cache.js';
import { txtResolver } from '../../src/mail/dns-resolver.js';
import { DnsResponder } from '../fixtures/dns-responder.js';

let responder: DnsResponder | undefined;
afterEach(async () => {
  await responder?.close();
  responder = undefined;
});

function dnsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`query failed: ${code}`), { code });
}

describe('the DNS answer cache', () => {
  it('asks the server once for a record and once for a name that does not exist; without a cache, every time', async () => {
    responder = await DnsResponder.start({ '_dmarc.author.example': 'v=DMARC1; p=reject' });
    const cached = txtResolver({ servers: [responder.server], timeoutMs: 2_000, cacheSize: 100, cacheTtlMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(await cached('_dmarc.author.example')).toEqual([['v=DMARC1; p=reject']]);
    for (let i = 0; i < 3; i++) await expect(cached('_dmarc.nowhere.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    // Names are case-insensitive.
    expect(await cached('_DMARC.Author.Example')).toEqual([['v=DMARC1; p=reject']]);
    expect(responder.queries.filter((name) => name === '_dmarc.author.example')).toHaveLength(1);
    expect(responder.queries.filter((name) => name === '_dmarc.nowhere.example')).toHaveLength(1);

    const uncached = txtResolver({ servers: [responder.server], timeoutMs: 2_000, cacheSize: 0 });
    for (let i = 0; i < 3; i++) await uncached('_dmarc.author.example');
    expect(responder.queries.filter((name) => name === '_dmarc.author.example')).toHaveLength(4);
  });

  it('keeps an answer for the TTL, evicts the least recently used beyond the size, and shares a lookup in flight', async () => {
    let clock = 0;
    const asked: string[] = [];
    const lookup = cachedLookup(async (name: string, rrtype: string) => {
      asked.push(`${rrtype} ${name}`);
      return [[`${name} at ${clock}`]];
    }, { maxEntries: 2, ttlMs: 1_000, now: () => clock });
    const [first, second] = await Promise.all([lookup('a.example', 'TXT'), lookup('a.example', 'TXT')]);
    expect(first).toBe(second);
    expect(asked).toEqual(['TXT a.example']);
    clock = 999;
    expect(await lookup('a.example', 'TXT')).toEqual([['a.example at 0']]);
    clock = 1_000;
    expect(await lookup('a.example', 'TXT')).toEqual([['a.example at 1000']]);
    expect(asked).toEqual(['TXT a.example', 'TXT a.example']);
    // A and B kept; A used again, so C evicts B.
    await lookup('b.example', 'TXT');
    await lookup('a.example', 'TXT');
    await lookup('c.example', 'TXT');
    await lookup('a.example', 'TXT');
    await lookup('b.example', 'TXT');
    expect(asked).toEqual(['TXT a.example', 'TXT a.example', 'TXT b.example', 'TXT c.example', 'TXT b.example']);
    // The type is part of the key.
    await lookup('a.example', 'A');
    expect(asked.at(-1)).toBe('A a.example');
  });

  it('does not keep a failure that is not an answer: a timeout or SERVFAIL is asked again', async () => {
    const asked: string[] = [];
    const failures = ['ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED'];
    const lookup = cachedLookup(async (name: string) => {
      asked.push(name);
      const failure = failures.shift();
      if (failure !== undefined) throw dnsError(failure);
      return [['at last']];
    }, { maxEntries: 10, ttlMs: 60_000 });
    for (const code of ['ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED']) await expect(lookup('flaky.example', 'TXT')).rejects.toMatchObject({ code });
    expect(await lookup('flaky.example', 'TXT')).toEqual([['at last']]);
    expect(await lookup('flaky.example', 'TXT')).toEqual([['at last']]);
    expect(asked).toHaveLength(4);
  });
});
