#!/usr/bin/env node
import module from 'node:module';

// Node's default action for SIGHUP is to end the process, and loading vitals' modules and its
// config takes most of a second: a SIGHUP in that time (a config management tool, or a reload
// sent right after a restart) used to kill vitals with status 129. So the first thing the entry
// does is take SIGHUP over, before any module that takes time to load; serve replays the count.
let hangups = 0;
const countHangup = () => {
  hangups += 1;
};
process.on('SIGHUP', countHangup);

// Node 22.1+ keeps V8's compiled code of every module vitals loads in a cache (NODE_COMPILE_CACHE,
// else the OS temp dir), so later starts skip most of the compiling. Node 20 has no such
// function, and where the directory is not writable (a read-only root filesystem) Node reports
// the failure in the return value and starts as before: neither is an error.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const argv = process.argv.slice(2);
// serve's port answers /health while the rest loads (cli/early-start.ts says when it cannot).
const { startEarly } = await import('./cli/early-start.js');
const { VERSION } = await import('./version.js');
const early = await startEarly(argv, VERSION);
if (early !== undefined) await (await import('./cli/preload.js')).preloadYielding();

const { main, exitWhenFlushed } = await import('./cli/main.js');
const code = await main(argv, {
  hangups: () => {
    process.off('SIGHUP', countHangup);
    return hangups;
  },
  early,
});
if (code !== undefined) exitWhenFlushed(code);
