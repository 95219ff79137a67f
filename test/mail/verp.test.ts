/**
 * VERP bounce addresses: what the outgoing runner writes, the bounce
 * runner's parser reads back, for every recipient that can be carried.
 */
import { describe, expect, it } from 'vitest';
import { bouncesAddress, decodeVerp, encodeVerp } from '../../src/mail/verp.js';

describe('VERP', () => {
  it('encodes the recipient into the list bounces address as Mailman does', () => {
    expect(encodeVerp('test@lists.example.org', 'user@example.org')).toBe('test-bounces+user=example.org@lists.example.org');
    expect(bouncesAddress('test@lists.example.org')).toBe('test-bounces@lists.example.org');
  });

  it('round-trips recipients whose local parts hold +, =, dots and other atom characters', () => {
    const recipients = ['a@b.example', 'first.last@example.org', 'bob+tag@example.net', 'x=y@sub.example.com', 'a=b=c+d@x.example', "o'neil#1@example.co.uk", 'u@[192.0.2.1]', 'UPPER@Example.ORG'];
    for (const recipient of recipients) {
      const verp = encodeVerp('my-list@lists.example.org', recipient);
      expect(verp, recipient).toBeDefined();
      expect(decodeVerp(verp!)).toEqual({ listPosting: 'my-list@lists.example.org', recipient });
      expect(decodeVerp(`<${verp!}>`)).toEqual({ listPosting: 'my-list@lists.example.org', recipient });
    }
  });

  it('refuses recipients it cannot carry unquoted, so the caller falls back to the plain bounces address', () => {
    expect(encodeVerp('l@d.example', '"quoted local"@example.org')).toBeUndefined();
    expect(encodeVerp('l@d.example', 'no-at-sign')).toBeUndefined();
    expect(encodeVerp('l@d.example', 'a b@example.org')).toBeUndefined();
  });

  it('decodes nothing from addresses that are not VERP bounce addresses', () => {
    expect(decodeVerp('test-bounces@lists.example.org')).toBeUndefined();
    expect(decodeVerp('someone@example.org')).toBeUndefined();
    expect(decodeVerp('test-bounces+nodomain@lists.example.org')).toBeUndefined();
    expect(decodeVerp('test-bounces+user=@lists.example.org')).toBeUndefined();
  });
});
