import { describe, expect, it } from 'vitest';
import { formatField, HeaderValueError, oneLine, prefixField } from '../../src/mail/header-field.js';
import { buildNotice } from '../../src/mail/notice.js';
import { RawMessage } from '../../src/mail/raw-message.js';

const lines = (raw: Buffer): string[] => raw.toString('latin1').split('\r\n').slice(0, -1);

describe('formatField, the one header writer', () => {
  it('refuses CR, LF and NUL in a value with a typed error naming the field', () => {
    for (const value of ['[X]\r\nBcc: victim@evil.example', 'a\nBcc: v@evil.example', 'a\rX-Inj: 1', 'a\0b']) {
      let caught: unknown;
      try {
        formatField('Subject', value);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(HeaderValueError);
      expect((caught as HeaderValueError).code).toBe('SY_HEADER_VALUE');
      expect((caught as HeaderValueError).message).toContain('Subject');
    }
    expect(() => formatField('Bad:Name', 'x')).toThrow(HeaderValueError);
  });

  it('folds long values at 78 columns and never writes a line over 998 octets, even for one unbroken run', () => {
    const folded = formatField('Subject', `long ${'word '.repeat(60)}end`);
    for (const line of lines(folded.raw)) expect(line.length).toBeLessThanOrEqual(78);
    expect(RawMessage.parse(Buffer.concat([folded.raw, Buffer.from('\r\n')])).get('subject')).toBe(`long ${'word '.repeat(60)}end`);

    const run = 'x'.repeat(2_000);
    const written = formatField('X-Token', run);
    for (const line of lines(written.raw)) expect(line.length).toBeLessThanOrEqual(998);
    expect(RawMessage.parse(Buffer.concat([written.raw, Buffer.from('\r\n')])).decoded('x-token')).toBe(run);
  });

  it('RFC 2047-encodes non-ASCII text, as ASCII only bytes, decoding back to the text', () => {
    const field = formatField('Subject', 'Grüße aus Köln, ' + 'ünd '.repeat(30));
    expect(/^[\x20-\x7e\r\n\t]*$/.test(field.raw.toString('latin1'))).toBe(true);
    for (const line of lines(field.raw)) expect(line.length).toBeLessThanOrEqual(78);
    expect(RawMessage.parse(Buffer.concat([field.raw, Buffer.from('\r\n')])).decoded('subject')).toBe('Grüße aus Köln, ' + 'ünd '.repeat(30).trim());
  });

  it('writes the line ending asked for', () => {
    expect(formatField('X-A', `v ${'w '.repeat(50)}`, '\n').raw.toString()).not.toContain('\r');
  });

  it('prefixField refuses a line break in the prefix and keeps the rest of the field byte for byte', () => {
    const raw = Buffer.from('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n  folded \xe9\r\n', 'latin1');
    const field = { name: 'Subject', key: 'subject', raw };
    expect(prefixField(field, '[Team] ').raw.toString('latin1')).toBe('Subject: [Team] =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n  folded \xe9\r\n');
    expect(() => prefixField(field, '[X]\r\nBcc: victim@evil.example\r\nX-Inj: 1 ')).toThrow(HeaderValueError);
  });

  it('oneLine makes text from a message fit for a value: controls become one space', () => {
    expect(oneLine('Evil\r\nBcc: v@x.example\0\x01end\ttab')).toBe('Evil Bcc: v@x.example end\ttab');
  });

  it('notices write message-derived subjects as one line, never a new field', () => {
    const bytes = buildNotice({ from: 'team-owner@lists.example.net', to: ['ann@example.org'], subject: 'held: Evil\r\nBcc: victim@example.com', text: 'x', inReplyTo: '<a@b>\nX-Injected: 1' });
    const header = bytes.toString('latin1').split('\r\n\r\n')[0]!;
    for (const line of header.split('\r\n')) expect(line).not.toMatch(/^(bcc|x-injected):/i);
    expect(RawMessage.parse(bytes).get('subject')).toBe('held: Evil Bcc: victim@example.com');
  });
});
