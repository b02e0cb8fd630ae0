/**
 * vitals' descriptors sampled *during* each phase, not only once it is over: a leak that heals
 * when the fault ends (sockets half-closed towards a paused server, released when it resumes)
 * is back at the starting level by the end of the cycle and only shows while the fault lasts.
 */
import { openFds, tcpSocketsTo } from '../lib/procfs.js';
import type { PhaseResources } from './types.js';

/** The fd count is one readdir: cheap enough to catch a connection that lives for a poll. */
export const FD_SAMPLE_MS = 100;
/**
 * The socket table costs the kernel some 20 ms per read with a few thousand TIME_WAIT sockets
 * in the network namespace (the detection polls alone leave hundreds). A leaked socket stays until the fault ends, seconds; a
 * check's own lives for a run at most: two reads a second see the first without loading the
 * machine the run measures. Each phase is also read in full at both ends.
 */
export const SOCKET_SAMPLE_MS = 500;

export interface FdWatch {
  /** Starts a window now, with a first full sample. */
  open(): Promise<FdWindow>;
  stop(): void;
}

export interface FdWindow {
  /** Takes a last full sample and returns the window's figures. */
  close(): Promise<PhaseResources>;
}

interface Tally {
  fdMax: number;
  socketsAtMax: readonly string[];
  samples: number;
}

export function watchFds(pid: number, dbPort: number): FdWatch {
  const open = new Set<Tally>();
  // A sample that cannot be read (vitals gone) is NaN: it fails the bounds instead of passing them.
  const fds = () => {
    try {
      return openFds(pid);
    } catch {
      return Number.NaN;
    }
  };
  const sockets = () => tcpSocketsTo(pid, dbPort).catch(() => [] as string[]);
  const addFds = (tally: Tally, n: number) => {
    tally.samples += 1;
    tally.fdMax = Number.isNaN(n) ? n : Math.max(tally.fdMax, n);
  };
  const addSockets = (tally: Tally, states: readonly string[]) => {
    if (states.length > tally.socketsAtMax.length) tally.socketsAtMax = states;
  };
  const full = async () => {
    const states = await sockets();
    return { fds: fds(), states };
  };

  const fdTimer = setInterval(() => {
    const n = fds();
    for (const tally of open) addFds(tally, n);
  }, FD_SAMPLE_MS);
  let reading = false;
  const socketTimer = setInterval(() => {
    if (reading) return;
    reading = true;
    const during = [...open];
    void sockets().then((states) => {
      reading = false;
      // Only the windows open for the whole read: a closed one has its figures already.
      for (const tally of during) if (open.has(tally)) addSockets(tally, states);
    });
  }, SOCKET_SAMPLE_MS);
  fdTimer.unref();
  socketTimer.unref();

  return {
    async open() {
      const first = await full();
      const tally: Tally = { fdMax: first.fds, socketsAtMax: first.states, samples: 1 };
      open.add(tally);
      return {
        async close() {
          const last = await full();
          open.delete(tally);
          addFds(tally, last.fds);
          addSockets(tally, last.states);
          return {
            samples: tally.samples,
            fds: { start: first.fds, max: tally.fdMax, end: last.fds },
            dbSockets: {
              start: first.states.length,
              max: tally.socketsAtMax.length,
              end: last.states.length,
              statesAtMax: countStates(tally.socketsAtMax),
            },
          };
        },
      };
    },
    stop() {
      clearInterval(fdTimer);
      clearInterval(socketTimer);
      open.clear();
    },
  };
}

/** "FIN_WAIT2 2, ESTABLISHED 1": the states of the sockets, most frequent first. */
function countStates(states: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([state, n]) => `${state} ${String(n)}`)
    .join(', ');
}
