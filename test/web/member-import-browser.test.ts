/**
 * The web admin's member import in a real browser (Debian's chromium through
 * playwright-core, test/support/browser.ts) against a real master: with
 * JavaScript, a CSV file chosen in the file input is sent by the page's
 * script under the strict Content-Security-Policy and its progress shown in
 * the <progress> and the table of rows not imported; without JavaScript,
 * the pasted CSV is posted as a form and a summary page answers. The members
 * are then read back from the store by the test's own process (another than
 * the master's HTTP service). Screenshots: test-artifacts/screenshots/import-*.png.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import { launchBrowser, SCREENSHOT_DIR, type BrowserHandle } from '../support/browser.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { createApiToken } from '../../src/app/api-tokens.js';
import { createList } from '../../src/app/lists.js';
import { listMembers } from '../../src/app/membership.js';
import type { Page } from 'playwright-core';

const LIST = 'crowd@lists.example.org';
const TIMEOUT = 240_000;
const enc = encodeURIComponent;

let home: string;
let master: MasterHandle;
let browser: BrowserHandle;
let base: string;
let adminToken: string;

/** The list's members (what `members list --role member` shows), read from the store in this process: no CLI start-up (~0.35 s of CPU). */
async function memberAddresses(): Promise<string[]> {
  return (await withHomeApp(home, (app) => listMembers(app, LIST, { role: 'member' }))).map((m) => m.address);
}

async function logInWithToken(page: Page): Promise<void> {
  await page.goto(`${base}/login`);
  await page.locator('details summary').click();
  await page.fill('#token', adminToken);
  await Promise.all([page.waitForURL(`${base}/admin`), page.click('text=Log in with the token')]);
}

beforeAll(async () => {
  const port = await freePort();
  const smtpPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  // No mail here: the HTTP service alone, no queue runner and no scheduler (each a node process to start).
  home = await makeHome(testConfig(`[http]\nport = ${port}\nrateLimit = 100000\n\n[smtp]\nport = ${smtpPort}\nprobeTimeout = 0\n\n${builtInRunnersOff()}\n${schedulerOff()}`));
  // Set up in this process, as `lists create` and `tokens create` would (the CLI is tested in test/cli).
  adminToken = await withHomeApp(home, async (app) => {
    strict(await createList(app, { address: LIST, owners: ['owner@example.org'] }));
    return (await createApiToken(app, { name: 'ops', role: 'admin' })).token;
  });
  master = await startMaster(home);
  browser = await launchBrowser();
}, TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await master?.stop();
  if (home !== undefined) await removeHome(home);
});

it('with JavaScript: a chosen CSV file is imported by the page\'s script, its progress and bad rows shown as they come', async () => {
  const { page } = browser;
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  await logInWithToken(page);
  await page.goto(`${base}/admin/lists/${enc(LIST)}/members`);
  await Promise.all([page.waitForURL(/\/members\/import$/), page.click('text=import members from a CSV file')]);
  // The script shows the file input (hidden without it).
  await expect.poll(() => page.isVisible('#import-file')).toBe(true);
  const rows = Array.from({ length: 3000 }, (_, i) => (i === 1500 ? 'not-an-address,Broken' : `fan${i}@example.org,Fan ${i}`));
  await page.setInputFiles('#import-file', { name: 'fans.csv', mimeType: 'text/csv', buffer: Buffer.from(`address,name\n${rows.join('\n')}\n`) });
  await page.click('#import-submit');
  // Waited for by locator: the page's policy refuses the string evaluation of waitForFunction.
  await page.locator('#import-status', { hasText: /^Import done/ }).waitFor({ timeout: 60_000 });
  expect(await page.textContent('#import-status')).toBe('Import done. 3000 of 3000 rows: 2999 added, 0 already members, 1 not imported.');
  expect(await page.locator('#import-bar').evaluate((bar: { value: number; max: number }) => [bar.value, bar.max])).toEqual([3000, 3000]);
  expect(await page.locator('#import-errors tbody tr').allTextContents()).toEqual([expect.stringContaining('1502not-an-addressSY_ADDRESS_INVALID')]);
  await browser.screenshot('import-with-script');
  expect(violations).toEqual([]);
  const members = await memberAddresses();
  expect(members).toHaveLength(2999);
  expect(members).toContain('fan2999@example.org');
}, TIMEOUT);

it('without JavaScript: the pasted CSV is posted as a form and the summary page lists the counts and the rows not imported', async () => {
  const context = await browser.browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await logInWithToken(page);
    await page.goto(`${base}/admin/lists/${enc(LIST)}/members/import`);
    expect(await page.isVisible('#import-file')).toBe(false);
    await page.fill('#import-csv', 'address,name,delivery_mode\nquiet1@example.org,Quiet One,plain\nfan1@example.org,,\nquiet2@example.org,,fortnightly\n');
    await Promise.all([page.waitForURL(`${base}/admin/lists/${enc(LIST)}/members/import`), page.click('#import-submit')]);
    expect(await page.textContent('h1')).toBe('Members imported');
    expect((await page.locator('.stat').allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim())).toEqual(['3 rows read', '1 added', '1 already members', '1 not imported']);
    expect(await page.locator('table tbody tr').allTextContents()).toEqual([expect.stringContaining('quiet2@example.orgSY_MEMBER_IMPORT_FIELD')]);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/import-without-script.png`, fullPage: true });
    expect(await memberAddresses()).toContain('quiet1@example.org');
  } finally {
    await context.close();
  }
}, TIMEOUT);
