/**
 * Node 22 and later evaluate a whole import graph without returning to the event loop (Node 20
 * returned between files), so while `cli/main.js` and its ~600 modules load, the early listener
 * (http/early-listener.ts) cannot answer `/health`: 300 ms or more on a two-core VM. Importing
 * the heaviest packages first, one at a time with a turn of the event loop between them, keeps
 * the wait of a probe that arrives meanwhile to the longest of them instead of the sum.
 *
 * The order follows what main.js needs; a package imported here is only evaluated once, so
 * main.js then finds it loaded. A name that fails to import is left to main.js to report.
 */
const HEAVIEST_FIRST = [
  'zod/v4/locales',
  'zod/v4/core',
  'zod',
  'koa',
  '@koa/router',
  'prom-client',
  'pino',
  'negotiator',
  'croner',
] as const;

const nextTurn = () =>
  new Promise<void>((resolve) => {
    setImmediate(resolve);
  });

export async function preloadYielding(): Promise<void> {
  for (const name of HEAVIEST_FIRST) {
    await nextTurn();
    try {
      await import(name);
    } catch {
      // main.js imports it too and reports the failure there.
    }
  }
  await nextTurn();
}
