import type { CheckHistoryEntry, ChecksHistoryBody, ChecksSummary } from '../status-api.js';

/**
 * The status page's script, run in the browser. It is served as its own source text
 * (`statusPageClient.toString()`), so it may use nothing but browser globals and its arguments:
 * no imports at run time, no closure over this module. It builds the DOM with textContent only,
 * since check names and outputs come from a config and a dependency's error text.
 */
export function statusPageClient(refreshMs: number, summaryPath: string, checksPath: string): void {
  const SVG = 'http://www.w3.org/2000/svg';
  const LABEL: Record<string, string> = { pass: 'pass', warn: 'warn', fail: 'fail', unknown: 'unknown' };
  const FAVICON: Record<string, string> = { pass: '#1a7f37', warn: '#bf8700', fail: '#cf222e', unknown: '#6e7781' };

  function byId(id: string): HTMLElement {
    const element = document.getElementById(id);
    if (element === null) throw new Error(`#${id} missing`);
    return element;
  }

  function el(tag: string, className?: string, text?: string): HTMLElement {
    const element = document.createElement(tag);
    if (className !== undefined) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function badge(status: string): HTMLElement {
    const known = LABEL[status] === undefined ? 'unknown' : status;
    return el('span', `badge s-${known}`, LABEL[known]);
  }

  function cell(label: string, className?: string, content?: string | Node): HTMLElement {
    const td = el('td', className);
    td.dataset.label = label;
    if (typeof content === 'string') td.textContent = content;
    else if (content !== undefined) td.append(content);
    return td;
  }

  function duration(ms: number): string {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${String(s)}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${String(m)}m ${String(s % 60)}s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${String(h)}h ${String(m % 60)}m`;
    return `${String(Math.floor(h / 24))}d ${String(h % 24)}h`;
  }

  function clock(iso: string): string {
    return new Date(iso).toLocaleTimeString([], {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
  }

  function setFavicon(status: string): void {
    const colour = FAVICON[status] ?? FAVICON.unknown ?? '#6e7781';
    const svg = `<svg xmlns="${SVG}" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="${colour}"/></svg>`;
    const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
    if (link !== null) link.href = `data:image/svg+xml,${encodeURIComponent(svg)}`;
  }

  function setVerdict(status: string, draining: boolean, count: number): void {
    const verdict = byId('verdict');
    verdict.replaceChildren('readiness: ', badge(status));
    byId('count').textContent = `${String(count)} check${count === 1 ? '' : 's'}`;
    byId('draining').hidden = !draining;
    document.title = `vitals: ${LABEL[status] ?? status}`;
    setFavicon(status);
  }

  /** The last runs' latency as a line, each failure a red dot on it (and each warning an amber one). */
  function sparkline(check: CheckHistoryEntry): SVGSVGElement {
    const width = 150;
    const height = 28;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', `0 0 ${String(width)} ${String(height)}`);
    svg.setAttribute('role', 'img');
    const { runs } = check;
    const failed = runs.filter((run) => run.status === 'fail').length;
    const max = Math.max(1, ...runs.map((run) => run.durationMs));
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `last ${String(runs.length)} runs: ${String(failed)} failed, slowest ${String(max)} ms`;
    svg.append(title);
    svg.setAttribute('aria-label', title.textContent);
    const step = width / 59;
    const points = runs.map((run, i) => {
      const x = (60 - runs.length + i) * step;
      const y = height - 3 - (run.durationMs / max) * (height - 6);
      return [x, y] as const;
    });
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('class', 'line');
    line.setAttribute('points', points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '));
    svg.append(line);
    runs.forEach((run, i) => {
      if (run.status === 'pass') return;
      const point = points[i];
      if (point === undefined) return;
      const mark = document.createElementNS(SVG, 'circle');
      mark.setAttribute('class', `mark-${run.status}`);
      mark.setAttribute('cx', point[0].toFixed(1));
      mark.setAttribute('cy', point[1].toFixed(1));
      mark.setAttribute('r', '2.5');
      svg.append(mark);
    });
    return svg;
  }

  /** The badge, and the window the check is in: its failures read warn until it ends. */
  function statusWithWindow(check: CheckHistoryEntry): HTMLElement {
    const status = el('span');
    status.append(badge(check.status));
    if (check.maintenance !== undefined) {
      const tag = el('span', 'maint', `maintenance until ${clock(check.maintenance.until)}`);
      tag.title = check.maintenance.reason;
      status.append(' ', tag);
    }
    return status;
  }

  function checkRow(check: CheckHistoryEntry, now: number): HTMLElement {
    const row = el('tr');
    row.dataset.check = check.name;
    row.dataset.status = check.status;
    const last = check.runs[check.runs.length - 1];
    const latency = last === undefined ? '–' : `${String(last.durationMs)} ms`;
    const since = check.since === undefined ? '–' : duration(now - Date.parse(check.since));
    const output = check.status === 'warn' || check.status === 'fail' ? (check.output ?? '') : '';
    row.append(
      cell('check', 'name', `${check.name}${check.critical ? '' : ' (non-critical)'}`),
      cell('kind', undefined, check.kind),
      cell('status', 'status', statusWithWindow(check)),
      cell('latency', 'num', latency),
      cell('for', 'num', since),
      cell('last 60 runs', undefined, sparkline(check)),
      cell('output', 'output', output),
    );
    return row;
  }

  function transitionRow(t: ChecksHistoryBody['transitions'][number]): HTMLElement {
    const row = el('tr');
    const change = el('span');
    change.append(el('span', `t-${t.from}`, t.from), ' → ', el('span', `t-${t.to}`, t.to));
    const time = el('time', undefined, clock(t.at));
    time.setAttribute('datetime', t.at);
    time.title = t.at;
    row.append(
      cell('time', 'num', time),
      cell('check', 'name', t.check),
      cell('change', undefined, change),
      cell('reason', 'output', [t.reason, t.output].filter((part) => part !== null).join(': ')),
    );
    return row;
  }

  function showDetails(body: ChecksHistoryBody): void {
    setVerdict(body.status, body.draining, body.checks.length);
    const now = Date.parse(body.time);
    byId('checks').replaceChildren(...body.checks.map((check) => checkRow(check, now)));
    byId('transitions').replaceChildren(...body.transitions.map(transitionRow));
    byId('no-transitions').hidden = body.transitions.length > 0;
    byId('details').hidden = false;
    byId('notice').hidden = true;
  }

  /** A page that showed details to this browser before (a token since revoked) forgets them. */
  function forgetDetails(): void {
    byId('details').hidden = true;
    byId('checks').replaceChildren();
    byId('transitions').replaceChildren();
    notice('Per-check details are shown to authorized callers only.');
  }

  function showSummary(summary: ChecksSummary): void {
    setVerdict(summary.status, summary.draining, summary.checks);
    forgetDetails();
  }

  function notice(text: string): void {
    const element = byId('notice');
    element.textContent = text;
    element.hidden = false;
  }

  async function getJson(path: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
    return { status: response.status, body: await response.json() };
  }

  /** Whether the summary said this caller gets details: then only the checks are fetched. */
  let detailed = false;

  async function refresh(): Promise<void> {
    try {
      if (!detailed) {
        const summary = await getJson(summaryPath);
        if (summary.status !== 200) throw new Error(`HTTP ${String(summary.status)}`);
        const body = summary.body as ChecksSummary;
        detailed = body.details;
        if (!detailed) showSummary(body);
      }
      if (detailed) {
        const checks = await getJson(checksPath);
        if (checks.status === 200) showDetails(checks.body as ChecksHistoryBody);
        // Refused since the summary (a token revoked by a reload): the next refresh asks it again.
        else {
          detailed = false;
          forgetDetails();
        }
      }
      byId('updated').textContent = clock(new Date().toISOString());
    } catch {
      notice('vitals did not answer; retrying');
    }
  }

  void refresh();
  setInterval(() => void refresh(), refreshMs);
}
