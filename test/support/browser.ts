/**
 * A real browser for the web tests: Debian's chromium (/usr/bin/chromium,
 * installed by .ci/run with apt; never a downloaded browser) driven by
 * playwright-core, headless, with the flags that keep it off the network
 * (this machine's network is closed; only 127.0.0.1 is used), each launch
 * in a fresh temporary profile (playwright's). Screenshots
 * of each page go to test-artifacts/screenshots/ (ignored by git, kept by CI
 * as artifacts) so that a person can look at them.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../test-artifacts/screenshots');

const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions', '--metrics-recording-only', '--no-default-browser-check'];

export interface BrowserHandle {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** A full-page PNG of the current page as test-artifacts/screenshots/NAME.png; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserHandle> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    context,
    page,
    async screenshot(name) {
      const path = join(SCREENSHOT_DIR, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      // playwright's own temporary profile goes with the browser.
      await browser.close();
    },
  };
}
