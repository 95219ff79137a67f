/**
 * Everything a real MTA could deliver reaches a defined outcome in a real
 * incoming runner: accepted (forwarded to `out`), held with a reason, or in
 * `shunt` with the error. Never a crashed runner (each test posts a normal
 * message afterwards and sees it through), never a lost entry (every entry
 * is found in exactly one place).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LIST, plainPost } from './fixtures/messages.js';
import { cleanup, closeIncomingFile, closeStores, setupIncoming, type IncomingSetup } from './harness.js';

afterAll(closeIncomingFile);

afterEach(async () => {
  await cleanup();
  await closeStores();
});

const MEMBER_HEAD = `From: anne@example.org\r\nTo: ${LIST}\r\nSubject: test\r\n`;

/** Where the entry ended up: 'out', 'held', or 'shunt' (exactly one of them). */
async function whereIs(setup: IncomingSetup, before: { out: number; held: number; shunt: number }): Promise<string> {
  const out = (await setup.entries('out')).length - before.out;
  const held = (await setup.store.countHeld(LIST)) - before.held;
  const shunt = (await setup.entries('shunt')).length - before.shunt;
  expect(out + held + shunt).toBe(1);
  return out === 1 ? 'out' : held === 1 ? 'held' : 'shunt';
}

async function counts(setup: IncomingSetup) {
  return { out: (await setup.entries('out')).length, held: await setup.store.countHeld(LIST), shunt: (await setup.entries('shunt')).length };
}

async function stillWorks(setup: IncomingSetup): Promise<void> {
  const before = await counts(setup);
  const { outcome } = await setup.post(plainPost());
  expect(outcome).toBe('forwarded');
  expect(await whereIs(setup, before)).toBe('out');
}

function manyParts(count: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(`--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`);
  return Buffer.from(`${MEMBER_HEAD}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts.join('')}--b--\r\n`);
}

const CASES: Array<[string, () => Buffer, string]> = [
  ['no header at all', () => Buffer.from('just a line of text\r\nand another\r\n'), 'held'],
  ['an empty message', () => Buffer.alloc(0), 'held'],
  ['binary garbage', () => Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 256)), 'held'],
  [
    'broken MIME (no closing boundary, a part without header end, a bad base64 part)',
    () =>
      Buffer.from(
        `${MEMBER_HEAD}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\nContent-Type: text/plain\r\n--zz\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64@@@\r\n`,
      ),
    'out',
  ],
  [
    'an invalid charset',
    () => Buffer.from(`${MEMBER_HEAD}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=x-no-such-charset-42\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe caf\xe9\r\n`, 'latin1'),
    'out',
  ],
  [
    '8-bit header fields (raw UTF-8 and Latin-1 in From and Subject)',
    () => Buffer.from(`From: Jürgen Müller <anne@example.org>\r\nTo: ${LIST}\r\nSubject: Grüße \xe9t\xe9\r\n\r\nbody\r\n`, 'latin1'),
    'out',
  ],
  [
    '10,000 header fields',
    () => Buffer.from(`${MEMBER_HEAD}${Array.from({ length: 10_000 }, (_, i) => `X-Trace-${i}: hop ${i}\r\n`).join('')}\r\nbody\r\n`),
    'out',
  ],
  // mailparser refuses a header over its limit: held by the unparseable rule, with its error as the reason.
  ['a folded header of 1 MB', () => Buffer.from(`${MEMBER_HEAD}X-Long: ${'a'.repeat(70).concat('\r\n ').repeat(15_000)}\r\n\r\nbody\r\n`), 'held'],
  // mailparser stops at its child-node limit: held likewise.
  ['20,000 MIME parts', () => manyParts(20_000), 'held'],
  ['a 25 MB attachment', () => Buffer.concat([Buffer.from(`${MEMBER_HEAD}Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n`), Buffer.alloc(25 * 1024 * 1024, 'QUJD')]), 'held'],
  ['a NUL byte in the header', () => Buffer.from(`${MEMBER_HEAD}X-Nul: a\x00b\r\n\r\nbody\r\n`, 'latin1'), 'out'],
  ['bare CR line endings', () => Buffer.from(`From: anne@example.org\rTo: ${LIST}\rSubject: cr\r\rbody\r`), 'held'],
];

describe('bad input reaches a defined outcome', () => {
  it.each(CASES)('%s', async (_, build, expected) => {
    const setup = await setupIncoming({ settings: { requireExplicitDestination: true } });
    const before = await counts(setup);
    const { outcome } = await setup.post(build());
    expect(['forwarded', 'finished', 'shunt']).toContain(outcome);
    expect(await whereIs(setup, before)).toBe(expected);
    if (expected === 'held') expect((await setup.store.heldMessages(LIST))[0]!.reason).not.toBe('');
    await stillWorks(setup);
  });

  it('a MIME bomb costs one entry: the parse times out in the pool, the entry goes to shunt with the error, the runner goes on', async () => {
    // 25 MB of quoted-printable text takes mailparser seconds: far past a 1 s limit.
    const setup = await setupIncoming({ options: { parseTimeout: '1s', parseMaxSize: 64 * 1024 * 1024 }, settings: { maxMessageSize: 0 } });
    const bomb = Buffer.from(`${MEMBER_HEAD}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${'=C3=A9'.repeat(12).concat('=\r\n').repeat(340_000)}\r\n`);
    const before = await counts(setup);
    const { outcome } = await setup.post(bomb);
    expect(outcome).toBe('shunt');
    expect(await whereIs(setup, before)).toBe('shunt');
    const [shunted] = await setup.entries('shunt');
    expect(shunted!.control.error).toMatchObject({ name: 'TaskTimeoutError' });
    expect(shunted!.control.reason).toMatch(/exceeded its 1000 ms limit/);
    expect(shunted!.message.equals(bomb)).toBe(true);
    await stillWorks(setup);
  });
});
