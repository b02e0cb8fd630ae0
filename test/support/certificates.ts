/**
 * Certificates with chosen lifetimes, for certificate-expiry tests: a CA, leaves that expire in
 * 2 and 40 days, an expired one, and a leaf behind an intermediate that expires before it. Made
 * with the `openssl` CLI (3.0 here: no -not_before/-not_after, so an expired leaf is `-days -1`,
 * whose notAfter is a day before its notBefore, and one not valid yet comes from `openssl ca`,
 * whose -startdate may lie in the future). Every leaf is for 127.0.0.1 and its own DNS name, so
 * that one server can present each of them by SNI.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveBinary } from './binaries.js';

function openssl(args: string[], cwd: string): void {
  const result = spawnSync(resolveBinary('openssl'), args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

export interface Issued {
  readonly name: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate's PEM, followed by its intermediate's when it has one: what a server sends. */
  readonly chainPem: string;
  readonly keyPem: string;
  /** notAfter, ms since the epoch. */
  readonly notAfter: number;
}

/** `openssl ca`'s date format, YYYYMMDDHHMMSSZ. */
const caDate = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');

function issue(
  dir: string,
  name: string,
  days: number,
  issuer: Issued | undefined,
  ca: boolean,
  startsInDays = 0,
): Issued {
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    ca
      ? '[v3]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n'
      : `[v3]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,DNS:${name}\n`,
  );
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], dir);
  openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${name}`, '-out', csr], dir);
  const signer =
    issuer === undefined
      ? ['-signkey', keyFile]
      : ['-CA', issuer.certFile, '-CAkey', issuer.keyFile, '-set_serial', String(Date.now())];
  if (startsInDays === 0 || issuer === undefined) {
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        ...signer,
        '-days',
        String(days),
        '-extfile',
        ext,
        '-extensions',
        'v3',
        '-out',
        certFile,
      ],
      dir,
    );
  } else {
    // Only `openssl ca` takes a notBefore in the future; it wants a database of its own.
    const db = join(dir, `${name}.ca`);
    mkdirSync(db);
    writeFileSync(join(db, 'index.txt'), '');
    writeFileSync(join(db, 'serial'), '01\n');
    const cnf = join(dir, `${name}.ca.cnf`);
    writeFileSync(
      cnf,
      `[ca]\ndefault_ca = d\n[d]\ndatabase = ${db}/index.txt\nnew_certs_dir = ${db}\nserial = ${db}/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n`,
    );
    const start = Date.now() + startsInDays * 86_400_000;
    const validity = ['-startdate', caDate(start), '-enddate', caDate(start + days * 86_400_000)];
    const signing = ['-config', cnf, '-cert', issuer.certFile, '-keyfile', issuer.keyFile, '-in', csr];
    openssl(
      ['ca', '-batch', '-notext', ...signing, ...validity, '-extfile', ext, '-extensions', 'v3', '-out', certFile],
      dir,
    );
  }
  const pem = readFileSync(certFile, 'utf8');
  const issuerChain = issuer !== undefined && issuer.name !== ROOT ? issuer.chainPem : '';
  return {
    name,
    certFile,
    keyFile,
    chainPem: pem + issuerChain,
    keyPem: readFileSync(keyFile, 'utf8'),
    notAfter: Date.parse(new X509Certificate(pem).validTo),
  };
}

const ROOT = 'vitals-test-ca';

export interface TestPki {
  readonly ca: Issued;
  /** Expires in 2 days. */
  readonly soon: Issued;
  /** Expires in 40 days. */
  readonly later: Issued;
  /** Expired a day ago. */
  readonly expired: Issued;
  /** Valid from 10 days from now, for 30 days. */
  readonly notYetValid: Issued;
  /** Expires in 2 days, issued by a CA; the intermediate it is sent with: 1 day. */
  readonly intermediate: Issued;
  /** Expires in 40 days, sent with `intermediate`, which expires first. */
  readonly behindIntermediate: Issued;
}

/** Names are the certificates' CNs and DNS names. */
export function makeTestPki(dir: string): TestPki {
  const ca = issue(dir, ROOT, 3650, undefined, true);
  const intermediate = issue(dir, 'intermediate.test', 1, ca, true);
  return {
    ca,
    soon: issue(dir, 'soon.test', 2, ca, false),
    later: issue(dir, 'later.test', 40, ca, false),
    expired: issue(dir, 'expired.test', -1, ca, false),
    notYetValid: issue(dir, 'future.test', 30, ca, false, 10),
    intermediate,
    behindIntermediate: issue(dir, 'chained.test', 40, intermediate, false),
  };
}

/** notAfter of a PEM certificate file, ms since the epoch. */
export function notAfterOf(certFile: string): number {
  return Date.parse(new X509Certificate(readFileSync(certFile)).validTo);
}

export interface CertServer {
  readonly port: number;
  /** From the next handshake on, presents `issued` to clients that send no SNI (an IP address). */
  present(issued: Issued): void;
  close(): Promise<void>;
}

/**
 * An https server that presents, by SNI, the certificate of that name (the 40-day one without
 * SNI or for an unknown name) and answers every request 200 "ok".
 */
export async function startCertServer(pki: TestPki): Promise<CertServer> {
  const { createServer } = await import('node:https');
  const { createSecureContext } = await import('node:tls');
  const contexts = new Map(
    [pki.soon, pki.later, pki.expired, pki.notYetValid, pki.behindIntermediate].map((c) => [
      c.name,
      createSecureContext({ cert: c.chainPem, key: c.keyPem }),
    ]),
  );
  const server = createServer(
    {
      cert: pki.later.chainPem,
      key: pki.later.keyPem,
      SNICallback: (name, done) => {
        done(null, contexts.get(name) ?? contexts.get(pki.later.name));
      },
    },
    (_req, res) => res.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    present(issued) {
      server.setSecureContext({ cert: issued.chainPem, key: issued.keyPem });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
