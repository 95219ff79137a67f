/**
 * Verification on the way in and ARC on the way out, through a real master
 * and every built-in runner: the author's DKIM key, SPF and DMARC records
 * and the list's own key (made with `switchyard dkim keygen`) served by the
 * DNS responder fixture on 127.0.0.1 (`[dns]`). A post signed by its author
 * (mailauth's dkimSign) arrives over LMTP with the MTA's Received on top;
 * each member's copy (a real SMTP sink) carries the list's DKIM signature
 * and an ARC set (i=1, cv=none) whose ARC-Authentication-Results are the
 * incoming runner's results (dkim, spf, dmarc pass), and the chain verifies
 * with Debian's arcverify and with mailauth.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DnsResponder } from '../fixtures/dns-responder.js';
import { arcverify, mailauthArc, mailauthVerify, type Records } from '../fixtures/dkim-verifiers.js';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { freePort } from '../ingress/harness.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, stopDaemon, testConfig } from '../master/harness.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { openStore } from '../../src/store/index.js';

const LIST = 'team@lists.example.org';
const TIMEOUT = 300_000;

let sink: SmtpSink;
let dns: DnsResponder;
let home: string;
let lmtpPort: number;
let started = false;
let authorKey: string;
const records: Records = {};

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  const author = generateKeyPairSync('rsa', { modulusLength: 2048 });
  authorKey = author.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  records['s1._domainkey.author.example'] = `v=DKIM1; k=rsa; p=${(author.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')}`;
  records['_dmarc.author.example'] = 'v=DMARC1; p=none';
  records['author.example'] = 'v=spf1 ip4:192.0.2.25 -all';
  dns = await DnsResponder.start(records);
  lmtpPort = await freePort();
  // Only the runners the post goes through (and retry): bounces, command, virgin and the scheduler take no part, and each is a node process to start.
  home = await makeHome(
    testConfig(
      `[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n[dns]\nservers = ["${dns.server}"]\ntimeout = "2s"\n\n[auth]\nauthservId = "lists.example.org"\n\n[dkim.domains."lists.example.org"]\nselector = "r1"\nkeys = ["dkim/lists.example.org.r1.pem"]\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'retry'])}\n${schedulerOff()}`,
    ),
  );
  const made = await runCli(['--home', home, 'dkim', 'keygen', 'lists.example.org', '--selector', 'r1', '--type', 'rsa', '--json']);
  expect(made.code, made.stderr).toBe(0);
  const record = (JSON.parse(made.stdout) as { record: { name: string; text: string } }).record;
  records[record.name] = record.text;
  dns.set(record.name, record.text);
  const store = openStore(home);
  await store.createList({ address: LIST, displayName: 'Team' });
  await store.addMembers(LIST, [{ address: 'anne@author.example' }, { address: 'bob@members.example' }]);
  await store.close();
}, TIMEOUT);

afterAll(async () => {
  // Cleanup, not the stop command: SIGTERM to the daemon, without a CLI process.
  if (started) await stopDaemon(home);
  await sink?.close();
  await dns?.close();
  if (home) await removeHome(home);
});

it('a post verified on the way in leaves with the list DKIM signature and an ARC set carrying those results; arcverify and mailauth pass the chain', async () => {
  const result = await runCli(['--home', home, 'start']);
  started = true;
  expect(result.code, result.stderr).toBe(0);
  const post = Buffer.from(`From: Anne Author <anne@author.example>\r\nTo: Team <${LIST}>\r\nSubject: sealed on the way out\r\nMessage-ID: <arc-e2e@author.example>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, list.\r\n`);
  const signature = { signingDomain: 'author.example', selector: 's1', privateKey: authorKey, algorithm: 'rsa-sha256' };
  const signed = await dkimSign(post, { ...signature, signatureData: [signature] });
  expect(signed.signatures).toMatch(/^DKIM-Signature: /);
  const received = 'Received: from mail.author.example (mail.author.example [192.0.2.25])\r\n\tby mx.lists.example.org (Postfix) with ESMTPS id 4Q9; Sat, 05 Dec 2026 10:00:01 +0000\r\n';
  const raw = Buffer.concat([Buffer.from(received + signed.signatures), post]);
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    await transport.sendMail({ envelope: { from: 'anne@author.example', to: [LIST] }, raw });
  } finally {
    transport.close();
  }
  await sink.until(() => sink.accepted.some((t) => t.body?.includes('<arc-e2e@author.example>')), 'the post at the members');
  const copy = sink.accepted.find((t) => t.body?.includes('<arc-e2e@author.example>'))!.body!;
  const message = RawMessage.parse(copy);
  expect(message.fields.slice(0, 4).map((field) => field.key)).toEqual(['dkim-signature', 'arc-seal', 'arc-message-signature', 'arc-authentication-results']);
  expect(message.get('arc-seal')).toMatch(/^i=1; a=rsa-sha256; t=\d+; cv=none; d=lists\.example\.org; s=r1;/);
  expect(message.get('arc-authentication-results')).toMatch(/^i=1; lists\.example\.org; dkim=pass header\.i=@author\.example header\.s=s1 [^;]*; spf=pass [^;]*; dmarc=pass /);
  // Our Authentication-Results, as the ARC set records them.
  expect(message.get('authentication-results')).toBe(message.get('arc-authentication-results')!.replace(/^i=1; /, ''));
  expect(await arcverify(copy, records)).toMatch(/^arc verification: cv=b'pass' success$/);
  expect(await mailauthArc(copy, records)).toEqual({ result: 'pass', instance: 1 });
  const dkim = await mailauthVerify(copy, records);
  expect(dkim.find((r) => r.domain === 'lists.example.org')?.result).toBe('pass');
}, TIMEOUT);
