import type { CheckKind } from '../types.js';
import { diskCheck } from './disk.js';
import { dnsCheck } from './dns.js';
import { httpCheck } from './http.js';
import { mqttCheck } from './mqtt.js';
import { mysqlCheck } from './mysql.js';
import { natsCheck } from './nats.js';
import { postgresCheck } from './postgres.js';
import { redisCheck } from './redis.js';
import { tcpCheck } from './tcp.js';
import { tlsCheck } from './tls.js';

/** Every kind a config may name. Adding a kind: one file beside this one, one line here. */
export const checkKinds: ReadonlyMap<string, CheckKind> = new Map(
  [mysqlCheck, postgresCheck, redisCheck, httpCheck, tcpCheck, dnsCheck, diskCheck, tlsCheck, mqttCheck, natsCheck].map(
    (kind) => [kind.kind, kind as CheckKind],
  ),
);
