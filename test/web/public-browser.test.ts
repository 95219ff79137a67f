/**
 * The public pages in a real browser (Debian's chromium through
 * playwright-core, test/support/browser.ts) against a real master with a
 * saving SMTP sink: open the start page and a list's page, subscribe, read
 * the confirmation mail at the sink, open its link, confirm, see the member
 * added (CLI); then a post: one-click POST (fetch) from the member's copy's
 * List-Unsubscribe URL removes them, and the button of another member's
 * link in the browser does the same. Screenshots of each page go to
 * test-artifacts/screenshots/public-*.png.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, type BrowserHandle } from '../support/browser.js';
import { createList } from '../../src/app/lists.js';
import { addMember } from '../../src/app/membership.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { confirmationLink, copiesOf, members, oneClickUrl, post, startSite, type Site } from '../http/public-harness.js';

const LIST = 'team@lists.example.org';
const TIMEOUT = 300_000;

let site: Site;
let browser: BrowserHandle;

beforeAll(async () => {
  // The runners this test's mail goes through (the post: incoming, outgoing; the confirmation mail: virgin, outgoing), not the others.
  site = await startSite({ runners: ['incoming', 'outgoing', 'virgin'] });
  // Set up in this process, as `switchyard lists create` / `members add` would (the CLI is tested in test/cli): three CLI start-ups fewer.
  await withHomeApp(site.home, async (app) => {
    strict(await createList(app, { address: LIST, displayName: 'Team Talk', description: 'Where the team talks about the week: plans, questions, and what shipped.' }));
    strict(await createList(app, { address: 'announce@lists.example.org', displayName: 'Announcements', description: 'Releases and downtime notices. Low traffic.' }));
    await addMember(app, LIST, { address: 'ann@example.org' });
  });
  browser = await launchBrowser();
}, TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

it('subscribe from the list page, confirm from the mailed link, then leave by one-click POST and by the button', async () => {
  const { page } = browser;
  await page.goto(`${site.base}/`);
  expect(await page.locator('h1').textContent()).toBe('Mailing lists');
  await browser.screenshot('public-01-start-page');

  await page.getByRole('link', { name: 'Team Talk' }).click();
  await page.waitForURL(`${site.base}/lists/${LIST}`);
  expect(await page.locator('h1').textContent()).toBe('Team Talk');
  await browser.screenshot('public-02-list-page');

  await page.getByLabel('Your email address').fill('zoe@example.org');
  await page.getByLabel(/Your name/).fill('Zoe');
  await page.getByRole('button', { name: 'Subscribe' }).click();
  await page.waitForURL(`${site.base}/lists/${LIST}/subscribe`);
  expect(await page.locator('h1').textContent()).toBe('Check your mail');
  await browser.screenshot('public-03-check-your-mail');
  expect(await members(site, LIST)).toEqual(['ann@example.org']);

  const link = await confirmationLink(site, 'zoe@example.org', LIST);
  await page.goto(link);
  expect(await page.locator('h1').textContent()).toBe('Join Team Talk?');
  await browser.screenshot('public-04-confirm');
  await page.getByRole('button', { name: 'Confirm subscription' }).click();
  await page.waitForURL(link);
  expect(await page.locator('h1').textContent()).toBe('Welcome to Team Talk');
  await browser.screenshot('public-05-welcome');
  expect(await members(site, LIST)).toEqual(['ann@example.org', 'zoe@example.org']);

  await post(site, LIST, 'Plans for the week', 'browser-1@example.org');
  const copies = await copiesOf(site, 'browser-1@example.org', 2);
  const urlOf = (address: string): string => site.local(oneClickUrl(copies.find((c) => c.recipients.includes(address))!.body!));

  // What the mailbox provider does: POST List-Unsubscribe=One-Click to the URL.
  const posted = await fetch(urlOf('zoe@example.org'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  expect(posted.status).toBe(200);
  expect(await members(site, LIST)).toEqual(['ann@example.org']);

  // What a person does who opens the link: a page with a button; the visit alone changes nothing.
  await page.goto(urlOf('ann@example.org'));
  expect(await page.locator('h1').textContent()).toBe('Leave Team Talk?');
  await browser.screenshot('public-06-one-click-page');
  expect(await members(site, LIST)).toEqual(['ann@example.org']);
  await page.getByRole('button', { name: 'Unsubscribe' }).click();
  await page.waitForLoadState();
  expect(await page.locator('h1').textContent()).toBe('Unsubscribed');
  await browser.screenshot('public-07-unsubscribed');
  expect(await members(site, LIST)).toEqual([]);

  await page.goto(`${site.base}/lists/${LIST}/unsubscribe`);
  await browser.screenshot('public-08-unsubscribe-form');
  await page.goto(`${site.base}/u/not-a-token`);
  expect(await page.locator('h1').textContent()).toBe('Not found');
  await browser.screenshot('public-09-invalid-link');
}, TIMEOUT);
