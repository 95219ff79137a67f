/**
 * `[dkim]` and `[dns]` in the schema: what is refused (with the key named),
 * what the defaults are (signing off; the system's resolver), and which
 * signing domain a list gets.
 */
import { describe, expect, it } from 'vitest';
import { signingDomainFor } from '../../src/config/dkim-schema.js';
import { parseConfig } from '../../src/config/load.js';

const refused = (toml: string): string => {
  try {
    parseConfig(toml, 'switchyard.toml');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('[dkim] and [dns]', () => {
  it('defaults: no signing domain, the default signed fields, the system resolver with a 5 s timeout and a 10,000-answer cache kept 5 minutes', () => {
    const { config } = parseConfig('', 'switchyard.toml');
    expect(config.dkim.domains).toEqual({});
    expect(config.dkim.signedHeaders).toEqual(['From', 'To', 'Subject', 'Date', 'Message-ID', 'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post']);
    expect(config.dns).toEqual({ servers: [], timeout: 5000, cacheSize: 10_000, cacheTtl: 300_000 });
  });

  it('a domain entry: keys as paths or { file, selector }, the domain lower-cased; the list domain picks its signing domain', () => {
    const { config } = parseConfig(
      '[dkim.domains."Example.ORG"]\nselector = "r1"\nkeys = ["a.pem", { file = "b.pem", selector = "e1" }]\nlistDomains = ["lists.example.org"]\n',
      'switchyard.toml',
    );
    expect(config.dkim.domains['example.org']!.keys).toEqual([{ file: 'a.pem', selector: 'r1' }, { file: 'b.pem', selector: 'e1' }]);
    expect(signingDomainFor(config.dkim, 'example.org')).toBe('example.org');
    expect(signingDomainFor(config.dkim, 'Lists.Example.org')).toBe('example.org');
    expect(signingDomainFor(config.dkim, 'other.example.org')).toBeUndefined();
  });

  it('refuses two keys under one selector, a bad selector or domain, three keys, a list domain claimed twice, signed fields without From, a bad DNS server', () => {
    expect(refused('[dkim.domains."a.org"]\nselector = "s"\nkeys = ["a.pem", "b.pem"]\n')).toMatch(/dkim\.domains\.a\.org\.keys: two keys need two selectors/);
    expect(refused('[dkim.domains."a.org"]\nselector = "bad selector"\nkeys = ["a.pem"]\n')).toMatch(/selector: a selector/);
    expect(refused('[dkim.domains."not a domain"]\nselector = "s"\nkeys = ["a.pem"]\n')).toMatch(/a domain name/);
    expect(refused('[dkim.domains."a.org"]\nselector = "s"\nkeys = ["a.pem", "b.pem", "c.pem"]\n')).toMatch(/keys/);
    expect(refused('[dkim.domains."a.org"]\nselector = "s"\nkeys = ["a.pem"]\nlistDomains = ["l.org"]\n[dkim.domains."b.org"]\nselector = "s"\nkeys = ["b.pem"]\nlistDomains = ["l.org"]\n')).toMatch(/l\.org is signed by a\.org already/);
    expect(refused('[dkim]\nsignedHeaders = ["Subject"]\n')).toMatch(/must include From/);
    expect(refused('[dns]\nservers = ["dns.example.org"]\n')).toMatch(/dns\.servers\.0: an IP address/);
  });
});
