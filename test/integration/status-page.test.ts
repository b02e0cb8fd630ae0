/**
 * Issue 18: the status page at `/`, in Debian's Chromium driven by playwright-core, against a
 * real vitals watching a real MariaDB. The database is killed under the open page, which must
 * turn the row to fail and list the transition without a reload; the page must log no error,
 * break no CSP rule and ask no other origin; a caller without details must find no check name
 * in the DOM or in anything the browser received; and the page must work under a prefix.
 *
 * `UPDATE_SCREENSHOTS=1` also writes docs/status-page-{light,dark}.png from the run.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary, skipUnlessBinaries } from '../support/binaries.js';
import { tempDirs } from '../support/cleanup.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { REPO_ROOT } from '../support/repo.js';
import { controlled, settle, startVitals, type RunningVitals } from '../support/vitals.js';

const TOKEN = 'status-page-token-5f1c';
const NAMES = ['primary-db', 'scratch-disk', 'login-api', 'search-index'];
const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium dials Google's services, which this machine's network refuses.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What a page did that the test must see nothing of: errors, CSP violations, other origins. */
interface Watched {
  readonly page: Page;
  readonly errors: string[];
  readonly foreign: string[];
  /** Every response body the browser has received so far, for the leak check. */
  readonly bodies: () => Promise<string[]>;
  readonly navigations: () => number;
}

async function watch(context: BrowserContext, origin: string): Promise<Watched> {
  const page = await context.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  const bodies: string[] = [];
  const pending: Promise<void>[] = [];
  let navigations = 0;
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      errors.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) =>
    errors.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
  page.on('request', (request) => {
    const url = request.url();
    // The favicon the script draws is a data: URL, which is no request to anyone.
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) foreign.push(url);
  });
  page.on('response', (response) => {
    pending.push(
      response.text().then(
        (text) => void bodies.push(text),
        () => undefined,
      ),
    );
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  // An init script runs before the page's own, outside its CSP, and sees every violation.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return {
    page,
    errors,
    foreign,
    async bodies() {
      await Promise.all(pending);
      return bodies;
    },
    navigations: () => navigations,
  };
}

async function rowStatus(page: Page, name: string): Promise<string | null> {
  return page
    .locator(`#checks tr[data-check="${name}"] .status .badge`)
    .textContent({ timeout: 1000 })
    .catch(() => null);
}

/** A reverse proxy that serves vitals under /vitals/, as an ingress with a path prefix does. */
async function prefixProxy(target: number): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith('/vitals/')) {
      res.writeHead(url === '/vitals' ? 308 : 404, url === '/vitals' ? { location: '/vitals/' } : {});
      res.end();
      return;
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target, method: req.method, path: url.slice('/vitals'.length), headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}` };
}

describe.skipIf(skipUnlessBinaries(['chromium', 'mariadbd', 'mariadb-install-db'], 'status page in Chromium'))(
  'the status page in a real browser',
  () => {
    let db: MariaDb;
    let vitals: RunningVitals;
    let browser: Browser;
    let proxy: { server: Server; origin: string };
    let shots: string;
    const loginSecret = () => db.password;

    beforeAll(async () => {
      db = await startMariaDb();
      shots = await mkdtemp(path.join(tmpdir(), 'vitals-status-page-'));
      const scratch = await mkdtemp(path.join(tmpdir(), 'vitals-status-disk-'));
      tempDirs.add(shots);
      tempDirs.add(scratch);
      // A custom check whose error carries the database's password: the redactor knows it from
      // the mysql check, so it must reach neither the page nor its JSON.
      const login = controlled({ throw: new Error(`login refused for app:${db.password} at auth.internal`) });
      const search = controlled({ warn: 'index 12 minutes behind' });
      vitals = await startVitals(
        {
          // The browser comes from 127.0.0.1, which is not allowed: only the token authorizes.
          security: { details: 'authorized', allow: ['192.0.2.0/24'], token: TOKEN },
          checks: [
            {
              name: 'primary-db',
              kind: 'mysql',
              url: db.url({ user: db.user, password: db.password }),
              // Generous for a loaded CI machine: a killed server refuses at once whatever the timeout.
              interval: '1s',
              timeout: '900ms',
            },
            { name: 'scratch-disk', kind: 'disk', path: scratch, minFreeRatio: 0, interval: '1s', timeout: '500ms' },
          ],
        },
        [
          { name: 'login-api', critical: false, interval: 700, timeout: 300, run: login.run },
          { name: 'search-index', critical: false, interval: 900, timeout: 300, run: search.run },
        ],
        { firstResults: true },
      );
      proxy = await prefixProxy(vitals.port);
      const executablePath = findBinary('chromium') ?? '/usr/bin/chromium';
      browser = await chromium.launch({ executablePath, args: LAUNCH_ARGS });
    }, 90_000);

    afterAll(async () => {
      await browser.close();
      await new Promise((resolve) => proxy.server.close(resolve));
      await vitals.close();
      await db.close();
    });

    const authorized = (colorScheme: 'light' | 'dark' = 'light') =>
      browser.newContext({
        extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` },
        colorScheme,
        viewport: { width: 1100, height: 720 },
      });

    it('answers / with a strict CSP and the JSON route only to authorized callers', async () => {
      await settle(vitals, 'primary-db', 'pass');
      const page = await vitals.get('/');
      expect(page.status).toBe(200);
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
      expect(csp).toContain("connect-src 'self'");
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
      for (const name of NAMES) expect(page.body).not.toContain(name);

      const refused = await vitals.get('/api/v1/checks');
      expect(refused.status).toBe(403);
      expect(refused.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(refused.body)).toEqual({
        status: 'fail',
        error: 'per-check details are for authorized callers only',
      });
      const summary = await vitals.get('/api/v1/summary');
      expect(summary.status).toBe(200);
      expect(summary.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(summary.body)).toEqual({
        status: 'warn',
        version: vitals.vitals.version,
        draining: false,
        checks: 4,
        details: false,
      });
      const asAuthorized = await vitals.get('/api/v1/summary', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(JSON.parse(asAuthorized.body)).toMatchObject({ details: true });

      const api = await vitals.get('/api/v1/checks', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(api.status).toBe(200);
      expect(api.headers['cache-control']).toBe('no-store');
      const body = JSON.parse(api.body) as {
        checks: { name: string; kind: string; runs: unknown[]; output?: string }[];
      };
      expect(body.checks.map((c) => [c.name, c.kind])).toEqual([
        ['primary-db', 'mysql'],
        ['scratch-disk', 'disk'],
        ['login-api', 'custom'],
        ['search-index', 'custom'],
      ]);
      expect(body.checks[2]?.output).toBe('login refused for app:*** at auth.internal');
      expect(api.body).not.toContain(loginSecret());
    });

    it('shows every check, then turns primary-db to fail and lists the change when the database dies, without a reload', async () => {
      const context = await authorized();
      const watched = await watch(context, vitals.url);
      const { page } = watched;
      await page.goto(`${vitals.url}/`);
      await expect.poll(() => rowStatus(page, 'primary-db'), { timeout: 10_000 }).toBe('pass');
      expect(await rowStatus(page, 'scratch-disk')).toBe('pass');
      expect(await rowStatus(page, 'login-api')).toBe('fail');
      expect(await rowStatus(page, 'search-index')).toBe('warn');
      expect(await page.locator('#verdict').textContent()).toBe('readiness: warn');
      expect(await page.locator('#count').textContent()).toBe('4 checks');
      const login = page.locator('#checks tr[data-check="login-api"]');
      expect(await login.locator('.output').textContent()).toBe('login refused for app:*** at auth.internal');
      expect(await login.locator('td').nth(1).textContent()).toBe('custom');
      expect(await page.locator('#checks tr[data-check="primary-db"] .output').textContent()).toBe('');
      expect(await page.locator('#checks svg.spark').count()).toBe(4);

      await db.kill();
      await expect.poll(() => rowStatus(page, 'primary-db'), { timeout: 15_000 }).toBe('fail');
      expect(await page.locator('#verdict').textContent()).toBe('readiness: fail');
      const output = await page.locator('#checks tr[data-check="primary-db"] .output').textContent();
      expect(output).toMatch(/ECONNREFUSED|refused|connect/i);
      const change = page.locator('#transitions tr', { hasText: 'primary-db' }).first();
      expect(await change.locator('td').nth(2).textContent()).toBe('pass → fail');
      expect(await page.locator('#checks tr[data-check="primary-db"] .mark-fail').count()).toBeGreaterThan(0);
      expect(watched.navigations()).toBe(1);

      await db.restart();
      await expect.poll(() => rowStatus(page, 'primary-db'), { timeout: 30_000 }).toBe('pass');
      expect(await page.locator('#transitions tr', { hasText: 'fail → pass' }).count()).toBeGreaterThan(0);
      expect(watched.navigations()).toBe(1);
      await page.screenshot({ path: path.join(shots, 'status-page-light.png'), fullPage: true });

      // A maintenance window on the failing custom check: warn, and the window on its row.
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      const opened = await fetch(`${vitals.url}/-/maintenance`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ checks: ['login-api'], duration: '10m', reason: 'auth upgrade' }),
      });
      expect(opened.status).toBe(201);
      const { id } = (await opened.json()) as { id: string };
      await expect.poll(() => rowStatus(page, 'login-api'), { timeout: 10_000 }).toBe('warn');
      expect(await login.locator('.maint').textContent()).toMatch(/^maintenance until \d\d:\d\d:\d\d$/);
      expect(await login.locator('.maint').getAttribute('title')).toBe('auth upgrade');
      expect(await login.locator('.output').textContent()).toMatch(
        /^in maintenance until .*: login refused for app:\*\*\*/,
      );
      const ended = await fetch(`${vitals.url}/-/maintenance/${id}`, { method: 'DELETE', headers });
      expect(ended.status).toBe(204);
      await expect.poll(() => rowStatus(page, 'login-api'), { timeout: 10_000 }).toBe('fail');
      expect(await login.locator('.maint').count()).toBe(0);
      expect(watched.navigations()).toBe(1);

      const text = (await page.locator('body').textContent()) ?? '';
      expect(text).not.toContain(loginSecret());
      expect(watched.errors).toEqual([]);
      expect(watched.foreign).toEqual([]);
      await context.close();
    }, 90_000);

    it('shows a caller without the token the verdict and the count, and no check name anywhere', async () => {
      const context = await browser.newContext();
      const watched = await watch(context, vitals.url);
      const { page } = watched;
      await page.goto(`${vitals.url}/`);
      await expect.poll(() => page.locator('#count').textContent(), { timeout: 10_000 }).toBe('4 checks');
      // The page, and two refreshes' worth of JSON.
      await expect.poll(async () => (await watched.bodies()).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      const seen = [await page.content(), ...(await watched.bodies())].join('\n');
      for (const name of NAMES) expect(seen, `${name} reached an unauthorized caller`).not.toContain(name);
      expect(await page.locator('#verdict').textContent()).toMatch(/^readiness: (pass|warn|fail)$/);
      expect(await page.locator('#notice').textContent()).toBe(
        'Per-check details are shown to authorized callers only.',
      );
      expect(await page.locator('#details').isHidden()).toBe(true);
      expect(seen).not.toContain('192.0.2');
      expect(watched.errors).toEqual([]);
      expect(watched.foreign).toEqual([]);
      await context.close();
    }, 30_000);

    it('works mounted under a prefix, asking nothing outside it, on a phone too, and shows draining', async () => {
      const context = await authorized('dark');
      const watched = await watch(context, proxy.origin);
      const { page } = watched;
      const requested: string[] = [];
      page.on('request', (request) => requested.push(new URL(request.url()).pathname));
      await page.goto(`${proxy.origin}/vitals/`);
      await expect.poll(() => rowStatus(page, 'primary-db'), { timeout: 10_000 }).toBe('pass');
      await expect
        .poll(() => requested.filter((p) => p === '/vitals/api/v1/checks').length, { timeout: 10_000 })
        .toBeGreaterThanOrEqual(2);
      expect(requested.filter((p) => p !== '' && !p.startsWith('/vitals/'))).toEqual([]);
      await page.screenshot({ path: path.join(shots, 'status-page-dark.png'), fullPage: true });

      // A phone: the table becomes one card per check, and nothing scrolls sideways.
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await page.locator('thead').first().isHidden()).toBe(true);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: path.join(shots, 'status-page-phone.png'), fullPage: true });

      vitals.drain();
      await expect.poll(() => page.locator('#draining').isVisible(), { timeout: 10_000 }).toBe(true);
      expect(await page.locator('#verdict').textContent()).toBe('readiness: fail');
      expect(watched.errors).toEqual([]);
      expect(watched.foreign).toEqual([]);
      await context.close();
      if (process.env.UPDATE_SCREENSHOTS === '1') await copyScreenshots(shots);
      console.log(`status page screenshots in ${shots}`);
    }, 30_000);
  },
);

async function copyScreenshots(from: string): Promise<void> {
  const { copyFile } = await import('node:fs/promises');
  for (const name of ['status-page-light.png', 'status-page-dark.png'])
    await copyFile(path.join(from, name), path.join(REPO_ROOT, 'docs', name));
}
