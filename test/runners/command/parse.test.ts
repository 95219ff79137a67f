/**
 * Finding email commands (runners/command/parse.ts) and the text they are
 * read from (runners/command/body-text.ts): Subject with Re:, quoted
 * replies, stops at the first non-command line, the signature and `end`,
 * and bounded work on bad input.
 */
import { describe, expect, it } from 'vitest';
import { bodyText } from '../../../runners/command/body-text.js';
import { parseCommands, stripReplyPrefixes } from '../../../runners/command/parse.js';
import { resolveCommandWord } from '../../../runners/command/registry.js';
import { RawMessage } from '../../../src/mail/raw-message.js';

const parse = (subject: string, text: string | null) => parseCommands(subject, text, resolveCommandWord);
const names = (subject: string, text: string | null) => parse(subject, text).commands.map((c) => `${c.name}${c.args.length ? ` ${c.args.join(' ')}` : ''}`);

describe('command parsing', () => {
  it('reads the Subject without Re:/Fwd:/AW: prefixes, then body lines until the first non-command line', () => {
    expect(stripReplyPrefixes('Re: AW: Fwd: confirm abc')).toBe('confirm abc');
    expect(names('Re: confirm 0123456789abcdef', 'help\ninfo\nHello, I would like\nwho\n')).toEqual(['confirm 0123456789abcdef', 'help', 'info']);
  });

  it('aliases resolve to the registry name; case does not matter; digest= is passed as an argument', () => {
    expect(names('', 'SUBSCRIBE digest=mime\nUnsubscribe\nStop\nhelp')).toEqual(['join digest=mime', 'leave', 'end']);
  });

  it('quoted lines (> confirm ...) are read without their quote marks; blank lines skipped; a subject that is no command is ignored', () => {
    expect(names('Question about the list', '\n\n> > confirm deadbeefdeadbeef\n\n>info\n')).toEqual(['confirm deadbeefdeadbeef', 'info']);
  });

  it('stops at the signature separator and at end', () => {
    expect(names('', 'help\n-- \ninfo')).toEqual(['help']);
    expect(names('', 'help\nend\ninfo')).toEqual(['help', 'end']);
    expect(names('end', 'help')).toEqual(['end']);
  });

  it('10,000 command lines: at most maxCommands run, the rest counted; duplicates run once; work bounded by maxLines', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `confirm ${i.toString(16).padStart(16, '0')}`).join('\n');
    const result = parse('', many);
    expect(result.commands).toHaveLength(20);
    // Lines read are capped (1000): of those, 20 run and the rest are counted as dropped.
    expect(result.dropped).toBe(980);
    expect(parse('', 'help\nhelp\nhelp').commands).toHaveLength(1);
    expect(parse('', 'help\nhelp\nhelp').duplicates).toBe(2);
  });

  it('an overlong line is not a command', () => {
    expect(names('', `help ${'x'.repeat(600)}\ninfo`)).toEqual([]);
  });
});

describe('command message text', () => {
  const message = (text: string) => RawMessage.parse(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'));

  it('the first text/plain part of a multipart/alternative, quoted-printable and charset decoded', () => {
    const found = bodyText(
      message(
        'From: a@example.org\nContent-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\njoin\nGr=FC=DFe\n--b\nContent-Type: text/html\n\n<p>leave</p>\n--b--\n',
      ),
    );
    expect(found.text).toBe('join\r\nGrüße');
  });

  it('base64 text is decoded; an HTML-only message has no text, and says why', () => {
    expect(bodyText(message(`Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n${Buffer.from('help\n').toString('base64')}\n`)).text).toBe('help\n');
    const html = bodyText(message('Content-Type: text/html\n\n<p>join</p>\n'));
    expect(html.text).toBeNull();
    expect(html).toMatchObject({ why: expect.stringContaining('no text/plain part') });
  });

  it('a 10 MB body and binary garbage are read only up to the caps', () => {
    const big = message(`Content-Type: text/plain\n\nhelp\n${'a'.repeat(10 * 1024 * 1024)}\n`);
    const text = bodyText(big).text!;
    expect(text.length).toBeLessThanOrEqual(64 * 1024);
    expect(text.startsWith('help')).toBe(true);
    const garbage = RawMessage.parse(Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 256)));
    const read = bodyText(garbage);
    expect(read.text === null || read.text.length <= 64 * 1024).toBe(true);
    expect(parse('', read.text).commands).toEqual([]);
  });

  it('a deeply nested multipart is searched only a few levels down', () => {
    let body = 'Content-Type: text/plain\n\nhelp\n';
    for (let depth = 0; depth < 10; depth++) body = `Content-Type: multipart/mixed; boundary="b${depth}"\n\n--b${depth}\n${body}--b${depth}--\n`;
    expect(bodyText(message(body)).text).toBeNull();
  });
});
