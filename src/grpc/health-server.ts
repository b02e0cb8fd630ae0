/**
 * server.grpcPort: grpc.health.v1 Check and Watch over plaintext HTTP/2 (the kubelet's gRPC
 * probe speaks no TLS), served by the official grpc-health-check implementation. Imported only
 * when grpcPort is set, so that a config without it never loads @grpc/grpc-js.
 */
import {
  Server,
  ServerCredentials,
  status,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus as OfficialStatus } from 'grpc-health-check';
import type { Monitor } from '../engine/monitor.js';
import type { Logger } from '../log.js';
import { servingStatuses, type ServingStatus } from './services.js';

/**
 * Not in grpc-health-check's type, but in the protocol's enum: what Watch sends for a service
 * that is not (or no longer) known. Check turns it into NOT_FOUND below.
 */
const SERVICE_UNKNOWN = 'SERVICE_UNKNOWN' as OfficialStatus;

const IDLE_CONNECTION_MS = 60_000;

export interface GrpcHealthServer {
  readonly port: number;
  /** Ends every Watch stream (status OK), then shuts down, cutting what remains after `graceMs`. */
  close(graceMs: number): Promise<void>;
}

interface StatusResponse {
  readonly status?: string;
}
interface ListResponse {
  readonly statuses?: Record<string, StatusResponse>;
}
type Watch = ServerWritableStream<{ service: string }, StatusResponse>;

function known(response: StatusResponse | null | undefined): boolean {
  return response?.status !== SERVICE_UNKNOWN;
}

/**
 * The official handlers, with what grpc-health-check cannot express: a service removed by a
 * reload (its map has no delete) is NOT_FOUND for Check and absent from List, as if never set;
 * and the open Watch streams are tracked, so that shutdown can end them instead of waiting.
 */
function adapt(implementation: UntypedServiceImplementation, watches: Set<Watch>): UntypedServiceImplementation {
  const check = implementation.check as handleUnaryCall<{ service: string }, StatusResponse>;
  const watch = implementation.watch as handleServerStreamingCall<{ service: string }, StatusResponse>;
  const list = implementation.list as handleUnaryCall<unknown, ListResponse> | undefined;
  const adapted: UntypedServiceImplementation = {
    ...implementation,
    check: ((call, callback) => {
      check(call, (error, value, ...rest) => {
        if (error === null && !known(value)) {
          callback({ code: status.NOT_FOUND, details: `Health status unknown for service ${call.request.service}` });
        } else callback(error, value, ...rest);
      });
    }) satisfies handleUnaryCall<{ service: string }, StatusResponse>,
    watch: ((call) => {
      watches.add(call);
      const forget = () => watches.delete(call);
      call.once('cancelled', forget);
      call.once('finish', forget);
      watch(call);
    }) satisfies handleServerStreamingCall<{ service: string }, StatusResponse>,
  };
  if (list !== undefined) {
    adapted.list = ((call, callback) => {
      list(call, (error, value, ...rest) => {
        if (value === null || value === undefined) {
          callback(error, value, ...rest);
          return;
        }
        const statuses = Object.entries(value.statuses ?? {}).filter(([, response]) => known(response));
        callback(error, { statuses: Object.fromEntries(statuses) }, ...rest);
      });
    }) satisfies handleUnaryCall<unknown, ListResponse>;
  }
  return adapted;
}

function address(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${String(port)}`;
}

export async function serveGrpcHealth(
  monitor: Monitor,
  host: string,
  port: number,
  logger: Logger,
): Promise<GrpcHealthServer> {
  const health = new HealthImplementation();
  const shown = new Map<string, ServingStatus>();
  let closed = false;
  let queued = false;

  /** setStatus notifies every watcher even when nothing changed: only changes go through. */
  function sync(): void {
    queued = false;
    if (closed) return;
    const next = servingStatuses(monitor);
    for (const [service, serving] of next) {
      if (shown.get(service) === serving) continue;
      shown.set(service, serving);
      health.setStatus(service, serving);
    }
    for (const service of [...shown.keys()]) {
      if (next.has(service)) continue;
      shown.delete(service);
      health.setStatus(service, SERVICE_UNKNOWN);
    }
  }
  sync();
  // onChange fires after every run; the statuses are computed once per turn of the event loop,
  // however many checks finished in it.
  monitor.onChange(() => {
    if (queued || closed) return;
    queued = true;
    setImmediate(sync);
  });

  const server = new Server({
    // Nothing here reads channelz, and it keeps a record of every call.
    'grpc.enable_channelz': 0,
    // The kubelet dials per probe; a client that connects and then idles gives its socket back.
    'grpc.max_connection_idle_ms': IDLE_CONNECTION_MS,
  });
  const watches = new Set<Watch>();
  health.addToServer({
    addService(service, implementation) {
      server.addService(service, adapt(implementation, watches));
    },
  });
  let bound: number;
  try {
    bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address(host, port), ServerCredentials.createInsecure(), (error, boundPort) => {
        if (error === null) resolve(boundPort);
        else reject(error);
      });
    });
  } catch (error) {
    closed = true;
    server.forceShutdown();
    throw error;
  }

  return {
    port: bound,
    async close(graceMs) {
      if (closed) return;
      closed = true;
      // A Watch never ends on its own, and tryShutdown waits for every call: end them first,
      // with status OK, so that a watcher sees a clean end rather than a reset.
      for (const call of watches) call.end();
      watches.clear();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({ graceMs }, 'gRPC health: calls still open after the shutdown timeout; cutting them');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
