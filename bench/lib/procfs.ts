/**
 * CPU time and memory of a process group, read from /proc (Linux only).
 *
 * Every target runs as the leader of its own process group (spawned `detached`), so the group
 * id is the target's pid. A group's CPU is the sum over its live members of
 * utime + stime + cutime + cstime (/proc/PID/stat fields 14-17): its own time plus that of its
 * children it has waited for.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { openFds, socketInodes, TCP_STATES } from '../../test/support/fds.js';

/** Clock ticks per second (USER_HZ): `getconf CLK_TCK`, 100 on every Linux tried. */
export const CLK_TCK: number = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

const PAGE_SIZE = 4096;

interface StatFields {
  pid: number;
  pgrp: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
  /** Resident set size in bytes. */
  rss: number;
}

function parseStat(pid: number): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  } catch {
    return undefined; // gone
  }
  // Field 2 (comm) is in parentheses and may contain blanks: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): field N is rest[N - 3].
  const field = (n: number) => Number(rest[n - 3]);
  return {
    pid,
    pgrp: field(5),
    ticks: field(14) + field(15) + field(16) + field(17),
    rss: field(24) * PAGE_SIZE,
  };
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

export interface GroupSample {
  /** CPU clock ticks (user + system, including waited-for children) of every live member. */
  readonly ticks: number;
  /** Summed resident set size of every live member, bytes. */
  readonly rss: number;
  /** Members found. */
  readonly members: number;
  /** performance.now() when read. */
  readonly at: number;
}

/** CPU ticks and RSS of every process whose process group is `pgid`. */
export function sampleGroup(pgid: number): GroupSample {
  let ticks = 0;
  let rss = 0;
  let members = 0;
  for (const pid of allPids()) {
    const stat = parseStat(pid);
    if (stat?.pgrp !== pgid) continue;
    ticks += stat.ticks;
    rss += stat.rss;
    members += 1;
  }
  return { ticks, rss, members, at: performance.now() };
}

/** CPU ticks and RSS of one process (for mariadbd, which shares the harness's group). */
export function sampleProcess(pid: number): GroupSample {
  const stat = parseStat(pid);
  return { ticks: stat?.ticks ?? 0, rss: stat?.rss ?? 0, members: stat === undefined ? 0 : 1, at: performance.now() };
}

/** Microseconds of CPU between two samples. */
export function cpuMicros(before: GroupSample, after: GroupSample): number {
  return ((after.ticks - before.ticks) * 1e6) / CLK_TCK;
}

/**
 * The states of the TCP sockets a process holds an fd for whose remote port is `remotePort`.
 * /proc/PID/net/tcp lists every socket of the network namespace, the process's or not: a socket
 * is the process's when its inode is one of its fds' `socket:[INODE]` links. A socket the process
 * has closed is not counted even while the kernel still finishes its FIN handshake: it costs the
 * process nothing. Read asynchronously: with a few thousand TIME_WAIT sockets in the namespace
 * the kernel takes some 20 ms to write the table, which would otherwise stall the caller's loop.
 */
export async function tcpSocketsTo(pid: number, remotePort: number): Promise<string[]> {
  const inodes = socketInodes(pid);
  // rem_address is HEXIP:HEXPORT, followed by the state.
  const remote = `:${remotePort.toString(16).toUpperCase().padStart(4, '0')} `;
  const states: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = await readFile(`/proc/${String(pid)}/net/${table}`, 'utf8');
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of text.split('\n')) {
      if (!line.includes(remote)) continue;
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      const fields = line.trim().split(/\s+/);
      const inode = fields[9];
      if (!(fields[2] ?? '').endsWith(remote.trimEnd()) || inode === undefined || !inodes.has(inode)) continue;
      const state = fields[3] ?? '';
      states.push(TCP_STATES[state] ?? state);
    }
  }
  return states;
}

export { openFds };
