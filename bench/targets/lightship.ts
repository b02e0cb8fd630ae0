/**
 * Peer: lightship 9.0.3, state-based readiness. Lightship serves /health, /live and /ready from
 * its own Fastify server on its own port, answering from a flag that the app sets with
 * signalReady(); here it is set once the first `SELECT 1` on a mysql2 pool has succeeded.
 *
 * lightship 9.0.3 has no host option: createLightship() calls fastify's
 * `listen({ host: '0.0.0.0', port })` (port 0 outside Kubernetes, its "local mode"). To keep the
 * benchmark on 127.0.0.1 only, this process rewrites that one bind address in
 * net.Server.prototype.listen before lightship starts. Nothing else is patched.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createLightship } from 'lightship';
import { createPool } from 'mysql2/promise';
import { announce, exitWithParent, HOST, requiredEnv } from './common.js';

// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .apply(this) below
const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listen(this: net.Server, ...args: unknown[]) {
  const [first] = args;
  if (typeof first === 'object' && first !== null && (first as net.ListenOptions).host === '0.0.0.0') {
    args[0] = { ...(first as net.ListenOptions), host: HOST };
  }
  return (originalListen as (...a: unknown[]) => net.Server).apply(this, args);
} as typeof net.Server.prototype.listen;

const pool = createPool({ uri: requiredEnv('MYSQL_URL'), connectionLimit: 2 });
delete process.env.KUBERNETES_SERVICE_HOST; // local mode: a random port, no shutdown delay
const lightship = await createLightship({ detectKubernetes: true, port: 0, shutdownDelay: 0, signals: [] });
await pool.query('SELECT 1');
lightship.signalReady();
exitWithParent(() => pool.end());
const address = lightship.server.address() as AddressInfo;
if (address.address !== HOST) throw new Error(`lightship bound ${address.address}, not ${HOST}`);
announce(address.port);
