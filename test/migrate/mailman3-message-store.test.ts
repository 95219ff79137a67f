/**
 * Mailman 3's message store, read without Python: pickles made by the real
 * Python 3 (with Mailman's own Message class, as its message store writes
 * them) are read as data and written back byte-exact, 8-bit bytes, CRLF
 * line endings, multipart preambles and epilogues, message/rfc822 and
 * delivery-status parts included; a pickle that would run code is refused
 * and runs nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageIdHash, messageStorePath, storedMessageBytes, storedMessageFile, unpickleMessage } from '../../src/migrate/mailman3-message-store.js';
import { readPickle } from '../../src/migrate/safe-pickle.js';

/** Writes NAME.eml (the bytes), NAME.pck (pickled as Mailman's message store does, protocol -1), NAME.p0 (protocol 0) and NAME.py (Python's own msg.as_bytes()). */
const WRITE_FIXTURES = String.raw`
import os, pickle, sys, email
from email.header import Header
from mailman.email.message import Message
out = sys.argv[1]
messages = {
  'latin1-lf': b"From: Ren\xe9 <rene@example.org>\nTo: dev@lists.example.org\nSubject: caf\xe9 cr\xe8me\nMessage-ID: <8bit@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nUn caf\xe9, s'il vous pla\xeet.\n\xff\xfe bytes that are no UTF-8\n",
  'multipart-crlf': b"From: a@example.org\r\nTo: dev@lists.example.org\r\nSubject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nX-Long: a folded\r\n\tvalue\r\nMessage-ID: <mp@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"==b;1==\"\r\n\r\nThis is a multi-part message in MIME format.\r\nA second preamble line.\r\n--==b;1==\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\nand a raw \xe9 too\r\n\r\n--==b;1==\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n--==b;1==--\r\nthe epilogue\r\n",
  'report-lf': b"From: MAILER-DAEMON@example.org\nTo: dev-bounces@lists.example.org\nSubject: failed\nMessage-ID: <dsn@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n\nIt failed.\n\n--XYZ\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n\n--XYZ\nContent-Type: message/rfc822\n\nFrom: dev@lists.example.org\nSubject: the post\n\nthe body \xe9\n\n--XYZ--\n",
  'digest-lf': b"From: a@example.org\nMessage-ID: <digest@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/digest; boundary=\"D\"\n\n--D\n\nSubject: one\n\nfirst\n\n--D\n\nSubject: two\n\nsecond\n--D--\n",
}
for name, raw in messages.items():
    msg = email.message_from_bytes(raw, Message)
    assert not msg.defects, (name, msg.defects)
    open(os.path.join(out, name + '.eml'), 'wb').write(raw)
    open(os.path.join(out, name + '.pck'), 'wb').write(pickle.dumps(msg, -1))
    open(os.path.join(out, name + '.p0'), 'wb').write(pickle.dumps(msg, 0))
    open(os.path.join(out, name + '.py'), 'wb').write(msg.as_bytes())
    open(os.path.join(out, name + '.plain'), 'wb').write(pickle.dumps(email.message_from_bytes(raw), -1))

class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + os.path.join(out, 'PWNED'),))
open(os.path.join(out, 'evil.pck'), 'wb').write(pickle.dumps(Evil(), -1))
msg = email.message_from_bytes(messages['latin1-lf'], Message)
msg._headers.append(('X-Evil', Evil()))
open(os.path.join(out, 'evil-header.pck'), 'wb').write(pickle.dumps(msg, -1))
msg = email.message_from_bytes(messages['latin1-lf'], Message)
msg._payload = Evil()
open(os.path.join(out, 'evil-payload.p0'), 'wb').write(pickle.dumps(msg, 0))
msg = email.message_from_bytes(messages['latin1-lf'], Message)
msg['X-Header-Object'] = Header('caf\xe9', 'utf-8')
open(os.path.join(out, 'header-object.pck'), 'wb').write(pickle.dumps(msg, -1))
print(sys.version)
`;

let dir: string;
const fixture = (name: string): Promise<Buffer> => readFile(join(dir, name));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mm3-store-'));
  // The interpreter Mailman runs on (Debian's; a python3 earlier in PATH may not have the mailman package).
  execFileSync('/usr/bin/python3', ['-c', WRITE_FIXTURES, dir]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Mailman 3 message store pickles, read as data", () => {
  for (const name of ['latin1-lf', 'multipart-crlf', 'report-lf', 'digest-lf']) {
    it(`${name}: the stored message is written back byte for byte, whichever pickle protocol and Message class`, async () => {
      const original = await fixture(`${name}.eml`);
      expect(storedMessageBytes(await fixture(`${name}.pck`)).equals(original)).toBe(true);
      expect(storedMessageBytes(await fixture(`${name}.p0`)).equals(original)).toBe(true);
      expect(storedMessageBytes(await fixture(`${name}.plain`)).equals(original)).toBe(true);
    });
  }

  it("an LF message comes out exactly as Python's own msg.as_bytes()", async () => {
    for (const name of ['latin1-lf', 'report-lf', 'digest-lf']) {
      expect(storedMessageBytes(await fixture(`${name}.pck`)).toString('latin1')).toBe((await fixture(`${name}.py`)).toString('latin1'));
    }
  });

  it('keeps the 8-bit bytes that are not UTF-8 (surrogateescape) and the parts, preamble and epilogue as plain data', async () => {
    const latin = unpickleMessage(await fixture('latin1-lf.pck'));
    expect(latin.headers[2]).toEqual(['Subject', 'caf\udce9 cr\udce8me']);
    expect(storedMessageBytes(await fixture('latin1-lf.pck')).includes(Buffer.from([0xff, 0xfe, 0x20, 0x62]))).toBe(true);
    const multipart = unpickleMessage(await fixture('multipart-crlf.pck'));
    expect(multipart.preamble).toBe('This is a multi-part message in MIME format.\r\nA second preamble line.');
    expect(multipart.epilogue).toBe('the epilogue\r\n');
    expect(Array.isArray(multipart.payload) && multipart.payload.map((part) => part.headers[0]![1])).toEqual(['text/plain; charset=utf-8', 'application/octet-stream']);
    expect(multipart.headers.find(([name]) => name === 'X-Long')![1]).toBe('a folded\r\n\tvalue');
  });

  it('refuses a pickle that would run os.system, and runs nothing', async () => {
    for (const name of ['evil.pck', 'evil-header.pck', 'evil-payload.p0']) {
      let refused: unknown;
      try {
        storedMessageBytes(await fixture(name));
      } catch (error) {
        refused = error;
      }
      expect(refused, name).toMatchObject({ code: 'SY_IMPORT_UNSAFE', message: expect.stringMatching(/posix\.system.*nothing is imported or called/) });
    }
    expect(existsSync(join(dir, 'PWNED'))).toBe(false);
  });

  it('refuses an object of a class outside the message classes (an email.header.Header in a header)', async () => {
    expect(() => unpickleMessage(Buffer.alloc(0))).toThrow();
    let refused: unknown;
    try {
      unpickleMessage(readFileSync(join(dir, 'header-object.pck')));
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: 'SY_IMPORT_UNSAFE', message: expect.stringContaining('email.header.Header') });
  });

  it('the plain-data mode (Mailman 2.1 config.pck) still refuses every object', async () => {
    expect(() => readPickle(Buffer.from([]))).toThrow(/no STOP/);
    let refused: unknown;
    try {
      readPickle(await fixture('latin1-lf.pck'));
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: 'SY_IMPORT_UNSAFE', message: expect.stringContaining('mailman.email.message.Message') });
  });

  it("finds a message by Mailman's Message-ID-Hash and refuses a path from the database that is not one", () => {
    // The hash Mailman 3.3 wrote for <held-1@example.net> (X-Message-ID-Hash of the held post in mailman3-import.test.ts).
    expect(messageIdHash('<held-1@example.net>')).toBe('YEM4D66ANYONNBMVZ7C4WVIVJ6CPXM63');
    expect(messageStorePath('YEM4D66ANYONNBMVZ7C4WVIVJ6CPXM63')).toBe('YE/M4/YEM4D66ANYONNBMVZ7C4WVIVJ6CPXM63');
    expect(storedMessageFile('/var/lib/mailman3/messages', 'YE/M4/YEM4D66ANYONNBMVZ7C4WVIVJ6CPXM63')).toBe('/var/lib/mailman3/messages/YE/M4/YEM4D66ANYONNBMVZ7C4WVIVJ6CPXM63');
    expect(() => storedMessageFile('/var/lib/mailman3/messages', '../../../etc/shadow')).toThrow(expect.objectContaining({ code: 'SY_IMPORT_UNSAFE' }));
  });
});
