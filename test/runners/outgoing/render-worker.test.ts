/**
 * The render worker's rules, called in process: where the added header
 * fields and the footer go, in the message's own line endings, and when the
 * footer is left out (not plain text, an encoded body, a footer the charset
 * cannot carry).
 */
import { describe, expect, it } from 'vitest';
import render, { type Personalize } from '../../../runners/outgoing/render-worker.js';

async function copy(message: string, personalize: Personalize, address = 'a@example.org'): Promise<string> {
  const [parts] = await render({ message: Buffer.from(message, 'utf8'), recipients: [address], list: 'l@lists.example', personalize });
  return Buffer.concat([parts!.head, Buffer.from(message, 'utf8'), parts!.foot]).toString('utf8');
}

describe('render-worker', async () => {
  it('fills {address} and {list} in header values and the footer, every occurrence, per recipient', async () => {
    const [one, two] = await render({
      message: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
      recipients: ['a@example.org', 'b@example.net'],
      list: 'l@lists.example',
      personalize: { headers: { 'X-To': '{address} via {list} ({address})' }, footer: '{list}: {address}' },
    });
    expect(Buffer.from(one!.head).toString()).toBe('X-To: a@example.org via l@lists.example (a@example.org)\r\n');
    expect(Buffer.from(two!.foot).toString()).toBe('l@lists.example: b@example.net\r\n');
  });

  it('keeps a message stored with LF line endings in LF, and ends an unterminated body before the footer', async () => {
    expect(await copy('Subject: x\n\nno newline at the end', { headers: { 'X-A': '1' }, footer: 'foot\r\nline 2' })).toBe('X-A: 1\nSubject: x\n\nno newline at the end\nfoot\nline 2\n');
  });

  it('adds no footer to text/html, quoted-printable, or a message without a body, but still the headers', async () => {
    const p: Personalize = { headers: { 'X-A': '1' }, footer: 'foot' };
    const html = 'Content-Type: text/html\r\n\r\n<p>x</p>\r\n';
    const qp = 'Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx=3D\r\n';
    expect(await copy(html, p)).toBe(`X-A: 1\r\n${html}`);
    expect(await copy(qp, p)).toBe(`X-A: 1\r\n${qp}`);
    expect(await copy('Subject: only headers\r\n', p)).toBe('X-A: 1\r\nSubject: only headers\r\n');
  });

  it('a non-ASCII footer goes only into a utf-8 8bit body; a non-ASCII header value becomes an RFC 2047 encoded word', async () => {
    const p: Personalize = { headers: { 'X-Name': 'Zoë' }, footer: 'Grüße' };
    expect(await copy('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nx\r\n', p)).toMatch(/x\r\nGrüße\r\n$/);
    expect(await copy('Content-Type: text/plain; charset=us-ascii\r\n\r\nx\r\n', p)).toMatch(/\r\n\r\nx\r\n$/);
    expect((await copy('Subject: s\r\n\r\nx\r\n', p)).split('\r\n')[0]).toBe('X-Name: =?UTF-8?Q?Zo=C3=AB?=');
    // Long values are folded (78 columns), never one overlong encoded word.
    const long = await copy('Subject: s\r\n\r\nx\r\n', { headers: { 'X-Name': 'Zoë '.repeat(40) } });
    const fields = long.slice(0, long.indexOf('Subject:')).split('\r\n').filter((line) => line !== '');
    expect(fields.length).toBeGreaterThan(2);
    for (const line of fields) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of fields.slice(1)) expect(line.startsWith(' ')).toBe(true);
  });
});
