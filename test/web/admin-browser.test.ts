/**
 * The web admin in a real browser (Debian's chromium through playwright-core,
 * test/support/browser.ts) against a real master: log in by the link mailed
 * to the saving SMTP sink, approve a held post and see it reach the members
 * at the sink, change a setting, add a member, read the runners page, and
 * browse an archived thread. A screenshot of each page goes to
 * test-artifacts/screenshots/admin-*.png for a person to look at.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { freePort } from '../support/net.js';
import { launchBrowser, type BrowserHandle } from '../support/browser.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { createList, getListSetting, setListValue } from '../../src/app/lists.js';
import { addMember, listMembers } from '../../src/app/membership.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { mailedLoginLink } from '../http/admin-client.js';

const LIST = 'team@lists.example.org';
const OWNER = 'owner@example.org';
const TIMEOUT = 240_000;

let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let browser: BrowserHandle;
let base: string;
let lmtpPort: number;

async function deliver(from: string, raw: string): Promise<void> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    await transport.sendMail({ envelope: { from, to: [LIST] }, raw: Buffer.from(raw.replace(/\r?\n/g, '\r\n')) });
  } finally {
    transport.close();
  }
}

const post = (from: string, id: string, subject: string, body: string, extra = '') =>
  `From: ${from}\nTo: Team <${LIST}>\nSubject: ${subject}\nMessage-ID: <${id}@example.org>\nDate: Sat, 05 Dec 2026 10:00:00 +0000\n${extra}MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n${body}\n`;

const withId = (id: string) => (t: SinkTransaction) => t.body !== undefined && RawMessage.parse(t.body).get('message-id') === `<${id}@example.org>`;

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  const port = await freePort();
  lmtpPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Only the runners this test's mail goes through (posts: incoming, outgoing, archive; the login link and
  // held-post notices: virgin), not bounces, command, retry or the scheduler: fewer node processes to start.
  home = await makeHome(testConfig(`[http]\nport = ${port}\nrateLimit = 100000\n\n[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n[site]\nowner = "${OWNER}"\n\n${builtInRunnersOff(['incoming', 'outgoing', 'archive', 'virgin'])}\n${schedulerOff()}`));
  // Set up in this process, as `switchyard lists create/set`, `members add` would (the CLI is tested in test/cli): six CLI start-ups fewer.
  await withHomeApp(home, async (app) => {
    strict(await createList(app, { address: LIST, owners: [OWNER], displayName: 'Team' }));
    await setListValue(app, LIST, 'description', 'Planning and release talk for the team.');
    await setListValue(app, LIST, 'archiveUrl', `${base}/archives/${LIST}/`);
    for (const member of ['ann@example.org', 'bob@example.org', 'carol@example.net']) await addMember(app, LIST, { address: member });
  });
  master = await startMaster(home);
  await deliver('ann@example.org', post('Ann <ann@example.org>', 'root', 'Release plan for January', 'Here is the plan:\n\n1. Freeze on the 10th\n2. Ship on the 20th\n\nComments welcome.'));
  await deliver('bob@example.org', post('Bob <bob@example.org>', 'reply', 'Re: Release plan for January', '> 1. Freeze on the 10th\n\nThe 12th works better for me.', 'In-Reply-To: <root@example.org>\nReferences: <root@example.org>\n'));
  await deliver('carol@example.net', post('Carol <carol@example.net>', 'reply-2', 'Re: Release plan for January', 'Agreed with Bob.', 'In-Reply-To: <reply@example.org>\nReferences: <root@example.org> <reply@example.org>\n'));
  await deliver('guest@example.com', post('Guest <guest@example.com>', 'held', 'Can I join the release call?', 'Hello, I am not on the list yet. Could I listen in on the call?\n\n-- \nGuest'));
  await deliver('promo@example.biz', post('Promo <promo@example.biz>', 'spam', 'CHEAP <b>watches</b>', '<a href="http://spam.example/">buy now</a>'));
  await sink.until(() => ['root', 'reply', 'reply-2'].every((id) => sink.accepted.some(withId(id))), 'the three members\' posts delivered');
  browser = await launchBrowser();
}, TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await master?.stop();
  await sink?.close();
  if (home !== undefined) await removeHome(home);
});

it('logs in by the mailed link, approves a held post (delivered to the members), changes a setting, adds a member, browses an archived thread', async () => {
  const { page } = browser;
  const enc = encodeURIComponent;

  // Log in.
  await page.goto(`${base}/login`);
  await browser.screenshot('admin-01-login');
  await page.getByLabel('Your email address').fill(OWNER);
  await page.getByRole('button', { name: 'Mail me a login link' }).click();
  await page.getByRole('heading', { name: 'Check your mail' }).waitFor();
  await browser.screenshot('admin-02-check-your-mail');
  const link = await mailedLoginLink(sink, OWNER);
  await page.goto(link);
  await browser.screenshot('admin-03-login-link');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'My lists' }).waitFor();
  expect(page.url()).toBe(`${base}/admin`);
  await browser.screenshot('admin-04-my-lists');

  // The list's overview, then the moderation queue.
  await page.getByRole('link', { name: 'Team' }).first().click();
  await page.getByRole('heading', { name: 'Team' }).waitFor();
  await browser.screenshot('admin-05-overview');
  await page.getByRole('navigation', { name: 'list pages' }).getByRole('link', { name: 'Held posts' }).click();
  await page.getByRole('heading', { name: 'Held posts' }).waitFor();
  await browser.screenshot('admin-06-held-queue');
  await page.getByRole('link', { name: 'Can I join the release call?' }).click();
  await browser.screenshot('admin-07-held-post');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByText(/Post #\d+ approved\./).waitFor();
  await browser.screenshot('admin-08-approved');
  await sink.until(() => sink.accepted.some((t) => withId('held')(t) && t.recipients.includes('carol@example.net')), 'the approved post at a member');
  const delivered = sink.accepted.filter(withId('held')).flatMap((t) => t.recipients).sort();
  expect(delivered).toEqual(['ann@example.org', 'bob@example.org', 'carol@example.net']);

  // A setting.
  await page.goto(`${base}/admin/lists/${enc(LIST)}/settings/acceptance`);
  await browser.screenshot('admin-09-settings-acceptance');
  await page.getByLabel('maxMessageSize').fill('lots');
  await page.getByRole('button', { name: 'Save message acceptance' }).click();
  await page.getByText('list setting maxMessageSize: expected a number').waitFor();
  await browser.screenshot('admin-10-settings-error');
  await page.getByLabel('maxMessageSize').fill('100');
  await page.getByRole('button', { name: 'Save message acceptance' }).click();
  await page.getByText('Message acceptance saved.').waitFor();
  // Read from the store in this process (what `lists show` prints; tested in test/cli).
  expect(await withHomeApp(home, (app) => getListSetting(app, LIST, 'maxMessageSize'))).toBe(100);

  // A member.
  await page.getByRole('navigation', { name: 'list pages' }).getByRole('link', { name: 'Members' }).click();
  await page.getByLabel('Address', { exact: true }).fill('dave@example.org');
  await page.getByLabel('Name optional').fill('Dave');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByText('dave@example.org added as member.').waitFor();
  await browser.screenshot('admin-11-members');
  expect((await withHomeApp(home, (app) => listMembers(app, LIST))).map((member) => member.address)).toContain('dave@example.org');

  for (const [tab, name] of [['requests', 'admin-12-requests'], ['bounces', 'admin-13-bounces']] as const) {
    await page.goto(`${base}/admin/lists/${enc(LIST)}/${tab}`);
    await browser.screenshot(name);
  }
  await page.goto(`${base}/admin/status`);
  await page.getByRole('heading', { name: 'Runners and queues' }).waitFor();
  await browser.screenshot('admin-14-status');

  // The archive.
  await page.goto(`${base}/archives/${enc(LIST)}/`);
  await browser.screenshot('admin-15-archive-months');
  await page.getByRole('link', { name: new RegExp(`${new Date().toLocaleString('en', { month: 'long', timeZone: 'UTC' })} \\d{4}`) }).click();
  await page.getByText(/messages? in \d+ threads?/).waitFor();
  await browser.screenshot('admin-16-archive-month');
  await page.getByRole('heading', { name: /Release plan for January/ }).getByRole('link').click();
  await browser.screenshot('admin-17-archive-thread');
  await page.getByRole('link', { name: /Re: .*Release plan for January|Release plan for January/ }).nth(1).click();
  await page.getByText('The 12th works better for me.').waitFor();
  await expect(page.getByText(/Archived-At:/)).toBeDefined();
  await browser.screenshot('admin-18-archive-message');
});
