/**
 * The decorate handler (src/mail/decoration.ts) on each MIME shape: where the
 * header and footer go, in which charset and transfer encoding, and that
 * every part it did not edit keeps its exact bytes. Then bad input: every
 * handler gives a defined result on broken MIME, unknown charsets, 8-bit
 * headers, no headers, 10,000 headers and a 25 MB attachment.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HANDLERS, runPipeline } from '../../runners/incoming/pipeline.js';
import { decodeBase64, decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { directParts, leafParts, loadMessage, makeFixture, type Eol, type Fixture } from './support.js';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const HEADER = 'Welcome to {displayName}';
const FOOTER = '-- \nTest list: {list}';
const FOOTER_TEXT = '-- \nTest list: test@lists.example.org';

async function decorated(name: string, eol: Eol, header = HEADER, footer = FOOTER): Promise<{ input: Buffer; output: RawMessage }> {
  fixture ??= await makeFixture({ headerText: header, footerText: footer });
  const input = await loadMessage(name, eol);
  const ctx = await fixture.context(input);
  await HANDLERS.decorate!(ctx);
  return { input, output: ctx.message };
}

function sameFields(input: Buffer, output: RawMessage): boolean {
  const a = RawMessage.parse(input).fields.map((f) => f.raw.toString('latin1'));
  return a.join('') === output.fields.map((f) => f.raw.toString('latin1')).join('');
}

describe.each(['lf', 'crlf'] as Eol[])('decorate with %s line endings', (eol) => {
  const nl = eol === 'crlf' ? '\r\n' : '\n';

  it('lone 7bit text/plain: header before and footer after the body, header block unchanged', async () => {
    const { input, output } = await decorated('plain-ascii.eml', eol);
    const body = RawMessage.parse(input).body;
    expect(sameFields(input, output)).toBe(true);
    expect(output.body.equals(Buffer.concat([Buffer.from(`Welcome to Test${nl}`), body, Buffer.from(`-- ${nl}Test list: test@lists.example.org${nl}`)]))).toBe(true);
  });

  it('lone 8bit ISO-8859-1 part: a Latin-1 footer is appended in ISO-8859-1', async () => {
    const { input, output } = await decorated('latin1-8bit.eml', eol, '', 'Grüße von der Liste');
    const body = RawMessage.parse(input).body;
    expect(output.body.subarray(0, body.length).equals(body)).toBe(true);
    expect(output.body.subarray(body.length).equals(Buffer.from(`Grüße von der Liste${nl}`, 'latin1'))).toBe(true);
  });

  it('a footer the part\'s charset cannot carry: wrapped in multipart/mixed, the original part byte for byte', async () => {
    const { input, output } = await decorated('latin1-8bit.eml', eol, '', 'Liste ☕');
    expect(output.get('content-type')).toMatch(/^multipart\/mixed/);
    const parts = directParts(output.toBuffer());
    expect(parts).toHaveLength(2);
    const original = RawMessage.parse(parts[0]!);
    expect(original.body.equals(RawMessage.parse(input).body)).toBe(true);
    expect(original.get('content-type')).toBe('text/plain; charset=ISO-8859-1');
    const footer = RawMessage.parse(parts[1]!);
    expect(footer.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(decodeQuotedPrintable(footer.body).toString('utf8')).toBe('Liste ☕');
  });

  it('quoted-printable UTF-8 part: decoded, decorated, re-encoded; the decoded original is intact', async () => {
    const { input, output } = await decorated('qp-utf8.eml', eol, '', 'Liste — café');
    expect(sameFields(input, output)).toBe(true);
    const before = decodeQuotedPrintable(RawMessage.parse(input).body).toString('utf8');
    const after = decodeQuotedPrintable(output.body).toString('utf8');
    expect(after).toBe(`${before}Liste — café${nl}`);
    for (const line of output.body.toString('latin1').split(nl)) expect(line.length).toBeLessThanOrEqual(76);
  });

  it('base64 text part: decoded, decorated (CRLF inside), re-encoded', async () => {
    const { output } = await decorated('base64-text.eml', eol, '', 'Füßzeile');
    expect(decodeBase64(output.body).toString('utf8')).toBe('Hello from a base64 body.\nSecond line with ümlauts.\nFüßzeile\n');
  });

  it('multipart/mixed: header and footer parts spliced in; every existing part and the epilogue byte for byte', async () => {
    const { input, output } = await decorated('mixed-attachment.eml', eol);
    expect(sameFields(input, output)).toBe(true);
    const before = directParts(input);
    const after = directParts(output.toBuffer());
    expect(after).toHaveLength(before.length + 2);
    before.forEach((part, i) => expect(after[i + 1]!.equals(part)).toBe(true));
    expect(RawMessage.parse(after[0]!).body.toString()).toBe('Welcome to Test');
    expect(RawMessage.parse(after[after.length - 1]!).body.toString()).toBe(FOOTER_TEXT.replace(/\n/g, nl));
    expect(output.body.toString('latin1').endsWith(`------=_Part_0_1234.5678--${nl}${nl}epilogue text${nl}`)).toBe(true);
  });

  it('multipart/alternative: wrapped; the alternative (headers and body) is one part, its bytes unchanged', async () => {
    const { input, output } = await decorated('alternative.eml', eol);
    const parts = directParts(output.toBuffer());
    expect(parts).toHaveLength(3);
    const inner = RawMessage.parse(parts[1]!);
    expect(inner.get('content-type')).toBe('multipart/alternative; boundary="b1_alt"');
    expect(inner.body.equals(RawMessage.parse(input).body)).toBe(true);
    for (const leaf of leafParts(input)) expect(leafParts(output.toBuffer()).some((p) => p.equals(leaf))).toBe(true);
    expect(output.get('mime-version')).toBe('1.0');
    expect(output.getAll('content-type')).toHaveLength(1);
  });

  it('multipart/signed: never edited inside, only wrapped; the signed part and signature byte for byte', async () => {
    const { input, output } = await decorated('signed.eml', eol);
    const inner = RawMessage.parse(directParts(output.toBuffer())[1]!);
    expect(inner.get('content-type')).toMatch(/^multipart\/signed; micalg=pgp-sha256;/);
    expect(inner.body.equals(RawMessage.parse(input).body)).toBe(true);
    const signedLeaves = leafParts(input);
    expect(signedLeaves).toHaveLength(2);
    for (const leaf of signedLeaves) expect(leafParts(output.toBuffer()).some((p) => p.equals(leaf))).toBe(true);
  });

  it('the same message decorated twice (an entry re-run after a crash) gives the same bytes', async () => {
    const first = (await decorated('signed.eml', eol)).output.toBuffer();
    const second = (await decorated('signed.eml', eol)).output.toBuffer();
    expect(second.equals(first)).toBe(true);
  });
});

describe('bad input: every handler gives a defined result', () => {
  const ALL = ['cleanse', 'subject-prefix', 'list-headers', 'reply-to', 'to-archive', 'dmarc', 'decorate', 'to-outgoing'];

  async function pipeline(input: Buffer, settings = {}) {
    fixture ??= await makeFixture({ headerText: 'H', footerText: 'F', dmarcMitigateUnconditionally: true, ...settings }, ['m@example.com']);
    const ctx = await fixture.context(input);
    await runPipeline(ctx, ALL);
    return ctx;
  }

  it('multipart/mixed without its close delimiter: left undecorated, logged', async () => {
    const input = await loadMessage('broken-unclosed.eml');
    const ctx = await pipeline(input);
    expect(ctx.message.body.equals(RawMessage.parse(input).body)).toBe(true);
    expect(fixture!.lines.some((l) => l.msg === 'decorate: message left undecorated' && l.reason === 'multipart/mixed without its close delimiter')).toBe(true);
    expect(ctx.outgoing).toBeDefined();
  });

  it('multipart without a boundary parameter: left undecorated, logged', async () => {
    const input = await loadMessage('broken-no-boundary.eml');
    const ctx = await pipeline(input);
    expect(ctx.message.body.equals(RawMessage.parse(input).body)).toBe(true);
    expect(fixture!.lines.some((l) => l.msg === 'decorate: message left undecorated')).toBe(true);
  });

  it('an unknown charset: the text part is not edited but wrapped, its bytes unchanged', async () => {
    const input = await loadMessage('unknown-charset.eml');
    const ctx = await pipeline(input);
    const inner = RawMessage.parse(directParts(ctx.message.toBuffer())[1]!);
    expect(inner.body.equals(RawMessage.parse(input).body)).toBe(true);
    expect(inner.get('content-type')).toBe('text/plain; charset=x-no-such-charset');
  });

  it('8-bit (non-UTF-8) header bytes are kept as they are through the whole pipeline', async () => {
    const input = await loadMessage('latin1-8bit.eml');
    const ctx = await pipeline(input);
    const raw = (m: RawMessage) => m.fields.find((f) => f.key === 'x-raw-8bit')!.raw;
    expect(raw(ctx.message).equals(raw(RawMessage.parse(input)))).toBe(true);
  });

  it('a message with no header at all: prefixed subject and list fields added, body kept', async () => {
    const input = await loadMessage('no-headers.eml');
    const ctx = await pipeline(input, { dmarcMitigateUnconditionally: false });
    expect(ctx.message.get('subject')).toBe('[Test] (no subject)');
    expect(ctx.message.get('list-id')).toBe('Test <test.lists.example.org>');
    expect(ctx.message.body.toString()).toBe('H\njust a body line without any header\nand another\nF\n');
  });

  it('a message without From under DMARC mitigation: left as it is, logged', async () => {
    const input = await loadMessage('no-headers.eml');
    await pipeline(input);
    expect(fixture!.lines.some((l) => l.msg === 'dmarc: no readable From address; post left as it is')).toBe(true);
  });

  // How long these two take is `npm run bench -- pipeline`'s (hostile sizes), not a test's.
  it('10,000 header fields: processed, all kept', async () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `X-Filler-${i}: value ${i}\r\n`).join('');
    const input = Buffer.from(`From: a@example.com\r\nSubject: many\r\n${lines}\r\nbody\r\n`);
    const ctx = await pipeline(input);
    expect(ctx.message.fields.filter((f) => f.key.startsWith('x-filler-'))).toHaveLength(10_000);
  });

  it('a 25 MB attachment: spliced around, its bytes unchanged', async () => {
    const attachment = Buffer.alloc(25 * 1024 * 1024, 'QUJD');
    const b64 = attachment.toString('latin1').match(/.{1,76}/g)!.join('\r\n');
    const input = Buffer.from(
      `From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--XX--\r\n`,
      'latin1',
    );
    const ctx = await pipeline(input);
    const before = directParts(input);
    const after = directParts(ctx.message.toBuffer());
    expect(after[2]!.equals(before[1]!)).toBe(true);
  });

  it('a subject with broken encoded words and raw 8-bit bytes: prefix inserted, rest byte for byte', async () => {
    const input = Buffer.concat([Buffer.from('From: a@example.com\r\nSubject: =?utf-8?q?broken '), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n\r\nbody\r\n')]);
    const ctx = await pipeline(input, { dmarcMitigateUnconditionally: false, headerText: '', footerText: '' });
    const subject = ctx.message.fields.find((f) => f.key === 'subject')!.raw;
    expect(subject.equals(Buffer.concat([Buffer.from('Subject: [Test] =?utf-8?q?broken '), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n')]))).toBe(true);
  });
});
