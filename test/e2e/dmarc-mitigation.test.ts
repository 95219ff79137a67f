/**
 * DMARC mitigation through a real master and every built-in runner: the
 * `[dns]` servers point at the DNS responder fixture on 127.0.0.1; a post
 * over LMTP from an author whose domain publishes p=reject reaches the
 * members (a real SMTP sink) with From munged to the list and the author in
 * Reply-To, while a post from a p=none domain keeps its From.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DnsResponder } from '../fixtures/dns-responder.js';
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

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  dns = await DnsResponder.start({ '_dmarc.reject.example': 'v=DMARC1; p=reject; rua=mailto:agg@reject.example', '_dmarc.none.example': 'v=DMARC1; p=none' });
  lmtpPort = await freePort();
  // Only the runners the posts go through (and retry): bounces, command, virgin and the scheduler take no part, and each is a node process to start.
  home = await makeHome(testConfig(`[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n[dns]\nservers = ["${dns.server}"]\ntimeout = "2s"\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'retry'])}\n${schedulerOff()}`));
  const store = openStore(home);
  await store.createList({ address: LIST, displayName: 'Team', settings: { defaultNonmemberAction: 'accept' } });
  await store.addMembers(LIST, [{ address: 'm1@members.example' }, { address: 'm2@members.example' }]);
  await store.close();
}, TIMEOUT);

afterAll(async () => {
  // Cleanup, not the stop command: SIGTERM to the daemon, without a CLI process.
  if (started) await stopDaemon(home);
  await sink?.close();
  await dns?.close();
  if (home) await removeHome(home);
});

function post(from: string, id: string): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: Team <${LIST}>\r\nSubject: dmarc ${id}\r\nMessage-ID: <${id}@example>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n`);
}

it('a post from a p=reject author leaves with From munged to the list and the author in Reply-To; a p=none author keeps From', async () => {
  const result = await runCli(['--home', home, 'start']);
  started = true;
  expect(result.code, result.stderr).toBe(0);
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    await transport.sendMail({ envelope: { from: 'ann@reject.example', to: [LIST] }, raw: post('Ann Author <ann@reject.example>', 'rejecting') });
    await transport.sendMail({ envelope: { from: 'bob@none.example', to: [LIST] }, raw: post('Bob <bob@none.example>', 'relaxed') });
  } finally {
    transport.close();
  }
  const copies = (id: string) => sink.accepted.filter((t) => t.body?.includes(`<${id}@example>`));
  const reached = (id: string) => copies(id).flatMap((t) => t.recipients).sort();
  const members = ['m1@members.example', 'm2@members.example'];
  await sink.until(() => reached('rejecting').length === 2 && reached('relaxed').length === 2, 'both posts at both members');
  expect(reached('rejecting')).toEqual(members);
  expect(reached('relaxed')).toEqual(members);
  for (const copy of copies('rejecting')) {
    const message = RawMessage.parse(copy.body!);
    expect(message.get('from')).toBe(`Ann Author via Team <${LIST}>`);
    expect(message.get('reply-to')).toBe('Ann Author <ann@reject.example>');
  }
  for (const copy of copies('relaxed')) {
    const message = RawMessage.parse(copy.body!);
    expect(message.get('from')).toBe('Bob <bob@none.example>');
    expect(message.has('reply-to')).toBe(false);
  }
  expect(dns.queries).toContain('_dmarc.reject.example');
  expect(dns.queries).toContain('_dmarc.none.example');
}, TIMEOUT);
