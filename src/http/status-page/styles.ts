/** The status page's one style sheet, inlined and allowed by its hash. */
export const STATUS_PAGE_CSS = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #5b6570; --line: #d8dee4; --card: #f6f8fa;
  --pass: #1a7f37; --warn: #9a6700; --fail: #cf222e; --unknown: #6e7781; --spark: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --line: #30363d; --card: #161b22;
    --pass: #3fb950; --warn: #d29922; --fail: #f85149; --unknown: #8d96a0; --spark: #58a6ff; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.muted, footer { color: var(--muted); }
.verdict { font-size: 1.1rem; font-weight: 600; margin: 0; }
.banner { margin: 1rem 0; padding: .6rem .9rem; border-radius: 6px; font-weight: 600;
  background: var(--warn); color: var(--bg); }
.notice { margin: 1rem 0; padding: .6rem .9rem; border: 1px solid var(--line); border-radius: 6px; background: var(--card); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.name { font-weight: 600; overflow-wrap: anywhere; }
.output { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; overflow-wrap: anywhere; }
.badge { display: inline-block; min-width: 4.2em; padding: .05rem .45rem; border-radius: 1em; font-weight: 700;
  font-size: .8rem; text-align: center; color: #fff; white-space: nowrap; }
.maint { display: inline-block; margin-top: .2rem; padding: 0 .4rem; border: 1px dashed var(--warn); border-radius: 1em;
  font-size: .75rem; white-space: nowrap; }
.s-pass { background: var(--pass); } .s-warn { background: var(--warn); }
.s-fail { background: var(--fail); } .s-unknown { background: var(--unknown); }
.t-pass { color: var(--pass); } .t-warn { color: var(--warn); } .t-fail { color: var(--fail); } .t-unknown { color: var(--unknown); }
svg.spark { display: block; width: 150px; height: 28px; }
.spark .line { fill: none; stroke: var(--spark); stroke-width: 1.5; }
.spark .mark-fail { fill: var(--fail); } .spark .mark-warn { fill: var(--warn); }
footer { margin-top: 2rem; font-size: .85rem; }
footer a { color: inherit; }
@media (max-width: 42rem) {
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { margin: 0 0 .8rem; padding: .5rem .7rem; border: 1px solid var(--line); border-radius: 8px; background: var(--card); }
  td { border: 0; padding: .15rem 0; display: flex; gap: .6rem; }
  td::before { content: attr(data-label); flex: 0 0 6.5rem; color: var(--muted); font-size: .8rem; }
}
`;
