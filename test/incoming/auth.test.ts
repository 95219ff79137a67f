/**
 * Verification on the way in (runners/incoming/auth-worker.ts through a real
 * incoming runner and its worker pool): posts signed for real (mailauth's
 * dkimSign with keys made here), the keys, SPF and DMARC records served by
 * the DNS responder fixture on 127.0.0.1 through `[dns]`; what the runner
 * forwards to `out` carries our Authentication-Results on top and the
 * results in its metadata. A forged Authentication-Results with our
 * authserv-id is removed; DNS that never answers gives temperror results and
 * the post still goes on.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign, sealMessage } from 'mailauth';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { DnsResponder } from '../fixtures/dns-responder.js';
import { cleanup, closeIncomingFile, closeStores, setupIncoming, type IncomingSetup } from './harness.js';
import { LIST } from './fixtures/messages.js';

const AUTHSERV = 'lists.example.org';
const UPSTREAM = 'mx.upstream.example';
let dns: DnsResponder;
let rsaKey: string;
let edKey: string;
let forwarderKey: string;

afterAll(closeIncomingFile);

beforeAll(async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const forwarder = generateKeyPairSync('rsa', { modulusLength: 2048 });
  forwarderKey = forwarder.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  rsaKey = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  edKey = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const rsaPublic = (rsa.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
  // RFC 8463: the raw 32-byte key, the SPKI DER's last 32 bytes.
  const edPublic = (ed.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(-32).toString('base64');
  dns = await DnsResponder.start({
    's1._domainkey.author.example': `v=DKIM1; k=rsa; p=${rsaPublic}`,
    'e1._domainkey.author.example': `v=DKIM1; k=ed25519; p=${edPublic}`,
    '_dmarc.author.example': 'v=DMARC1; p=reject',
    'author.example': 'v=spf1 ip4:192.0.2.25 -all',
    'f1._domainkey.forwarder.example': `v=DKIM1; k=rsa; p=${(forwarder.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')}`,
  });
});

afterAll(async () => {
  await dns.close();
});

afterEach(async () => {
  await cleanup();
  await closeStores();
});

function config(auth: Record<string, unknown> = {}, dnsTimeout = '2s'): Config {
  return configSchema.parse({ dns: { servers: [dns.server], timeout: dnsTimeout }, auth: { authservId: AUTHSERV, ...auth } });
}

async function setup(cfg: Config): Promise<IncomingSetup> {
  return setupIncoming({ config: cfg, settings: { defaultNonmemberAction: 'accept', dmarcMitigateAction: 'no_mitigation' } });
}

function post(extraTop = '', body = 'Hello, signed.\r\n'): Buffer {
  return Buffer.from(
    `${extraTop}From: Anne Author <anne@author.example>\r\nTo: ${LIST}\r\nSubject: verified\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <auth-${Math.random().toString(36).slice(2)}@author.example>\r\n\r\n${body}`,
  );
}

async function signed(message: Buffer): Promise<Buffer> {
  const result = await dkimSign(message, {
    signingDomain: 'author.example',
    selector: 's1',
    privateKey: rsaKey,
    signatureData: [
      { signingDomain: 'author.example', selector: 's1', privateKey: rsaKey, algorithm: 'rsa-sha256' },
      { signingDomain: 'author.example', selector: 'e1', privateKey: edKey, algorithm: 'ed25519-sha256' },
    ],
  });
  return Buffer.concat([Buffer.from(result.signatures), message]);
}

/** The received trace the MTA adds on top: its record of the SMTP client. */
const RECEIVED_OK = `Received: from mail.author.example (mail.author.example [192.0.2.25])\r\n\tby mx.lists.example.org (Postfix) with ESMTPS id 4Q1; Sat, 05 Dec 2026 10:00:01 +0000\r\n`;
const RECEIVED_BAD = `Received: from spoofer.example (unknown [198.51.100.7])\r\n\tby mx.lists.example.org (Postfix) with ESMTP id 4Q2; Sat, 05 Dec 2026 10:00:01 +0000\r\n`;

async function forwarded(s: IncomingSetup, message: Buffer): Promise<{ message: RawMessage; metadata: Record<string, unknown> }> {
  const { id, outcome } = await s.post(message, { envelopeSender: 'anne@author.example' });
  expect(outcome, `entry ${id}`).toBe('forwarded');
  const out = await s.entries('out');
  expect(out).toHaveLength(1);
  return { message: RawMessage.parse(out[0]!.message), metadata: out[0]!.metadata as Record<string, unknown> };
}

interface Auth {
  authservId: string;
  dkim: Array<{ domain: string; selector: string; algorithm: string; result: string }>;
  spf: { result: string; source: string };
  dmarc: { result: string; policy?: string };
  arc: { result: string };
}

describe('verification on the way in', () => {
  it('a signed post from its permitted IP: dkim (RSA and Ed25519), spf and dmarc pass, in metadata and our Authentication-Results on top; a forged one with our authserv-id is removed', async () => {
    const s = await setup(config());
    const forged = `Authentication-Results: ${AUTHSERV}; dkim=pass header.d=bank.example; spf=pass; dmarc=pass\r\n`;
    const upstream = `Authentication-Results: other.example; spf=fail smtp.mailfrom=anne@author.example\r\n`;
    const { message, metadata } = await forwarded(s, Buffer.concat([Buffer.from(forged + upstream + RECEIVED_OK), await signed(post())]));
    const results = message.getAll('authentication-results');
    expect(message.fields[0]!.key).toBe('authentication-results');
    // Ours first; the forged one gone; another authserv-id's kept as it came.
    expect(results).toHaveLength(2);
    expect(results[0]).toMatch(new RegExp(`^${AUTHSERV}; dkim=pass header\\.i=@author\\.example header\\.s=s1 header\\.a=rsa-sha256 [^;]*; dkim=pass header\\.i=@author\\.example header\\.s=e1 header\\.a=ed25519-sha256 [^;]*; spf=pass .*smtp\\.mailfrom=anne@author\\.example.*; dmarc=pass`));
    expect(results[1]).toBe('other.example; spf=fail smtp.mailfrom=anne@author.example');
    expect(results.join('\n')).not.toContain('bank.example');
    const auth = metadata.auth as Auth;
    expect(auth.authservId).toBe(AUTHSERV);
    expect(auth.dkim).toEqual([
      { domain: 'author.example', selector: 's1', algorithm: 'rsa-sha256', result: 'pass' },
      { domain: 'author.example', selector: 'e1', algorithm: 'ed25519-sha256', result: 'pass' },
    ]);
    expect(auth.spf).toMatchObject({ result: 'pass', source: 'received', clientIp: '192.0.2.25' });
    expect(auth.dmarc).toMatchObject({ result: 'pass' });
    expect(auth.arc.result).toBe('none');
    expect((await s.logLines('removed Authentication-Results claiming our authserv-id')).length).toBe(1);
    const verified = (await s.logLines('auth: verified'))[0] as Record<string, unknown>;
    expect(verified).toMatchObject({ dkim: ['author.example:pass', 'author.example:pass'], spf: 'pass', dmarc: 'pass', arc: 'none' });
  });

  it('a changed body and a client the SPF record does not permit: dkim neutral (body hash, as mailauth says), spf fail, dmarc fail (policy reject)', async () => {
    const s = await setup(config());
    const good = await signed(post());
    const tampered = Buffer.from(good.toString('latin1').replace('Hello, signed.', 'Hello, changed.'), 'latin1');
    const { message } = await forwarded(s, Buffer.concat([Buffer.from(RECEIVED_BAD), tampered]));
    const ours = message.get('authentication-results')!;
    expect(ours).toMatch(/^lists\.example\.org; dkim=neutral \(body hash did not verify\) [^;]*; dkim=neutral \(body hash did not verify\) [^;]*; spf=fail \([^)]*198\.51\.100\.7[^)]*\) smtp\.mailfrom=anne@author\.example/);
    expect(ours).toMatch(/dmarc=fail .*p=REJECT/i);
  });

  it('a trusted upstream authserv-id: its spf=pass is our SPF input and aligns DMARC, without a Received client', async () => {
    const s = await setup(config({ trustedAuthservId: UPSTREAM }));
    const trusted = `Authentication-Results: ${UPSTREAM}; spf=pass smtp.mailfrom=anne@author.example\r\n`;
    const { message } = await forwarded(s, Buffer.concat([Buffer.from(trusted), post()]));
    const ours = message.get('authentication-results')!;
    expect(ours).toMatch(new RegExp(`^${AUTHSERV}; dkim=none \\(message not signed\\); spf=pass \\(as ${UPSTREAM.replace(/\./g, '\\.')} found\\) smtp\\.mailfrom=anne@author\\.example; .*dmarc=pass`));
  });

  it('DNS that never answers: temperror results recorded, the post still forwarded', async () => {
    for (const name of ['s1._domainkey.silent.example', '_dmarc.silent.example', 'silent.example']) dns.silence(name);
    const s = await setup(config({ timeout: '1s' }, '5s'));
    const message = Buffer.from(
      `${RECEIVED_OK}DKIM-Signature: v=1; a=rsa-sha256; d=silent.example; s=s1; c=relaxed/relaxed; h=from:subject; bh=AAAA; b=AAAA\r\nFrom: <x@silent.example>\r\nTo: ${LIST}\r\nSubject: slow dns\r\nMessage-ID: <slow@silent.example>\r\n\r\nbody\r\n`,
    );
    const { message: out } = await forwarded(s, message);
    expect(out.get('authentication-results')).toMatch(/^lists\.example\.org; dkim=temperror .*spf=temperror; dmarc=temperror; arc=temperror$/);
    expect((await s.logLines('auth: verification did not finish')).length).toBe(1);
  });

  it('an ARC chain sealed by a forwarder is verified (arc=pass, i=1) and recorded for our own seal', async () => {
    const s = await setup(config());
    const original = await signed(post());
    const seal = await sealMessage(original, {
      signingDomain: 'forwarder.example',
      selector: 'f1',
      privateKey: forwarderKey,
      algorithm: 'rsa-sha256',
      authResults: 'mx.forwarder.example; dkim=pass header.i=@author.example',
      cv: 'none',
    } as Parameters<typeof sealMessage>[1]);
    expect(seal.toString('latin1')).toMatch(/^ARC-Seal: i=1;/);
    const { message, metadata } = await forwarded(s, Buffer.concat([Buffer.from(RECEIVED_OK), seal, original]));
    expect((metadata.auth as Auth).arc).toEqual({ result: 'pass', instance: 1 });
    expect(message.get('authentication-results')).toMatch(/; arc=pass \(i=1 dkim=pass dkdomain=author\.example\); dmarc=pass \(p=REJECT arc=pass\)/);
  });
});
