/**
 * ARC sealing of bulk copies (runners/outgoing/sign-worker.ts with `arc`):
 * the ARC set and the DKIM signature the worker makes, checked by Debian's
 * arcverify (python3-dkim, test/fixtures/arcverify.py: the program itself
 * with its DNS answered from the records here) and by mailauth's ARC
 * verification; a second hop continues the chain with i=2; a change after
 * sealing breaks it. Personalised copies (render-worker.ts with `arc`) are
 * each sealed over their own bytes, header fields and footer included.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import sign, { type ArcSealSpec } from '../../../runners/outgoing/sign-worker.js';
import render from '../../../runners/outgoing/render-worker.js';
import { DEFAULT_SIGNED_HEADERS } from '../../../src/config/dkim-schema.js';
import { recordText } from '../../../src/mail/dkim/dns-record.js';
import { publicKeyValue } from '../../../src/mail/dkim/keys.js';
import type { SigningSpec } from '../../../src/mail/dkim/signer.js';
import { arcverify, mailauthArc, mailauthVerify, onTheWire, type Records } from '../../fixtures/dkim-verifiers.js';

const TIMEOUT = 60_000;
const RESULTS = 'lists.example.org; dkim=pass header.i=@author.example header.s=s1 header.a=rsa-sha256; spf=pass smtp.mailfrom=anne@author.example; dmarc=pass header.from=author.example';
let pem: string;
let records: Records;

beforeAll(() => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  records = { 'a1._domainkey.lists.example.org': recordText('rsa', publicKeyValue(pair.privateKey)) };
});

function dkim(): SigningSpec {
  return { domain: 'lists.example.org', keys: [{ algorithm: 'rsa-sha256', selector: 'a1', pem }], signedHeaders: [...DEFAULT_SIGNED_HEADERS] };
}

function arcSpec(cv: 'none' | 'pass'): ArcSealSpec {
  return { domain: 'lists.example.org', selector: 'a1', pem, authResults: RESULTS, cv };
}

function post(eol: string): Buffer {
  return Buffer.from(
    [
      `Authentication-Results: ${RESULTS}`,
      'From: Anne Author <anne@author.example>',
      'To: team@lists.example.org',
      'Subject: [team] sealed',
      'Date: Sat, 05 Dec 2026 10:00:00 +0000',
      'Message-ID: <arc@author.example>',
      'List-Id: <team.lists.example.org>',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Grüße, with a footer the list added.',
      '-- ',
      'team mailing list',
      '',
    ].join(eol),
    'utf8',
  );
}

async function sealed(message: Buffer, cv: 'none' | 'pass'): Promise<Buffer> {
  const result = await sign({ message, dkim: dkim(), arc: arcSpec(cv) });
  if ('error' in result) throw new Error(result.error);
  return Buffer.concat([result.fields, message]);
}

describe('ARC sealing of a bulk copy', () => {
  for (const eol of ['\r\n', '\n']) {
    it(`the first set (i=1, cv=none) verifies with arcverify and mailauth, DKIM still passes (${eol === '\n' ? 'LF' : 'CRLF'} post)`, async () => {
      const copy = onTheWire(await sealed(post(eol), 'none'));
      const head = copy.toString('latin1').split('\r\n\r\n')[0]!;
      // DKIM on top, then the ARC set, then the post.
      expect(head).toMatch(/^DKIM-Signature: [^]*?\r\nARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none;[^]*?\r\nARC-Message-Signature: i=1; [^]*?\r\nARC-Authentication-Results: i=1; lists\.example\.org;/);
      expect(await arcverify(copy, records)).toMatch(/^arc verification: cv=b'pass' success$/);
      expect(await mailauthArc(copy, records)).toEqual({ result: 'pass', instance: 1 });
      expect((await mailauthVerify(copy, records)).map((r) => r.result)).toEqual(['pass']);
    }, TIMEOUT);
  }

  it('a second hop continues the chain (i=2, cv=pass); a body changed after sealing fails it', async () => {
    const first = await sealed(post('\r\n'), 'none');
    const second = await sealed(first, 'pass');
    expect(second.toString('latin1')).toMatch(/\r\nARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=pass;/);
    expect(await arcverify(second, records)).toMatch(/^arc verification: cv=b'pass' success$/);
    expect(await mailauthArc(second, records)).toEqual({ result: 'pass', instance: 2 });
    const changed = Buffer.from(first.toString('latin1').replace('team mailing list', 'team mailing list, changed'), 'latin1');
    expect(await arcverify(changed, records)).toMatch(/^arc verification: cv=b'fail' /);
    expect((await mailauthArc(changed, records)).result).toBe('fail');
  }, TIMEOUT);

  it('a key that cannot seal comes back as error, never an unsealed or unsigned copy', async () => {
    const result = await sign({ message: post('\r\n'), dkim: dkim(), arc: { ...arcSpec('none'), pem: 'not a key' } });
    expect(result).toEqual({ error: expect.stringMatching(/^ARC sealing failed/) });
  });
});

describe('ARC sealing of personalised copies', () => {
  for (const eol of ['\r\n', '\n']) {
    it(`each copy, with its own header field and footer, carries its own ARC set: arcverify and mailauth pass, DKIM passes (${eol === '\n' ? 'LF' : 'CRLF'} post)`, async () => {
      const message = post(eol);
      const recipients = ['ann@example.net', 'bob@example.com'];
      const copies = await render({ message, recipients, list: 'team@lists.example.org', personalize: { headers: { 'X-Sent-To': '{address}' }, footer: 'Sent to {address}' }, dkim: dkim(), arc: arcSpec('none') });
      expect(copies.map((copy) => copy.signError)).toEqual([undefined, undefined]);
      const seals = new Set<string>();
      for (const [i, copy] of copies.entries()) {
        const wire = onTheWire(Buffer.concat([copy.head, message, copy.foot]));
        const text = wire.toString('latin1');
        expect(text).toContain(`X-Sent-To: ${recipients[i]}`);
        expect(text).toContain(`Sent to ${recipients[i]}`);
        expect(text).toMatch(/^DKIM-Signature: [^]*?\r\nARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none;[^]*?\r\nARC-Message-Signature: i=1; /);
        seals.add(/ARC-Message-Signature: [^]*?b=([^;]+)/.exec(text)![1]!);
        expect(await arcverify(wire, records)).toMatch(/^arc verification: cv=b'pass' success$/);
        expect(await mailauthArc(wire, records)).toEqual({ result: 'pass', instance: 1 });
        expect((await mailauthVerify(wire, records)).map((r) => r.result)).toEqual(['pass']);
      }
      // Sealed per copy: the message signatures differ (the footers do).
      expect(seals.size).toBe(2);
    }, TIMEOUT);
  }

  it('a key that cannot seal fails the copy (signError), never an unsealed copy', async () => {
    const copies = await render({ message: post('\r\n'), recipients: ['ann@example.net'], list: 'team@lists.example.org', personalize: { footer: 'x' }, dkim: dkim(), arc: { ...arcSpec('none'), pem: 'not a key' } });
    expect(copies[0]!.signError).toMatch(/^ARC sealing failed/);
  });
});
