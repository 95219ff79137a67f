/**
 * The header scan (runners/incoming/header-scan.ts) against mailparser in
 * the parse worker (runners/incoming/parse-worker.ts, called in this
 * process): on every post the scan decides, both give the same summary, and
 * the rules that read the summary (approved, administrivia, unparseable,
 * size) make the same decision on a real list with a moderator password and
 * administrivia on. Posts: the test corpora (bounces and pipeline messages,
 * many charsets and MIME shapes) and crafted plain text posts (commands,
 * Approved: lines, odd line endings, invalid UTF-8, NUL, long lines) under
 * every Content-Type and Content-Transfer-Encoding spelling the scan takes
 * or must refuse.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChain, type ChainContext } from '../../runners/incoming/chain.js';
import { scanSummary } from '../../runners/incoming/header-scan.js';
import summarize, { type MessageSummary } from '../../runners/incoming/parse-worker.js';
import { RULES } from '../../runners/incoming/rules/index.js';
import { normaliseHeaderLineEndings } from '../../src/mail/header-line-endings.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { hashModeratorPassword, openStore, type MailingList, type Store } from '../../src/store/index.js';
import { PROJECT_ROOT } from '../runners/harness.js';

const LIST = 'scan@lists.example.org';
const PASSWORD = 'let-me-in';
/** The rules that read the summary, in the default chain's order. */
const SUMMARY_RULES = ['approved', 'administrivia', 'unparseable', 'size'].map((name) => RULES.get(name));

let dir: string;
let store: Store;
let list: MailingList;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-header-scan-'));
  store = openStore(dir);
  const created = await store.createList({ address: LIST });
  // A small size limit, so that the size rule's reason (which names attachments) is compared too.
  list = { ...created, settings: { ...created.settings, moderatorPassword: hashModeratorPassword(PASSWORD), administrivia: true, maxMessageSize: 2 } };
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function corpus(): Promise<Array<[string, Buffer]>> {
  const found: Array<[string, Buffer]> = [];
  for (const sub of ['test/bounce/corpus', 'test/pipeline/messages']) {
    const folder = join(PROJECT_ROOT, sub);
    for (const name of (await readdir(folder)).filter((file) => file.endsWith('.eml')).sort()) found.push([`${sub}/${name}`, await readFile(join(folder, name))]);
  }
  return found;
}

const BODIES: Record<string, string | Buffer> = {
  prose: 'Hi all,\r\n\r\nthe build on main fails since this morning. Grüße, Anne\r\n',
  command: '\r\n  unsubscribe  \r\n',
  'command late': `${'a line\r\n'.repeat(9)}subscribe me\r\n`,
  'command eleventh': `${'a line\r\n'.repeat(10)}unsubscribe\r\n`,
  'approved line': `Approved: ${PASSWORD}\r\nthe post itself\r\n`,
  'approved wrong': 'Approved: not-it\r\nthe post itself\r\n',
  'lf only': 'first\nsecond\n\n\nthird\n',
  'bare cr': 'one\rtwo\r\nthree\r\r\nfour',
  'no final newline': 'just this',
  empty: '',
  'blank lines': '\r\n\r\n \t \r\n',
  long: `${'x'.repeat(1500)}\r\nhelp\r\n`,
  'invalid utf-8': Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x0d, 0x0a, 0xc3, 0x28, 0x0d, 0x0a, 0x68, 0x65, 0x6c, 0x70, 0x0d, 0x0a]),
  latin1: Buffer.from('caf\xe9\r\nunsubscribe\r\n', 'latin1'),
  nul: 'a\0b\r\nwho\r\n',
  unicode: 'ünsubscribe\u2028help\r\n\u00a0info\u00a0\r\n',
  big: `help\r\n${'filler line of text\r\n'.repeat(200)}`,
};

const CONTENT_TYPES: Array<string | undefined> = [
  undefined,
  'text/plain',
  'text/plain; charset=utf-8',
  'TEXT/PLAIN; CHARSET="US-ASCII"',
  'text/plain;charset=utf8;',
  'text/plain; charset=ascii',
  'text/plain; charset=iso-8859-1',
  'text/plain; charset=utf-8; format=flowed',
  'text/plain; charset=utf-8; format=flowed; delsp=yes',
  'text/plain; name="notes.txt"',
  'text/html; charset=utf-8',
  'text/plain;\r\n charset=utf-8',
];
const ENCODINGS: Array<string | undefined> = [undefined, '7bit', '8BIT', 'binary', 'quoted-printable', 'base64', 'x-unknown'];
const EXTRA_HEADERS: Array<string[]> = [['Content-Disposition: inline'], ['Content-Disposition: attachment; filename="a.txt"'], ['Approved: wrong'], ['Subject: unsubscribe']];

function post(type: string | undefined, encoding: string | undefined, extra: readonly string[], body: string | Buffer): Buffer {
  const head = ['From: Anne <anne@example.org>', `To: ${LIST}`, 'Subject: a post', 'Message-ID: <scan@example.org>', 'MIME-Version: 1.0'];
  if (type !== undefined) head.push(`Content-Type: ${type}`);
  if (encoding !== undefined) head.push(`Content-Transfer-Encoding: ${encoding}`);
  for (const line of extra) {
    if (line.startsWith('Subject:')) head[2] = line;
    else head.push(line);
  }
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), Buffer.from(body)]);
}

/** Every body under every Content-Type and encoding; every body with each extra header, as plain UTF-8 8bit. */
function crafted(): Array<[string, Buffer]> {
  const posts: Array<[string, Buffer]> = [];
  for (const [bodyName, body] of Object.entries(BODIES)) {
    for (const type of CONTENT_TYPES) {
      for (const encoding of ENCODINGS) posts.push([`${bodyName} | ${type ?? '(no type)'} | ${encoding ?? '(no cte)'}`, post(type, encoding, [], body)]);
    }
    for (const extra of EXTRA_HEADERS) posts.push([`${bodyName} | ${extra.join(', ')}`, post('text/plain; charset=utf-8', '8bit', extra, body)]);
  }
  // Line-ending shapes of the header block itself.
  posts.push(['lf header', Buffer.from('From: anne@example.org\nContent-Type: text/plain\n\nhelp\n')]);
  posts.push(['no blank line', Buffer.from('From: anne@example.org\r\nContent-Type: text/plain\r\n')]);
  posts.push(['body starts without a blank line', Buffer.from('From: anne@example.org\r\nthis is not a field\r\nhelp\r\n')]);
  posts.push(['two content types', Buffer.from('From: anne@example.org\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n\r\n<b>help</b>\r\n')]);
  posts.push(['two encodings', Buffer.from('From: anne@example.org\r\nContent-Transfer-Encoding: 8bit\r\nContent-Transfer-Encoding: base64\r\n\r\naGVscA==\r\n')]);
  return posts;
}

async function decision(message: RawMessage, summary: MessageSummary) {
  const ctx: ChainContext = { list, message, summary, sender: 'anne@example.org', metadata: {}, store, limits: { maxHops: 25, maxFromAddresses: 10 }, log: pino({ level: 'silent' }) };
  const decided = await runChain(ctx, SUMMARY_RULES);
  return { ...decided, message: ctx.message.toBuffer().toString('latin1') };
}

/** Both paths on one post (bytes as the runner sees them); whether the scan decided it. */
async function compare(name: string, bytes: Buffer): Promise<boolean> {
  const repaired = normaliseHeaderLineEndings(bytes).message;
  const scanned = scanSummary(RawMessage.parse(repaired));
  if (scanned === undefined) return false;
  const parsed = await summarize({ message: repaired });
  expect(scanned, name).toEqual(parsed);
  expect(await decision(RawMessage.parse(repaired), scanned), name).toEqual(await decision(RawMessage.parse(repaired), parsed));
  return true;
}

describe('header scan', () => {
  it('gives the summary and the chain decisions mailparser gives, on every corpus message it decides', async () => {
    const messages = await corpus();
    let decided = 0;
    for (const [name, bytes] of messages) if (await compare(name, bytes)) decided++;
    // Most bounces are multipart; the plain text ones are decided here.
    expect(decided).toBeGreaterThanOrEqual(10);
    expect(decided).toBeLessThan(messages.length);
  });

  it('gives the same summary and decisions on crafted plain posts, and leaves every other shape to mailparser', async () => {
    const posts = crafted();
    const decidedNames: string[] = [];
    for (const [name, bytes] of posts) if (await compare(name, bytes)) decidedNames.push(name);
    // Every decided post is one text/plain part in an identity encoding, with no Content-Disposition.
    for (const name of decidedNames) {
      expect(name, name).not.toMatch(/iso-8859-1|flowed|name=|text\/html|\r\n charset|quoted-printable|base64|x-unknown|Content-Disposition|no blank line|without a blank|two /);
    }
    // And each such shape is decided (not merely left to the pool).
    expect(decidedNames).toContain('command | (no type) | (no cte)');
    expect(decidedNames).toContain('approved line | TEXT/PLAIN; CHARSET="US-ASCII" | binary');
    expect(decidedNames).toContain('invalid utf-8 | text/plain;charset=utf8; | 8BIT');
    expect(decidedNames).toContain('approved line | Approved: wrong');
    expect(decidedNames).toContain('command | Subject: unsubscribe');
    expect(decidedNames).toContain('lf header');
    // Six Content-Types by four encodings, and the two extra headers that are no Content-Disposition.
    expect(decidedNames.length).toBe(Object.keys(BODIES).length * (6 * 4 + 2) + 1);
  });

  it('decides the posts the benchmark and the fixtures send: plain text in UTF-8, 8bit', () => {
    const post = Buffer.from('From: a@example.org\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nhello\r\n');
    expect(scanSummary(RawMessage.parse(post))).toEqual({ parsed: true, textLines: ['hello'], attachments: 0, attachmentBytes: 0 });
  });
});
