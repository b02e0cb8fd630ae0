import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { statusPageClient } from './client.js';
import { STATUS_PAGE_CSS } from './styles.js';

/** How often the page fetches the checks again. */
export const REFRESH_MS = 3000;
/** Relative, so that the page works mounted under any prefix (`/vitals/` → `/vitals/api/v1/checks`). */
const SUMMARY_PATH = './api/v1/summary';
const CHECKS_PATH = './api/v1/checks';

const SCRIPT = `(${statusPageClient.toString()})(${[REFRESH_MS, SUMMARY_PATH, CHECKS_PATH].map((a) => JSON.stringify(a)).join(', ')});`;
// The script and the sheet are inlined, so their text must not end the element that holds them.
if (/<\/script/i.test(SCRIPT) || /<\/style/i.test(STATUS_PAGE_CSS))
  throw new Error('status page: inline text ends its element');

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * Nothing but this page's own script and sheet (by hash), fetches to vitals itself, and the
 * favicon, which the script redraws as a data: URL in the verdict's colour. No frames, no forms,
 * no <base> that could point the relative URLs elsewhere.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STATUS_PAGE_CSS)}`,
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FAVICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#6e7781"/></svg>',
)}`;

/** The same for every caller: what a caller may see arrives by fetch, decided per request. */
const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>vitals</title>
<link rel="icon" href="${FAVICON}">
<style>${STATUS_PAGE_CSS}</style>
</head>
<body>
<header>
<h1>vitals</h1>
<p id="verdict" class="verdict" role="status" aria-live="polite">loading…</p>
<p id="count" class="muted"></p>
</header>
<div id="draining" class="banner" role="alert" hidden>Draining: vitals is shutting down, and /ready answers 503.</div>
<p id="notice" class="notice" hidden></p>
<noscript><p class="notice">This page needs JavaScript; <a href="ready">ready</a> answers the same verdict as JSON.</p></noscript>
<main id="details" hidden>
<h2>Checks</h2>
<table>
<thead><tr><th>Check</th><th>Kind</th><th>Status</th><th>Latency</th><th>For</th><th>Last 60 runs</th><th>Output</th></tr></thead>
<tbody id="checks"></tbody>
</table>
<h2>Recent changes</h2>
<p id="no-transitions" class="muted">No change of status yet.</p>
<table>
<thead><tr><th>Time</th><th>Check</th><th>Change</th><th>Reason</th></tr></thead>
<tbody id="transitions"></tbody>
</table>
</main>
<footer>
<a href="health">health</a>: liveness ·
<a href="ready">ready</a>: readiness ·
<a href="startup">startup</a>: startup ·
<a href="metrics">metrics</a>: Prometheus metrics ·
<a href="api/v1/checks">api/v1/checks</a>: this page's data ·
updated <span id="updated">never</span>
</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** Headers every answer of the page and of its data carries. */
export function setPageHeaders(ctx: Context): void {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-store');
}

export function sendStatusPage(ctx: Context): void {
  setPageHeaders(ctx);
  ctx.set('Content-Security-Policy', STATUS_PAGE_CSP);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = STATUS_PAGE;
}
