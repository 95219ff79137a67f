import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, formatCsvRecord, parseCsvRecord } from '../../src/store/csv.js';
import { countMemberRows, formatMemberLine, isHeaderLine, MemberImportHeaderError, parseHeader, parseMemberLine } from '../../src/store/member-import.js';

describe('CSV records (RFC 4180)', () => {
  it.each([
    ['a,b', ['a', 'b']],
    ['a, b ', ['a', 'b']],
    ['"a,b",c', ['a,b', 'c']],
    ['"say ""hi""",x', ['say "hi"', 'x']],
    ['a,"b"', ['a', 'b']],
    ['a, "b, c"', ['a', 'b, c']],
    ['a,', ['a', '']],
    ['"",""', ['', '']],
    ['single', ['single']],
  ])('parses %j', (line, fields) => {
    expect(parseCsvRecord(line)).toEqual(fields);
  });

  it.each([
    ['"open,b', 'unterminated'],
    ['"a"x,b', 'after a quoted field'],
    ['a"b,c', 'quote inside an unquoted field'],
  ])('rejects %j (%s)', (line, problem) => {
    expect(() => parseCsvRecord(line)).toThrow(CsvSyntaxError);
    expect(() => parseCsvRecord(line)).toThrow(problem);
  });

  it.each([[['a', 'b']], [['a,b', 'say "hi"']], [[' edge ', '']], [['x@example.org', 'Example, Anne "A"']]])('formats %j so that it parses back', (fields) => {
    expect(parseCsvRecord(formatCsvRecord(fields))).toEqual(fields);
  });
});

describe('member file lines', () => {
  it.each([
    ['anne@example.org', 'anne@example.org', ''],
    ['  anne@example.org  ', 'anne@example.org', ''],
    ['anne@example.org,Anne Example', 'anne@example.org', 'Anne Example'],
    ['"anne@example.org","Example, Anne"', 'anne@example.org', 'Example, Anne'],
    ['Anne Example <anne@example.org>', 'anne@example.org', 'Anne Example'],
    ['"Example, Anne" <anne@example.org>', 'anne@example.org', 'Example, Anne'],
    ['"a,b"@example.org', '"a,b"@example.org', ''],
  ])('reads %j', (line, address, displayName) => {
    expect(parseMemberLine(line)).toEqual({ skip: false, member: { address, displayName } });
  });

  it.each([[''], ['   '], ['# a comment']])('skips %j', (line) => {
    expect(parseMemberLine(line)).toEqual({ skip: true });
  });

  it('skips a CSV header only on the first line, and a BOM there', () => {
    expect(parseMemberLine('address,name', 1)).toEqual({ skip: true });
    expect(parseMemberLine('\uFEFFemail', 1)).toEqual({ skip: true });
    expect(parseMemberLine('\uFEFFanne@example.org', 1)).toEqual({ skip: false, member: { address: 'anne@example.org', displayName: '' } });
    expect(parseMemberLine('address,name', 2)).toMatchObject({ skip: false, problem: expect.stringContaining('no @') });
  });

  it.each([
    ['not an address', 'no @'],
    ['an ne@example.org', 'space in local part'],
    ['anne@example.org,Anne,extra', '3 fields'],
    ['"anne@example.org,Anne', 'unterminated'],
    ['anne@example.org,Anne\x1b[2J', 'control character'],
  ])('reports %j as invalid (%s)', (line, problem) => {
    const parsed = parseMemberLine(line);
    expect(parsed).toMatchObject({ skip: false });
    expect('problem' in parsed && parsed.problem).toContain(problem);
  });

  it('reads a header naming the columns in any order and spelling, and refuses one naming an unknown or repeated column', () => {
    expect(isHeaderLine('\uFEFFEmail,Name')).toBe(true);
    expect(isHeaderLine('anne@example.org,address')).toBe(false);
    expect(isHeaderLine('Name,E-Mail,delivery_mode')).toBe(true);
    expect(isHeaderLine('Name,Delivery')).toBe(false);
    expect(parseHeader('Name,E-Mail')).toMatchObject({ address: 1, name: 0, count: 2, legacy: false });
    expect(parseMemberLine('"Example, Anne",anne@example.org', 2, parseHeader('Name,E-Mail'))).toEqual({ skip: false, member: { address: 'anne@example.org', displayName: 'Example, Anne' } });
    const columns = parseHeader('address,delivery_status,Display Name,deliveryMode');
    expect(columns).toMatchObject({ address: 0, deliveryStatus: 1, name: 2, deliveryMode: 3, count: 4, legacy: false });
    expect(parseMemberLine('anne@example.org,on,"Example, Anne",plain', 2, columns)).toEqual({
      skip: false,
      member: { address: 'anne@example.org', displayName: 'Example, Anne', deliveryMode: 'plain_digests', deliveryStatus: 'enabled' },
    });
    expect(parseMemberLine('anne@example.org,by_bounces', 2, columns)).toMatchObject({ code: 'SY_MEMBER_IMPORT_FIELD', address: 'anne@example.org' });
    expect(parseMemberLine('anne@example.org,,,sometimes', 2, columns)).toMatchObject({ code: 'SY_MEMBER_IMPORT_FIELD', problem: expect.stringContaining('delivery_mode "sometimes"') });
    expect(parseMemberLine('anne@example.org,,,,extra', 2, columns)).toMatchObject({ code: 'SY_MEMBER_IMPORT_FIELD', problem: expect.stringContaining('found 5 fields') });
    expect(parseMemberLine('"anne@example.org,x', 2, columns)).toMatchObject({ code: 'SY_CSV_SYNTAX', address: null });
    expect(() => parseHeader('address,shoe')).toThrow(MemberImportHeaderError);
    expect(() => parseHeader('address,email')).toThrow('given twice');
    expect(() => parseHeader('email,name,address')).toThrow('given twice');
    expect(() => parseHeader('name,delivery_mode')).toThrow('no address column');
    expect(countMemberRows(['address,name', 'a@example.org', '', '# c', 'b@example.org'])).toBe(2);
    expect(countMemberRows(['a@example.org', 'b@example.org'])).toBe(2);
  });

  it('formats members so that they read back', () => {
    for (const member of [
      { address: 'anne@example.org', displayName: '' },
      { address: 'anne@example.org', displayName: 'Example, "Anne"' },
      { address: '"a,b"@example.org', displayName: 'x' },
    ]) {
      expect(parseMemberLine(formatMemberLine(member, 'csv'))).toEqual({ skip: false, member });
      expect(parseMemberLine(formatMemberLine(member, 'lines'))).toEqual({ skip: false, member: { address: member.address, displayName: '' } });
    }
  });
});
