import { describe, expect, it } from 'vitest';
import { encodeBareCarriageReturns } from '../../src/mail/bare-cr.js';
import { normaliseHeaderLineEndings, strayLineBreaks } from '../../src/mail/header-line-endings.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';

/** The header lines an SMTP hand-off would put on the wire: every bare CR and bare LF becomes CRLF. */
function wireHeaderLines(bytes: Buffer): string[] {
  const text = bytes.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
}

describe('normaliseHeaderLineEndings', () => {
  const body = Buffer.from('body line\rwith a bare CR\nand a bare LF\r\n', 'latin1');
  const cases: Array<[string, string]> = [
    ['bare LF in a quoted From display name (CRLF message)', 'From: "Evil\nBcc: victim@example.com" <a@b.example>\r\nSubject: hi\r\n'],
    ['bare CR in a quoted From display name', 'From: "Evil\rBcc: victim@example.com" <a@b.example>\r\nSubject: hi\r\n'],
    ['bare CR in a Subject', 'From: a@b.example\r\nSubject: hi\rX-Injected: 1\r\n'],
    ['bare CR in an LF message', 'From: a@b.example\nSubject: hi\rX-Injected: 1\n'],
  ];
  for (const [name, header] of cases) {
    it(`${name}: becomes a space, never a new field; the body stays byte for byte`, () => {
      const eol = header.includes('\r\n') ? '\r\n' : '\n';
      const input = Buffer.concat([Buffer.from(`${header}${eol}`, 'latin1'), body]);
      expect(strayLineBreaks(input).length).toBeGreaterThan(0);
      const { message, repaired } = normaliseHeaderLineEndings(input);
      expect(repaired).toBeGreaterThan(0);
      expect(strayLineBreaks(message)).toEqual([]);
      for (const line of wireHeaderLines(message)) expect(line).not.toMatch(/^(bcc|x-injected):/i);
      expect(RawMessage.parse(message).body.equals(body)).toBe(true);
      expect(RawMessage.parse(message).getAll('bcc')).toEqual([]);
    });
  }

  it('a stray followed by white space becomes a fold in the message own line ending', () => {
    const { message } = normaliseHeaderLineEndings(Buffer.from('Subject: a\n b\r\nTo: x@y.example\r\n\r\nbody\n'));
    expect(message.toString()).toBe('Subject: a\r\n b\r\nTo: x@y.example\r\n\r\nbody\n');
  });

  it('leaves well-formed CRLF and LF messages as they are (the same buffer)', () => {
    for (const text of ['From: a@b.example\r\nSubject: x\r\n y\r\n\r\nbody\rcr\n', 'From: a@b.example\nSubject: x\n\nbody\r\n', 'no header\rat all\n']) {
      const input = Buffer.from(text, 'latin1');
      expect(normaliseHeaderLineEndings(input).message).toBe(input);
    }
  });
});

describe('encodeBareCarriageReturns', () => {
  it('re-encodes an 8-bit text body holding bare CRs as quoted-printable that decodes to the same bytes', () => {
    const body = Buffer.from('Grüße\rnoch eine Zeile\r\nlast line without newline', 'utf8');
    const input = Buffer.concat([Buffer.from('From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), body]);
    const { message, reencoded } = encodeBareCarriageReturns(RawMessage.parse(input));
    expect(reencoded).toBe(1);
    expect(message.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(message.body.toString('latin1')).not.toMatch(/\r(?!\n)/);
    expect(decodeQuotedPrintable(message.body).equals(body)).toBe(true);
  });

  it('in a multipart, re-encodes only the part with the bare CR; other parts and delimiters stay byte for byte', () => {
    const plain = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nclean part\r\n';
    const dirty = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ndirty\r--b1--\r\n';
    const input = Buffer.from(`From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n${plain}--b1\r\n${dirty}--b1--\r\n`, 'latin1');
    const { message, reencoded } = encodeBareCarriageReturns(RawMessage.parse(input));
    expect(reencoded).toBe(1);
    const text = message.toBuffer().toString('latin1');
    expect(text).toContain(`--b1\r\n${plain}--b1\r\n`);
    expect(text).toContain('dirty=0D--b1--');
    expect(text).not.toMatch(/\r(?!\n)/);
  });
});
