/**
 * DKIM round trips: copies signed by our code (the bulk sign-worker and the
 * personalised render-worker, called in process) verified by two independent
 * verifiers, mailauth and Debian's dkimpy (a python3 child process), for RSA
 * 2048 and Ed25519 keys, both at once, LF and CRLF messages, 8-bit bodies and
 * headers, bodies with and without a final line end or with trailing empty
 * lines under a footer; From over-signed; a changed copy fails.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import render from '../../../runners/outgoing/render-worker.js';
import sign from '../../../runners/outgoing/sign-worker.js';
import { DEFAULT_SIGNED_HEADERS } from '../../../src/config/dkim-schema.js';
import { relaxedBody } from '../../../src/mail/dkim/canonical.js';
import { publicKeyValue } from '../../../src/mail/dkim/keys.js';
import { recordText } from '../../../src/mail/dkim/dns-record.js';
import type { SigningSpec } from '../../../src/mail/dkim/signer.js';
import { dkimpyVerify, mailauthVerify, onTheWire, type Records } from '../../fixtures/dkim-verifiers.js';

const TIMEOUT = 60_000;
let rsa: { privateKey: KeyObject; publicKey: KeyObject };
let ed: { privateKey: KeyObject; publicKey: KeyObject };
let records: Records;

const pem = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }).toString();

function spec(which: 'rsa' | 'ed25519' | 'both'): SigningSpec {
  const keys = [];
  if (which !== 'ed25519') keys.push({ algorithm: 'rsa-sha256' as const, selector: 'r1', pem: pem(rsa.privateKey) });
  if (which !== 'rsa') keys.push({ algorithm: 'ed25519-sha256' as const, selector: 'e1', pem: pem(ed.privateKey) });
  return { domain: 'lists.example.org', keys, signedHeaders: [...DEFAULT_SIGNED_HEADERS] };
}

beforeAll(() => {
  rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  ed = generateKeyPairSync('ed25519');
  records = {
    'r1._domainkey.lists.example.org': recordText('rsa', publicKeyValue(rsa.publicKey)),
    'e1._domainkey.lists.example.org': recordText('ed25519', publicKeyValue(ed.publicKey)),
  };
});

function message(eol: string, body: string): Buffer {
  const head = [
    'From: Ännchen <ann@example.net>',
    'To: team@lists.example.org',
    'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=  and   spaces',
    '\tfolded on',
    'Date: Sat, 05 Dec 2026 12:00:00 +0000',
    'Message-ID: <1@example.net>',
    'List-Id: <team.lists.example.org>',
    'List-Unsubscribe: <mailto:team-leave@lists.example.org>',
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ].join(eol);
  return Buffer.from(`${head}${eol}${eol}${body.replace(/\n/g, eol)}`, 'utf8');
}

const BODY = 'Grüße aus Köln,  mit   Leerzeichen \t\nund Tabs\t am Ende\t \n\n.a leading dot\n';

/** Both verifiers' verdicts on the wire form of `signed`. */
async function verdicts(signed: Buffer): Promise<{ mailauth: string[]; dkimpy: boolean[]; headers: string[][] }> {
  const wire = onTheWire(signed);
  const byMailauth = await mailauthVerify(wire, records);
  return { mailauth: byMailauth.map((r) => r.result), dkimpy: await dkimpyVerify(wire, records), headers: signedNames(wire) };
}

/** The h= names of each DKIM-Signature field, lower-cased, top first. */
function signedNames(message: Buffer): string[][] {
  const head = message.toString('latin1').split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]/g, ' ');
  return head
    .split(/\r?\n/)
    .filter((line) => /^dkim-signature:/i.test(line))
    .map((line) => /[; ]h=([^;]+)/.exec(line)![1]!.split(':').map((name) => name.trim().toLowerCase()));
}

async function bulk(original: Buffer, which: 'rsa' | 'ed25519' | 'both'): Promise<Buffer> {
  const result = await sign({ message: original, dkim: spec(which) });
  if ('error' in result) throw new Error(result.error);
  return Buffer.concat([result.fields, original]);
}

describe('DKIM signing, verified by mailauth and dkimpy', () => {
  for (const which of ['rsa', 'ed25519'] as const) {
    for (const eol of ['\r\n', '\n']) {
      it(`bulk copy, ${which}, ${eol === '\n' ? 'LF' : 'CRLF'} message with an 8-bit body and header: verifies`, async () => {
        const signed = await bulk(message(eol, BODY), which);
        expect(signed.toString('latin1')).toMatch(new RegExp(`^DKIM-Signature: v=1; a=${which}-sha256; c=relaxed/relaxed;${eol === '\n' ? '\\n' : '\\r\\n'} d=lists\\.example\\.org; s=${which === 'rsa' ? 'r1' : 'e1'};`));
        expect(await verdicts(signed)).toMatchObject({ mailauth: ['pass'], dkimpy: [true] });
      }, TIMEOUT);
    }
  }

  it('both keys: two signatures, each verifies with its own record; h= lists the fields present and From twice', async () => {
    const signed = await bulk(message('\r\n', BODY), 'both');
    const { mailauth, dkimpy, headers } = await verdicts(signed);
    expect(mailauth).toEqual(['pass', 'pass']);
    expect(dkimpy).toEqual([true, true]);
    expect(headers[0]).toEqual(['from', 'from', 'to', 'subject', 'date', 'message-id', 'list-id', 'list-unsubscribe', 'list-unsubscribe-post']);
  }, TIMEOUT);

  it('over-signed From: a From added above or below the signed one fails both verifiers; a changed body or Subject fails too', async () => {
    const signed = (await bulk(message('\r\n', BODY), 'ed25519')).toString('latin1');
    const end = signed.indexOf('\r\n\r\n');
    const variants = [
      signed.replace('From: ', 'From: mallory@example.com\r\nFrom: '),
      `${signed.slice(0, end)}\r\nFrom: mallory@example.com${signed.slice(end)}`,
      signed.replace('mit   Leerzeichen', 'ohne Leerzeichen'),
      signed.replace('Subject: ', 'Subject: Re: '),
    ].map((text) => Buffer.from(text, 'latin1'));
    for (const variant of variants) {
      const { mailauth, dkimpy } = await verdicts(variant);
      expect(mailauth).not.toContain('pass');
      expect(dkimpy).toEqual([false]);
    }
  }, TIMEOUT);

  it('a message without the optional fields signs only what it has (From still twice), and an empty body verifies', async () => {
    const original = Buffer.from('From: a@example.net\nSubject: bare\n\n');
    const { mailauth, dkimpy, headers } = await verdicts(await bulk(original, 'both'));
    expect(mailauth).toEqual(['pass', 'pass']);
    expect(dkimpy).toEqual([true, true]);
    expect(headers[0]).toEqual(['from', 'from', 'subject']);
  }, TIMEOUT);

  const PERSONALIZE = {
    headers: { 'List-Unsubscribe': '<https://lists.example.org/u/{address}>', 'X-Recipient': '{address}' },
    footer: '-- \nSent to {address} by {list}  \n\n',
  };

  for (const [label, body] of [
    ['8-bit body', BODY],
    ['body without a final line end', 'no newline at the end  '],
    ['body ending in empty lines', 'text\n\n\n'],
  ] as const) {
    for (const eol of ['\r\n', '\n']) {
      it(`personalised copies (headers and footer), both keys, ${label}, ${eol === '\n' ? 'LF' : 'CRLF'}: every copy verifies with its own bytes`, async () => {
        const original = message(eol, body);
        const recipients = ['ann@example.net', 'bob@example.com'];
        const copies = await render({ message: original, recipients, list: 'team@lists.example.org', personalize: PERSONALIZE, dkim: spec('both') });
        expect(copies.every((c) => c.signError === undefined)).toBe(true);
        for (const [i, copy] of copies.entries()) {
          const signed = Buffer.concat([copy.head, original, copy.foot]);
          expect(signed.toString('utf8')).toContain(`Sent to ${recipients[i]}`);
          const { mailauth, dkimpy, headers } = await verdicts(signed);
          expect(mailauth).toEqual(['pass', 'pass']);
          expect(dkimpy).toEqual([true, true]);
          // Two List-Unsubscribe fields (the copy's and the post's): both signed.
          expect(headers[0]!.filter((h) => h === 'list-unsubscribe')).toHaveLength(2);
        }
      }, TIMEOUT);
    }
  }

  it('personalised copies whose message takes no footer (HTML): headers only, still verified', async () => {
    const original = Buffer.from('From: a@example.net\r\nSubject: html\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n');
    const [copy] = await render({ message: original, recipients: ['c@example.org'], list: 'team@lists.example.org', personalize: PERSONALIZE, dkim: spec('rsa') });
    expect(copy!.foot.byteLength).toBe(0);
    expect(await verdicts(Buffer.concat([copy!.head, original, copy!.foot]))).toMatchObject({ mailauth: ['pass'], dkimpy: [true] });
  }, TIMEOUT);

  it('a key that cannot sign comes back as signError per copy, and as error from the bulk worker (never an unsigned copy)', async () => {
    const broken: SigningSpec = { ...spec('rsa'), keys: [{ algorithm: 'rsa-sha256', selector: 'r1', pem: 'not a key' }] };
    const copies = await render({ message: message('\r\n', BODY), recipients: ['a@example.org'], list: 'l@lists.example.org', personalize: PERSONALIZE, dkim: broken });
    expect(copies[0]!.signError).toMatch(/./);
    expect(await sign({ message: message('\r\n', BODY), dkim: broken })).toEqual({ error: expect.any(String) });
  });

  it('relaxed body canonicalisation: white space runs, trailing white space, trailing empty lines, LF to CRLF', () => {
    expect(relaxedBody('a  b \t\nc\t\n\n \n')).toBe('a b\r\nc\r\n');
    expect(relaxedBody('\n\n')).toBe('');
    expect(relaxedBody('x')).toBe('x\r\n');
  });
});
