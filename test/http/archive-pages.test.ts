/**
 * The archives on the web through a real master: members' posts go in by
 * LMTP, through the pipeline (which gives each an Archived-At naming its
 * archive page), out to the SMTP sink and into the archive runner's mbox;
 * the pages show the months, the month's threads (by In-Reply-To and
 * References), each message escaped with its attachments listed and its
 * Archived-At URL; a private archive only to logged-in members; and no URL
 * reaches a file outside the list's own archive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import nodemailer from 'nodemailer';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { createList, setListValue } from '../../src/app/lists.js';
import { addMember } from '../../src/app/membership.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { logIn, WebClient } from './admin-client.js';

const LIST = 'team@lists.example.org';
const OTHER = 'other@lists.example.org';
const MEMBER = 'ann@example.org';
const TIMEOUT = 180_000;

let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let base: string;
let port: number;
let lmtpPort: number;
const enc = encodeURIComponent;

/** `switchyard lists set LIST KEY VALUE`, done in this process (the CLI is tested in test/cli): no CLI start-up (~0.35 s of CPU). */
const setList = (key: string, value: string) => withHomeApp(home, (app) => setListValue(app, LIST, key, value));

async function post(raw: string): Promise<void> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    await transport.sendMail({ envelope: { from: MEMBER, to: [LIST] }, raw: Buffer.from(raw.replace(/\r?\n/g, '\r\n')) });
  } finally {
    transport.close();
  }
}

function message(id: string, subject: string, body: string, extra = ''): string {
  return `From: Ann <${MEMBER}>\nTo: ${LIST}\nSubject: ${subject}\nMessage-ID: <${id}@example.org>\nDate: Sat, 05 Dec 2026 10:00:00 +0000\n${extra}MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n${body}\n`;
}

/** GET over a raw socket: the path exactly as given, not normalised by a client. */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers: { accept: 'text/html' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function monthPage(client: WebClient, month: string, count: number): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const page = await client.get(`/archives/${enc(LIST)}/${month}/`);
    if ((page.status === 200 && page.text.includes(`${count} messages`)) || Date.now() > deadline) return page.text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

let month: string;

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  port = await freePort();
  lmtpPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Only the runners the posts and login links go through (incoming, outgoing, archive; virgin), not bounces, command, retry, scheduler.
  home = await makeHome(testConfig(`[http]\nport = ${port}\nrateLimit = 100000\n\n[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n${builtInRunnersOff(['incoming', 'outgoing', 'archive', 'virgin'])}\n${schedulerOff()}`));
  // Set up in this process, as `lists create/set` and `members add` would.
  await withHomeApp(home, async (app) => {
    strict(await createList(app, { address: LIST, owners: ['owner@example.org'] }));
    strict(await createList(app, { address: OTHER, owners: ['stranger@example.org'] }));
    await addMember(app, LIST, { address: MEMBER });
    await addMember(app, LIST, { address: 'bob@example.org' });
    await setListValue(app, LIST, 'archiveUrl', `${base}/archives/${LIST}/`);
  });
  master = await startMaster(home);
  await post(message('root', 'Plans for the release', 'What do we ship?'));
  await post(message('reply-1', 'Re: Plans for the release', 'The archive pages.', 'In-Reply-To: <root@example.org>\nReferences: <root@example.org>\n'));
  await post(message('reply-2', 'Re: Plans for the release', 'And <script>alert(1)</script> tests.', 'In-Reply-To: <reply-1@example.org>\nReferences: <root@example.org> <reply-1@example.org>\n'));
  await post(
    `From: Ann <${MEMBER}>\nTo: ${LIST}\nSubject: Minutes attached\nMessage-ID: <minutes@example.org>\nDate: Sat, 05 Dec 2026 11:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nSee the minutes.\n--b\nContent-Type: application/pdf; name="minutes.pdf"\nContent-Disposition: attachment; filename="minutes.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\n--b--\n`,
  );
  await sink.until(() => sink.accepted.filter((t) => t.recipients.includes('bob@example.org')).length >= 4, 'the four posts at a member');
  month = new Date().toISOString().slice(0, 7);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home !== undefined) await removeHome(home);
});

describe('archive pages', () => {
  it("list the months, and a month's threads built from In-Reply-To and References", async () => {
    const client = new WebClient(base);
    const text = await monthPage(client, month, 4);
    expect(text).toContain('4 messages in 2 threads');
    const months = await client.get(`/archives/${enc(LIST)}/`);
    expect(months.status).toBe(200);
    expect(months.text).toContain(`href="/archives/${LIST}/${month}/"`);
    const thread = /<section class="card thread"><h2><a href="([^"]+)">[^<]*Plans for the release<\/a><\/h2>[\s\S]*?<\/section>/.exec(text);
    expect(thread).not.toBeNull();
    expect(thread![0]).toContain('class="depth-1"');
    expect(thread![0]).toContain('class="depth-2"');
    expect((thread![0].match(/<li/g) ?? []).length).toBe(3);
    const tree = await client.get(thread![1]!);
    expect(tree.status).toBe(200);
    expect((/<ul class="thread-tree">[\s\S]*?<\/ul>/.exec(tree.text)![0].match(/<li/g) ?? []).length).toBe(3);
  });

  it("show one message escaped, its attachments listed not inlined, and the Archived-At URL the delivered copy carries", async () => {
    const client = new WebClient(base);
    await monthPage(client, month, 4);
    const delivered = sink.accepted.find((t) => t.recipients.includes('bob@example.org') && RawMessage.parse(t.body!).get('message-id') === '<reply-2@example.org>')!;
    const archivedAt = RawMessage.parse(delivered.body!).get('archived-at')!;
    expect(archivedAt).toMatch(new RegExp(`^<${base.replace(/[.]/g, '\\.')}/archives/${LIST.replace(/[.]/g, '\\.')}/m/[0-9a-f]{32}>$`));
    const url = new URL(archivedAt.slice(1, -1));
    const page = await client.get(url.pathname);
    expect(page.status).toBe(200);
    expect(page.text).toContain('And &lt;script&gt;alert(1)&lt;/script&gt; tests.');
    expect(page.text).not.toMatch(/<script/i);
    expect(page.text).toContain(`${archivedAt.slice(1, -1)}</a>`);
    expect(page.text).toContain('Previous in thread');
    const minutes = sink.accepted.find((t) => RawMessage.parse(t.body!).get('message-id') === '<minutes@example.org>')!;
    const attached = await client.get(new URL(RawMessage.parse(minutes.body!).get('archived-at')!.slice(1, -1)).pathname);
    expect(attached.text).toContain('minutes.pdf');
    expect(attached.text).toContain('application/pdf');
    expect(attached.text).not.toContain('JVBERi0');
    expect(attached.text).not.toMatch(/<(img|object|embed|iframe)/i);
  });

  it('refuse every path that is not a list, a month, or an id: 404 SY_ARCHIVE_NOT_FOUND, no file outside the archive read', async () => {
    for (const path of [
      '/archives/..%2F..%2Fswitchyard.db/',
      '/archives/..%2F..%2Fswitchyard.db',
      `/archives/${enc(LIST)}/..%2F..%2Fswitchyard.db/`,
      `/archives/${enc(LIST)}/m/..%2F..%2F..%2Fswitchyard.db`,
      `/archives/${enc(LIST)}/t/..%2F..%2Fsite-secret.json`,
      `/archives/${enc('../../switchyard.db@lists.example.org')}/`,
      `/archives/..%252F..%252Fswitchyard.db/`,
      `/archives/team%00@lists.example.org/`,
    ]) {
      const answer = await rawGet(path);
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).toContain('SY_ARCHIVE_NOT_FOUND');
      expect(answer.body).not.toContain('SQLite format');
    }
    for (const path of ['/archives/../switchyard.db', `/archives/${LIST}/../../switchyard.db`, '/archives/%2e%2e/%2e%2e/switchyard.db', `/archives/${LIST}/m/../../../site-secret.json`]) {
      const answer = await rawGet(path);
      expect(answer.status, path).toBe(404);
      expect(answer.body).not.toContain('SQLite format');
      expect(answer.body).not.toContain('"keys"');
    }
  });
});

describe('a private archive', () => {
  it('is shown only to its logged-in members: others are sent to log in (anonymous) or refused (403)', async () => {
    await setList('archivePolicy', 'private');
    try {
      const anonymous = new WebClient(base);
      for (const path of [`/archives/${enc(LIST)}/`, `/archives/${enc(LIST)}/${month}/`]) {
        const answer = await anonymous.get(path);
        expect(answer.status, path).toBe(303);
        expect(answer.location).toBe('/login');
      }
      const outsider = new WebClient(base);
      await logIn(outsider, sink, 'stranger@example.org');
      expect((await outsider.get(`/archives/${enc(LIST)}/${month}/`)).status).toBe(403);
      const member = new WebClient(base);
      await logIn(member, sink, MEMBER);
      const shown = await member.get(`/archives/${enc(LIST)}/${month}/`);
      expect(shown.status).toBe(200);
      expect(shown.text).toContain('Plans for the release');
      expect((await member.get('/admin')).text).toContain(`/archives/${enc(LIST)}/`);
    } finally {
      await setList('archivePolicy', 'public');
    }
  });
});
