import type { CheckKind } from '../types.js';
import { amqpCheck } from './amqp.js';
import { diskCheck } from './disk.js';
import { dnsCheck } from './dns.js';
import { grpcCheck } from './grpc.js';
import { httpCheck } from './http.js';
import { memcachedCheck } from './memcached.js';
import { mqttCheck } from './mqtt.js';
import { mysqlCheck } from './mysql.js';
import { natsCheck } from './nats.js';
import { postgresCheck } from './postgres.js';
import { redisCheck } from './redis.js';
import { tcpCheck } from './tcp.js';
import { tlsCheck } from './tls.js';

// One kind a line, so that branches that each add one merge without a conflict.
const kinds: readonly CheckKind[] = [
  mysqlCheck,
  postgresCheck,
  redisCheck,
  memcachedCheck,
  httpCheck,
  grpcCheck,
  tcpCheck,
  dnsCheck,
  diskCheck,
  tlsCheck,
  amqpCheck,
  mqttCheck,
  natsCheck,
] as CheckKind[];

/** Every kind a config may name. Adding a kind: one file beside this one, one line in `kinds`. */
export const checkKinds: ReadonlyMap<string, CheckKind> = new Map(kinds.map((kind) => [kind.kind, kind]));
