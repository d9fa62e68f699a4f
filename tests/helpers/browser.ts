// Real headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
// playwright-core (no browser download; .ci/run installs the chromium package). Each
// launch gets a fresh profile (playwright makes a temporary user-data dir and removes it
// on close); each user gets a browser context of their own (separate localStorage).
// Pages open the web app served by the test stack (TEST_API_URL).
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { apiUrl } from './http';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..');
export const SCREENSHOTS = path.join(ROOT, 'artifacts', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does it)`);
  if (!fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html'))) throw new Error('web/dist is missing: run `npm run build:web` (npm test builds it)');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** uncaught errors in the page (a test may assert it stays empty) */
  errors: string[];
}

/** A fresh context (own storage) and page on the app; desktop size unless a viewport is given. */
export async function newPage(browser: Browser, opts: { viewport?: { width: number; height: number }; lang?: 'zh' | 'en'; isMobile?: boolean } = {}): Promise<TestPage> {
  const context = await browser.newContext({
    baseURL: apiUrl(),
    viewport: opts.viewport ?? { width: 1280, height: 900 },
    isMobile: opts.isMobile,
    hasTouch: opts.isMobile,
    locale: opts.lang === 'en' ? 'en-GB' : 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  if (opts.lang) await context.addInitScript(`localStorage.setItem('ic.lang', ${JSON.stringify(opts.lang)})`); // strings: the root tsconfig has no DOM types
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

/** Logs in through the login form and waits for the inbox. */
export async function loginAs(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/#/login');
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.locator('[data-testid=login-form] button[type=submit]').click();
  await page.locator('[data-testid=user-name]').waitFor();
}

/** Saves artifacts/screenshots/<name>.png (git-ignored) and returns its path. */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? true });
  return file;
}

/** No horizontal scrolling: the document is not wider than the window. */
export async function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate<{ scrollWidth: number; innerWidth: number }>('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })');
}
