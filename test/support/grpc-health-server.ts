/**
 * A gRPC server with the standard health service, run as its own process (`node --import tsx`)
 * so that a test can SIGSTOP it. Argument: JSON `{ certFile, keyFile, clientCaFile }`. Prints
 * `{ plain, tls, mtls, odd }` (ports on 127.0.0.1) as one line once it listens:
 * - plain, tls, mtls: grpc-health-check's HealthImplementation (`""` and `app` SERVING, `down`
 *   NOT_SERVING, others NOT_FOUND); mtls requires a client certificate signed by clientCaFile.
 * - odd (plaintext): answers service `locked` with UNAUTHENTICATED, `forbidden` with
 *   PERMISSION_DENIED, and anything else with FAILED_PRECONDITION naming the `:authority` it got.
 */
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';

interface Args {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const identity = [{ cert_chain: readFileSync(args.certFile), private_key: readFileSync(args.keyFile) }];

function bind(server: Server, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
}

const healthy = new Server();
new HealthImplementation({ '': 'SERVING', app: 'SERVING', down: 'NOT_SERVING' }).addToServer(healthy);

const odd = new Server();
const refusal = (code: status, details: string): Partial<ServiceError> => ({ code, details });
odd.addService(healthService, {
  check: (
    call: { request: { service: string }; getHost(): string },
    callback: (error: Partial<ServiceError> | null) => void,
  ) => {
    const name = call.request.service;
    if (name === 'locked') callback(refusal(status.UNAUTHENTICATED, 'no credentials'));
    else if (name === 'forbidden') callback(refusal(status.PERMISSION_DENIED, 'not for you'));
    else callback(refusal(status.FAILED_PRECONDITION, `authority ${call.getHost()}`));
  },
});

const ports = {
  plain: await bind(healthy, ServerCredentials.createInsecure()),
  tls: await bind(healthy, ServerCredentials.createSsl(null, identity, false)),
  mtls: await bind(healthy, ServerCredentials.createSsl(readFileSync(args.clientCaFile), identity, true)),
  odd: await bind(odd, ServerCredentials.createInsecure()),
};
process.on('SIGTERM', () => {
  healthy.forceShutdown();
  odd.forceShutdown();
  process.exit(0);
});
process.stdout.write(`${JSON.stringify(ports)}\n`);
