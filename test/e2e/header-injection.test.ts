/**
 * Header injection, end to end: a real master and every built-in runner,
 * posts handed in by `switchyard inject` and over LMTP (raw bytes, as an MTA
 * passes them on), delivered to a real SMTP sink that keeps the raw bytes it
 * received. A bare LF or CR hidden in a header of a post, or a list setting
 * holding a line break (stored by an older switchyard, which did not check
 * them), must never become a header line on the wire. And a bare CR in an
 * 8-bit body must reach the member as a CR, not as a line break; a final
 * CRLF is added only when the message did not end in one (SMTP needs it).
 */
import { connect } from 'node:net';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { freePort } from '../ingress/harness.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';
import { openStore } from '../../src/store/index.js';

const LIST = 'team@lists.example.org';
/** A list whose settings were stored with line breaks before they were checked. */
const OLD = 'old@lists.example.org';
const TIMEOUT = 300_000;
const INJECTED = /^(bcc|x-inj[a-z-]*):/i;

let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let lmtpPort: number;

function post(list: string, headers: string, messageId: string, body = 'Hello team,\r\nGrüße.\r\n'): Buffer {
  return Buffer.concat([
    Buffer.from(`${headers}To: ${list}\r\nMessage-ID: ${messageId}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`, 'utf8'),
    Buffer.from(body, 'utf8'),
  ]);
}

async function inject(list: string, message: Buffer): Promise<void> {
  const result = await runCli(['--home', home, 'inject', '--recipient', list], {}, message.toString('utf8'));
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

/** One LMTP transaction over a plain socket: the message's bytes as they are (an LMTP client library would repair its line endings). */
async function lmtp(list: string, message: Buffer): Promise<void> {
  const socket = connect(lmtpPort, '127.0.0.1');
  let buffered = '';
  const replies: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    let newline: number;
    while ((newline = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 2);
      if (/^\d{3} /.test(line)) replies.push(line);
    }
    wake?.();
  });
  const reply = async (): Promise<string> => {
    while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return replies.shift()!;
  };
  try {
    expect(await reply()).toMatch(/^220/);
    for (const command of ['LHLO test.example', 'MAIL FROM:<ann@example.org>', `RCPT TO:<${list}>`, 'DATA']) {
      socket.write(`${command}\r\n`);
      expect(await reply()).toMatch(/^(250|354)/);
    }
    socket.write(Buffer.concat([message, Buffer.from('.\r\n')]));
    expect(await reply()).toMatch(/^250/);
    socket.write('QUIT\r\n');
  } finally {
    socket.end();
  }
}

function withMessageId(id: string): (t: SinkTransaction) => boolean {
  return (t) => t.body !== undefined && RawMessage.parse(t.body).get('message-id') === id;
}

async function delivered(id: string): Promise<Buffer> {
  const mine = withMessageId(id);
  await sink.until(() => sink.accepted.some(mine), `the post ${id} at the sink`);
  return sink.accepted.find(mine)!.body!;
}

/** The header lines as the sink received them. */
function headerLines(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
}

function expectNoInjectedLine(raw: Buffer): void {
  for (const line of headerLines(raw)) expect(line).not.toMatch(INJECTED);
}

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  lmtpPort = await freePort();
  // Bounces, command and the scheduler take no part: each is a node process fewer to start.
  home = await makeHome(testConfig(`[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'virgin', 'retry'])}\n${schedulerOff()}`));
  const store = openStore(home);
  try {
    for (const address of [LIST, OLD]) {
      await store.createList({ address, settings: { defaultNonmemberAction: 'accept', replyGoesToList: 'explicit_header', replyToAddress: 'talk@lists.example.org' } });
      await store.addMembers(address, [{ address: 'ann@example.org' }]);
    }
  } finally {
    await store.close();
  }
  // What a switchyard that did not check these settings stored from `lists set`.
  const db = new Database(`${home}/switchyard.db`);
  try {
    const row = db.prepare('SELECT settings FROM lists WHERE address = ?').get(OLD) as { settings: string };
    const settings = { ...(JSON.parse(row.settings) as object), subjectPrefix: '[X]\r\nBcc: victim@evil.example\r\nX-Inj: 1 ', replyToAddress: 'a@b.example\r\nBcc: v@evil.example' };
    db.prepare('UPDATE lists SET settings = ?, display_name = ? WHERE address = ?').run(JSON.stringify(settings), 'Old\r\nX-Inj-Name: 1', OLD);
  } finally {
    db.close();
  }
  master = await startMaster(home);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home) await removeHome(home);
});

it('a bare LF inside a quoted From display name never becomes a Bcc line at the sink (inject and LMTP)', async () => {
  await inject(LIST, post(LIST, 'From: "Evil\nBcc: victim@example.com" <mallory@example.net>\r\nSubject: lf via inject\r\n', '<inj-lf-1@example.net>'));
  await lmtp(LIST, post(LIST, 'From: "Evil\nBcc: victim@example.com" <mallory@example.net>\r\nSubject: lf via lmtp\r\n', '<inj-lf-2@example.net>'));
  for (const id of ['<inj-lf-1@example.net>', '<inj-lf-2@example.net>']) {
    const raw = await delivered(id);
    expectNoInjectedLine(raw);
    const message = RawMessage.parse(raw);
    expect(message.getAll('bcc')).toEqual([]);
    expect(message.get('from')).toBe('"Evil Bcc: victim@example.com" <mallory@example.net>');
  }
}, TIMEOUT);

it('a bare CR inside From or Subject never becomes a Bcc or X-Injected line at the sink', async () => {
  await inject(LIST, post(LIST, 'From: "Evil\rBcc: victim@example.com" <mallory@example.net>\r\nSubject: cr\rX-Injected: 1\r\n', '<inj-cr-1@example.net>'));
  await lmtp(LIST, post(LIST, 'From: "Evil\rBcc: victim@example.com" <mallory@example.net>\r\nSubject: cr\rX-Injected: 1\r\n', '<inj-cr-2@example.net>'));
  for (const id of ['<inj-cr-1@example.net>', '<inj-cr-2@example.net>']) {
    const raw = await delivered(id);
    expectNoInjectedLine(raw);
    expect(RawMessage.parse(raw).get('subject')).toBe('[Team] cr X-Injected: 1');
  }
}, TIMEOUT);

it('list settings stored with line breaks (subjectPrefix, replyToAddress, display name) add no header line to a post', async () => {
  await inject(OLD, post(OLD, 'From: Ann <ann@example.org>\r\nSubject: hello\r\n', '<inj-old-1@example.org>'));
  const raw = await delivered('<inj-old-1@example.org>');
  expectNoInjectedLine(raw);
  const message = RawMessage.parse(raw);
  expect(message.get('subject')).toBe('[X] Bcc: victim@evil.example X-Inj: 1 hello');
  // The unusable replyToAddress is not searched for an address: Reply-To stays as the poster had it (none).
  expect(message.getAll('reply-to')).toEqual([]);
}, TIMEOUT);

it('a bare CR in an 8-bit body arrives as a CR, not a line break; a final CRLF is added only where the message had none', async () => {
  const withCr = 'Grüße\rzweite Hälfte derselben Zeile\r\nletzte Zeile ohne Zeilenende';
  // Through inject: over LMTP, as over SMTP, data always ends in a CRLF.
  await inject(LIST, post(LIST, 'From: Ann <ann@example.org>\r\nSubject: bare cr body\r\n', '<body-cr@example.org>', withCr));
  const crCopy = RawMessage.parse(await delivered('<body-cr@example.org>'));
  expect(crCopy.get('content-transfer-encoding')).toBe('quoted-printable');
  expect(crCopy.body.toString('latin1')).not.toMatch(/\r(?!\n)/);
  // SMTP ends the data with a CRLF the message did not have: that one only.
  expect(decodeQuotedPrintable(crCopy.body).equals(Buffer.from(`${withCr}\r\n`, 'utf8'))).toBe(true);

  const ending = 'Grüße,\r\nAnn\r\n';
  await lmtp(LIST, post(LIST, 'From: Ann <ann@example.org>\r\nSubject: ends in crlf\r\n', '<body-crlf@example.org>', ending));
  expect(RawMessage.parse(await delivered('<body-crlf@example.org>')).body.equals(Buffer.from(ending, 'utf8'))).toBe(true);

  const open = 'Grüße,\r\nAnn';
  await inject(LIST, post(LIST, 'From: Ann <ann@example.org>\r\nSubject: ends without\r\n', '<body-open@example.org>', open));
  expect(RawMessage.parse(await delivered('<body-open@example.org>')).body.equals(Buffer.from(`${open}\r\n`, 'utf8'))).toBe(true);
}, TIMEOUT);
