/**
 * What this process holds open, read from /proc: its file descriptors, and its own sockets to a
 * given remote port with their TCP states. A probe that only half-closes a stuck connection
 * (FIN-WAIT-2 forever against a paused server) or never cancels a connect (SYN-SENT) shows up
 * here while it is still invisible from the server's side.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { liveChildren } from './cleanup.js';

/** The `st` column of /proc/net/tcp (include/net/tcp_states.h). */
export const TCP_STATES: Readonly<Record<string, string>> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
  '0C': 'NEW_SYN_RECV',
};

/** Entries of /proc/PID/fd (this process by default): every descriptor the process holds. */
export function openFds(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${String(pid)}/fd`).length;
}

/** The inodes of a process's sockets: its fds that link to `socket:[INODE]`. */
export function socketInodes(pid: number | 'self' = 'self'): Set<string> {
  const inodes = new Set<string>();
  const dir = `/proc/${String(pid)}/fd`;
  for (const fd of readdirSync(dir)) {
    let link: string;
    try {
      link = readlinkSync(`${dir}/${fd}`);
    } catch {
      continue; // closed between the listing and the read (the listing's own directory fd, too)
    }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  return inodes;
}

/** One socket of the machine, as /proc/net/{tcp,udp}{,6} lists it; `state` is the raw hex code. */
export interface SocketRow {
  readonly localPort: number;
  readonly remotePort: number;
  readonly state: string;
  /** 0 once no process owns it (closed, left to the kernel to time out). */
  readonly inode: string;
}

/** Every socket of the machine over IPv4 and IPv6, from the kernel's tables. */
export function socketTable(protocol: 'tcp' | 'udp' = 'tcp'): SocketRow[] {
  const rows: SocketRow[] = [];
  const portOf = (address: string) => parseInt(address.split(':')[1] ?? '', 16);
  for (const table of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      const [local, remote, state, inode] = [columns[1], columns[2], columns[3], columns[9]];
      if (local === undefined || remote === undefined || state === undefined || inode === undefined) continue;
      rows.push({ localPort: portOf(local), remotePort: portOf(remote), state, inode });
    }
  }
  return rows;
}

/**
 * This process's sockets whose remote port is `port`, one state each ('SYN_SENT', 'FIN_WAIT2',
 * …; UDP sockets report their raw state). A socket the process has closed has inode 0 in
 * /proc/net and is the kernel's to time out, not ours: it is not counted.
 */
export function ownSocketsTo(port: number, protocol: 'tcp' | 'udp' = 'tcp'): string[] {
  const inodes = socketInodes();
  return socketTable(protocol)
    .filter((row) => row.remotePort === port && inodes.has(row.inode))
    .map((row) => (protocol === 'tcp' ? (TCP_STATES[row.state] ?? row.state) : row.state));
}

/**
 * A server's client connections counted from the kernel's side, for servers that cannot be asked
 * cheaply and at once (Mosquitto's $SYS topics lag by their interval): the sockets whose local
 * port is one the server listens on, still owned by a process. A connection the client has
 * closed and the server has not yet (CLOSE_WAIT) still counts: the server holds it.
 */
export function serverSideConnections(ports: readonly number[]): number {
  // 0A is LISTEN: the listener itself, not a connection.
  return socketTable().filter((row) => row.state !== '0A' && row.inode !== '0' && ports.includes(row.localPort)).length;
}

export interface StoppedServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A listener in a child process stopped with SIGSTOP, its backlog large: the kernel completes
 * every handshake, then nothing is ever read, answered or closed, as with a paused database.
 * Out of process, so that its sockets are not counted among this process's descriptors.
 */
export async function startStoppedServer(): Promise<StoppedServer> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "require('net').createServer().listen(0, '127.0.0.1', 1024, function () { console.log(this.address().port) })",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  liveChildren.add(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
  });
  child.kill('SIGSTOP');
  return {
    port,
    async close() {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null)
        await new Promise((resolve) => child.once('exit', resolve));
      liveChildren.delete(child);
    },
  };
}
