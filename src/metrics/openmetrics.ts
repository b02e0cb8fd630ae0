export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * True when the Accept header ranks OpenMetrics above the classic text format. Anything
 * else, including types we do not serve, gets text: a scrape must never see a 406.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let openMetrics = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? '1');
    const weight = Number.isFinite(q) ? q : 0;
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, weight);
    else if (type === 'text/plain' || type === 'text/*') text = Math.max(text, weight);
  }
  return openMetrics > 0 && openMetrics >= text;
}

/**
 * Rewrites prom-client's text exposition as OpenMetrics 1.0. prom-client can render
 * OpenMetrics itself only by renaming counter objects in place (dropping `_total`), which
 * would corrupt the text format served to the next scraper, so we translate instead.
 */
export function toOpenMetrics(text: string): string {
  return `${translateToOpenMetrics(text)}# EOF\n`;
}

export const OPENMETRICS_EOF = Buffer.from('# EOF\n');

/** `text` (prom-client's exposition) translated, without the closing `# EOF`. */
export function translateToOpenMetrics(text: string): string {
  const lines = text.split('\n').filter((line) => line !== '');
  const counters = new Set<string>();
  for (const line of lines) {
    const type = /^# TYPE (\S+) counter$/.exec(line);
    if (type?.[1] !== undefined) counters.add(type[1]);
  }
  const family = (name: string) => (counters.has(name) ? name.replace(/_total$/, '') : name);
  const out = lines.map((line) => {
    const meta = /^# (HELP|TYPE) (\S+)(.*)$/.exec(line);
    if (meta) {
      // The text format escapes only `\` and newlines in HELP; OpenMetrics also requires `"`
      // escaped, and an embedding application may register help text with quotes in it.
      const rest = meta[1] === 'HELP' ? (meta[3] ?? '').replaceAll('"', '\\"') : (meta[3] ?? '');
      return `# ${meta[1] ?? ''} ${family(meta[2] ?? '')}${rest}`;
    }
    if (line.startsWith('#')) return line;
    const name = /^[^{ ]+/.exec(line)?.[0] ?? '';
    return counters.has(name) && !name.endsWith('_total') ? `${name}_total${line.slice(name.length)}` : line;
  });
  // An empty exposition must not begin with a blank line before # EOF, which OpenMetrics forbids.
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
