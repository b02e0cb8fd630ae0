/**
 * Real certificates for TLS tests, made with the `openssl` CLI: a CA, server certificates for
 * 127.0.0.1/localhost (subjectAltName), and client certificates. EC P-256 keys: fast to make.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveBinary } from './binaries.js';

export interface Pem {
  /** Paths of the PEM files. */
  readonly certFile: string;
  readonly keyFile: string;
  /** The serial number as openssl printed it (upper-case hex, no leading zeros stripped). */
  readonly serial: string;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync(resolveBinary('openssl'), args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

const MINIMAL_REQ = '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n';

function newKey(dir: string, name: string): string {
  const keyFile = join(dir, `${name}.key`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], dir);
  return keyFile;
}

function randomSerial(): string {
  // Positive, 16 bytes: the top bit cleared so that DER does not read it as negative.
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x10;
  return bytes.toString('hex').toUpperCase();
}

/** A self-signed CA. */
export function makeCa(dir: string, name: string): Pem {
  const keyFile = newKey(dir, name);
  const certFile = join(dir, `${name}.crt`);
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(
    cnf,
    `${MINIMAL_REQ}CN = ${name}\n[v3]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n`,
  );
  const serial = randomSerial();
  openssl(
    [
      'req',
      '-new',
      '-x509',
      '-key',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-config',
      cnf,
      '-extensions',
      'v3',
      '-set_serial',
      `0x${serial}`,
    ],
    dir,
  );
  return { certFile, keyFile, serial };
}

/**
 * A certificate signed by `ca`: for a server (serverAuth, SAN 127.0.0.1 and localhost) or a
 * client (clientAuth). Files go to `${name}.crt` / `${name}.key` unless `out` says otherwise.
 */
export function makeCert(
  dir: string,
  name: string,
  ca: Pem,
  use: 'server' | 'client',
  out: { certFile?: string; keyFile?: string } = {},
): Pem {
  const keyFile = newKey(dir, `${name}.tmp`);
  const csr = join(dir, `${name}.csr`);
  const cnf = join(dir, `${name}.cnf`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(cnf, `${MINIMAL_REQ}CN = ${name}\n`);
  writeFileSync(
    ext,
    [
      '[v3]',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical,digitalSignature',
      `extendedKeyUsage = ${use === 'server' ? 'serverAuth' : 'clientAuth'}`,
      'authorityKeyIdentifier = keyid',
      ...(use === 'server' ? ['subjectAltName = IP:127.0.0.1,DNS:localhost'] : []),
      '',
    ].join('\n'),
  );
  openssl(['req', '-new', '-key', keyFile, '-out', csr, '-config', cnf], dir);
  const serial = randomSerial();
  const tmpCert = join(dir, `${name}.tmp.crt`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      `0x${serial}`,
      '-days',
      '2',
      '-out',
      tmpCert,
      '-extfile',
      ext,
      '-extensions',
      'v3',
    ],
    dir,
  );
  const certFile = out.certFile ?? join(dir, `${name}.crt`);
  const finalKey = out.keyFile ?? join(dir, `${name}.key`);
  // Renamed into place, as a Kubernetes Secret update (or cert-manager) swaps files whole.
  openssl(['x509', '-in', tmpCert, '-out', `${certFile}.new`], dir);
  openssl(['pkey', '-in', keyFile, '-out', `${finalKey}.new`], dir);
  // A rename is atomic: a reader sees the old file or the new one, never half of one.
  renameSync(`${finalKey}.new`, finalKey);
  renameSync(`${certFile}.new`, certFile);
  return { certFile, keyFile: finalKey, serial };
}
