/**
 * The DMARC policy lookup the posting chain can use (src/mail/dmarc-policy.ts),
 * with a stub TXT resolver standing in for DNS (no network in tests).
 */
import { describe, expect, it } from 'vitest';
import { lookupDmarcPolicy, organisationalDomain, type TxtResolver } from '../../src/mail/dmarc-policy.js';

function resolver(records: Record<string, string[][]>, failing: string[] = []): TxtResolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (name: string): Promise<string[][]> => {
    asked.push(name);
    if (failing.includes(name)) throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
    const found = records[name];
    if (found === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return found;
  };
  return Object.assign(resolve, { asked });
}

describe('lookupDmarcPolicy', () => {
  it('reads p= from the domain\'s own record (split TXT chunks joined)', async () => {
    const dns = resolver({ '_dmarc.example.com': [['v=spf1 -all'], ['v=DMARC1; p=rej', 'ect; rua=mailto:d@example.com']] });
    expect(await lookupDmarcPolicy('example.com', dns)).toBe('reject');
  });

  it('falls back to the organisational domain, whose sp= applies to subdomains', async () => {
    const dns = resolver({ '_dmarc.example.co.uk': [['v=DMARC1; p=reject; sp=quarantine']] });
    expect(await lookupDmarcPolicy('mail.example.co.uk', dns)).toBe('quarantine');
    expect(dns.asked).toEqual(['_dmarc.mail.example.co.uk', '_dmarc.example.co.uk']);
  });

  it('no record: none; a DNS failure: undefined (unknown)', async () => {
    expect(await lookupDmarcPolicy('example.net', resolver({}))).toBe('none');
    expect(await lookupDmarcPolicy('example.net', resolver({}, ['_dmarc.example.net']))).toBeUndefined();
  });

  it('approximates the organisational domain', () => {
    expect(organisationalDomain('a.b.example.org')).toBe('example.org');
    expect(organisationalDomain('mail.example.co.uk')).toBe('example.co.uk');
  });
});
