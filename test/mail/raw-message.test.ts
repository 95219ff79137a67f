import { describe, expect, it } from 'vitest';
import { RawMessage, formatField } from '../../src/mail/raw-message.js';
import { HeaderValueError } from '../../src/mail/header-field.js';
import { buildNotice } from '../../src/mail/notice.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\n/g, '\r\n'), 'utf8');

const POST = crlf(
  [
    'Received: from mx.example.org by lists.example.net; Mon, 2 Nov 2026 10:00:00 +0000',
    'From: Ann Example <ann@example.org>',
    'To: team@lists.example.net',
    'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from',
    '  the office',
    'X-Dup: one',
    'X-Dup: two',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Body line one',
    '',
    'Body line after an empty line',
    '',
  ].join('\n'),
);

describe('RawMessage', () => {
  it('round-trips CRLF, LF, 8-bit and binary messages byte for byte', () => {
    const samples = [
      POST,
      Buffer.from(POST.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
      Buffer.concat([Buffer.from('Subject: caf\xe9 8-bit\r\n\r\n', 'latin1'), Buffer.from([0, 1, 2, 255, 13, 10, 13, 10, 0])]),
      Buffer.from('no header at all, just text\nand more\n'),
      Buffer.from('Subject: only a header, no body'),
      Buffer.from(''),
      Buffer.from('\r\n\r\nbody after an empty header'),
    ];
    for (const sample of samples) expect(RawMessage.parse(sample).toBuffer().equals(sample)).toBe(true);
  });

  it('reads values unfolded and decodes encoded words on request', () => {
    const message = RawMessage.parse(POST);
    expect(message.fields.map((f) => f.key)).toEqual(['received', 'from', 'to', 'subject', 'x-dup', 'x-dup', 'content-type']);
    expect(message.get('subject')).toBe('=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from  the office');
    expect(message.decoded('Subject')).toBe('Grüße from  the office');
    expect(message.getAll('x-dup')).toEqual(['one', 'two']);
    expect(message.get('missing')).toBeUndefined();
    expect(message.eol).toBe('\r\n');
    expect(message.body.toString()).toBe('Body line one\r\n\r\nBody line after an empty line\r\n');
  });

  it('ends the header block at a line that is not a field, keeping it in the body', () => {
    const bytes = Buffer.from('Subject: hi\nthis is not a header\nSubject2: still body\n');
    const message = RawMessage.parse(bytes);
    expect(message.fields.map((f) => f.name)).toEqual(['Subject']);
    expect(message.body.toString()).toBe('this is not a header\nSubject2: still body\n');
    expect(message.toBuffer().equals(bytes)).toBe(true);
    expect(message.eol).toBe('\n');
  });

  it('rewrites fields without touching any other byte', () => {
    const message = RawMessage.parse(POST);
    const rewritten = message.set('Subject', '[team] Grüße').without('x-dup').append('List-Id', '<team.lists.example.net>').prepend('X-BeenThere', 'team@lists.example.net');
    const text = rewritten.toBuffer().toString('utf8');
    expect(text.startsWith('X-BeenThere: team@lists.example.net\r\nReceived: from mx.example.org')).toBe(true);
    expect(text).toContain('To: team@lists.example.net\r\nSubject: [team] =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type');
    expect(text).not.toContain('X-Dup');
    expect(rewritten.decoded('subject')).toBe('[team] Grüße');
    expect(rewritten.body.equals(message.body)).toBe(true);
    expect(rewritten.fields[1]!.raw.equals(message.fields[0]!.raw)).toBe(true);
  });

  it('writes fields in the message own line ending, folded, and never lets a value inject a field', () => {
    const lf = RawMessage.parse(Buffer.from('From: a@example.org\n\nbody\n'));
    const out = lf.append('Subject', `long ${'word '.repeat(30)}`).toBuffer().toString();
    expect(out).not.toContain('\r');
    for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(() => lf.append('X-Evil', 'a\r\nBcc: victim@example.org')).toThrow(HeaderValueError);
    expect(() => formatField('Bad Name', 'x')).toThrow(HeaderValueError);
  });

  it('adds a separator when fields are given to a message that had none', () => {
    const message = RawMessage.parse(Buffer.from('just a body line\n'));
    expect(message.fields).toHaveLength(0);
    const out = message.append('Subject', 'x').toBuffer().toString();
    expect(out).toBe('Subject: x\n\njust a body line\n');
  });
});

describe('buildNotice', () => {
  it('writes a complete auto-generated text/plain UTF-8 message that parses back', () => {
    const bytes = buildNotice({
      from: 'team-owner@lists.example.net',
      to: ['ann@example.org'],
      subject: 'Your post to Team awaits approval: Grüße',
      text: 'Hello,\nyour post is held.\n',
      inReplyTo: '<abc@example.org>',
      listId: 'team@lists.example.net',
      date: new Date('2026-11-02T10:00:00Z'),
    });
    const message = RawMessage.parse(bytes);
    expect(message.get('auto-submitted')).toBe('auto-generated');
    expect(message.decoded('subject')).toBe('Your post to Team awaits approval: Grüße');
    expect(message.get('date')).toBe('Mon, 02 Nov 2026 10:00:00 +0000');
    expect(message.get('message-id')).toMatch(/^<[0-9a-z]+\.[0-9a-f]{16}@lists\.example\.net>$/);
    expect(message.get('in-reply-to')).toBe('<abc@example.org>');
    expect(message.get('list-id')).toBe('<team.lists.example.net>');
    expect(message.body.toString()).toBe('Hello,\r\nyour post is held.\r\n');
    expect(bytes.includes('\n') && !/[^\r]\n/.test(bytes.toString('latin1'))).toBe(true);
    expect(() => buildNotice({ from: 'a@b.c', to: [], subject: 's', text: 't' })).toThrow(TypeError);
  });
});
