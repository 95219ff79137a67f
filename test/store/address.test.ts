import { describe, expect, it } from 'vitest';
import { addressProblem, asciiDomain, parseAddress, parseListAddress } from '../../src/store/address.js';
import { AddressInvalidError, ListNameInvalidError } from '../../src/store/errors.js';

describe('member addresses', () => {
  it.each([
    ['anne@example.org', 'anne@example.org'],
    ['Anne.Example@Example.ORG', 'Anne.Example@example.org'],
    ['user@bücher.example', 'user@xn--bcher-kva.example'],
    ['user@BÜCHER.example', 'user@xn--bcher-kva.example'],
    ['user+tag@sub.example.co.uk', 'user+tag@sub.example.co.uk'],
    ["o'brien!#$%&*/=?^_`{|}~-@example.org", "o'brien!#$%&*/=?^_`{|}~-@example.org"],
    ['"john doe"@example.org', '"john doe"@example.org'],
    ['"a@b"@example.org', '"a@b"@example.org'],
    ['"quote\\"d"@example.org', '"quote\\"d"@example.org'],
    ['jörg@example.org', 'jörg@example.org'],
    ['  padded@example.org  ', 'padded@example.org'],
    ['x@a-b.example', 'x@a-b.example'],
  ])('accepts %j as %j (local part case kept, domain lower-case ASCII)', (input, expected) => {
    const parsed = parseAddress(input);
    expect(parsed.address).toBe(expected);
    expect(parsed.key).toBe(expected.toLowerCase());
    expect(addressProblem(input)).toBeNull();
  });

  it.each([
    ['', 'empty'],
    ['anne', 'no @'],
    ['anne@', 'empty domain'],
    ['@example.org', 'empty local part'],
    ['an ne@example.org', 'space in local part'],
    ['anne@exa mple.org', 'space in domain'],
    ['anne\x00@example.org', 'control character'],
    ['anne@example.org\r\nBcc: x@y.org', 'control character'],
    ['anne\x1b[31m@example.org', 'control character'],
    ['.anne@example.org', 'leading, trailing or double dot'],
    ['anne.@example.org', 'leading, trailing or double dot'],
    ['an..ne@example.org', 'leading, trailing or double dot'],
    ['a@b@example.org', 'not allowed unquoted'],
    ['an(ne)@example.org', 'not allowed unquoted'],
    ['"unterminated@example.org', 'quoted local part'],
    ['anne@[192.0.2.1]', 'address literals'],
    ['anne@localhost', 'no dot'],
    ['anne@example.org.', 'ends with a dot'],
    ['anne@192.0.2.1', 'IP address'],
    ['anne@-example.org', 'not a valid host name'],
    ['anne@exa_mple.org', 'not a valid host name'],
    [`${'a'.repeat(65)}@example.org`, 'longer than 64'],
    [`anne@${'a'.repeat(250)}.org`, 'longer than 253'],
  ])('rejects %j (%s)', (input, reason) => {
    expect(addressProblem(input)).toContain(reason);
    expect(() => parseAddress(input)).toThrow(AddressInvalidError);
    try {
      parseAddress(input);
    } catch (error) {
      expect((error as AddressInvalidError).code).toBe('SY_ADDRESS_INVALID');
    }
  });

  // domainToASCII parses a URL host: these came back as `example.org`, and were stored so (issue 11 §6).
  it.each([
    'victim@example.org/../../etc',
    'victim@example.org?x',
    'victim@example.org#frag',
    'victim@ex%41mple.org',
    'victim@example.org\\x',
    'victim@example.org:25',
    'victim@example.org;x',
    'victim@example.org/',
  ])('refuses %j instead of cutting it down to a valid address', (input) => {
    expect(addressProblem(input)).toContain('not a valid host name');
    expect(() => parseAddress(input)).toThrow(AddressInvalidError);
  });

  it('keeps IDNA normalisation: an ideographic full stop and full-width letters are the same domain', () => {
    expect(parseAddress('anne@example\u3002org').address).toBe('anne@example.org');
    expect(parseAddress('anne@ｅｘａｍｐｌｅ.org').address).toBe('anne@example.org');
    expect(asciiDomain('Bücher.Example')).toBe('xn--bcher-kva.example');
    expect(asciiDomain('example.org/x')).toBeNull();
  });

  it('treats the same address in another case, or in Unicode and ASCII form, as one key', () => {
    expect(parseAddress('Anne@Bücher.Example').key).toBe(parseAddress('anne@xn--bcher-kva.example').key);
  });
});

describe('list addresses', () => {
  it.each([
    ['Dev@Lists.Example.ORG', 'dev@lists.example.org', 'dev'],
    ['a@example.org', 'a@example.org', 'a'],
    ['team.core_2-x@example.org', 'team.core_2-x@example.org', 'team.core_2-x'],
    ['news@bücher.example', 'news@xn--bcher-kva.example', 'news'],
  ])('accepts %j as %j', (input, address, name) => {
    expect(parseListAddress(input)).toMatchObject({ address, name });
  });

  it.each([
    ['dev', 'NAME@DOMAIN'],
    ['-dev@example.org', 'starting with a letter or digit'],
    ['.dev@example.org', 'starting with a letter or digit'],
    ['de v@example.org', '1-64 of'],
    ['../etc@example.org', 'starting with a letter or digit'],
    ['de/v@example.org', '1-64 of'],
    ['dev.@example.org', 'trailing or double dot'],
    [`${'a'.repeat(65)}@example.org`, '1-64 of'],
    ['dev-request@example.org', '-request'],
    ['dev-bounces@example.org', '-bounces'],
    ['dev@localhost', 'no dot'],
    ['x@lists.example.org/../../tmp', 'not a valid host name'],
    ['x@lists.example.org?', 'not a valid host name'],
    ['x@lists.ex%61mple.org', 'not a valid host name'],
  ])('rejects %j (%s)', (input, reason) => {
    expect(() => parseListAddress(input)).toThrow(ListNameInvalidError);
    expect(() => parseListAddress(input)).toThrow(reason);
  });
});
