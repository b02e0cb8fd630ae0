#!/usr/bin/env node
// Node's default action for SIGHUP is to end the process, and loading vitals' modules and its
// config takes most of a second: a SIGHUP in that time (a config management tool, or a reload
// sent right after a restart) used to kill vitals with status 129. So the first thing the entry
// does is take SIGHUP over, before any module that takes time to load; serve replays the count.
let hangups = 0;
const countHangup = () => {
  hangups += 1;
};
process.on('SIGHUP', countHangup);

const { main, exitWhenFlushed } = await import('./cli/main.js');
const code = await main(process.argv.slice(2), {
  hangups: () => {
    process.off('SIGHUP', countHangup);
    return hangups;
  },
});
if (code !== undefined) exitWhenFlushed(code);
