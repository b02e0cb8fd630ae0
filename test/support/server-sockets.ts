/**
 * A server's client connections counted from the kernel's side, for servers that cannot be asked
 * cheaply and at once (Mosquitto's $SYS topics lag by their interval): the sockets whose local
 * port is one the server listens on, still owned by a process (a closed one has inode 0 and is
 * the kernel's to time out). A connection the client has closed and the server has not yet
 * (CLOSE_WAIT) still counts: the server holds it.
 */
import { readFileSync } from 'node:fs';

export function serverSideConnections(ports: readonly number[]): number {
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      const [local, state, inode] = [columns[1], columns[3], columns[9]];
      if (local === undefined || state === undefined || inode === undefined) continue;
      // 0A is LISTEN: the listener itself, not a connection.
      if (state === '0A' || inode === '0') continue;
      if (ports.includes(parseInt(local.split(':')[1] ?? '', 16))) count += 1;
    }
  }
  return count;
}
