import { readFileSync } from 'node:fs';
import { checkServerIdentity, TLSSocket, type PeerCertificate } from 'node:tls';
import { z } from 'zod';
import type { CertificateExpiry, RunRecorder } from '../../types.js';

/** `tls:` of every kind that speaks TLS. Certificates are verified unless insecureSkipVerify. */
export const tlsSchema = z
  .strictObject({
    /** PEM text of the CA(s) to trust instead of the system's. */
    ca: z.string().optional(),
    /** A file holding that PEM text, read at every run (a rotated CA is picked up). */
    caFile: z.string().optional(),
    /** The name the certificate must carry, and the SNI sent; default the URL's host. */
    serverName: z.string().optional(),
    /** Default false. */
    insecureSkipVerify: z.boolean().default(false),
  })
  .refine((tls) => !(tls.ca !== undefined && tls.caFile !== undefined), {
    message: 'set either ca or caFile, not both',
  });
export type TlsOptions = z.infer<typeof tlsSchema>;

/** What node's tls.connect (and the drivers that pass it on) takes. */
export interface NodeTlsOptions {
  ca: string | undefined;
  rejectUnauthorized: boolean;
  servername?: string;
}

/**
 * Node's options for `tls`; without it, node's defaults (system CAs, verified). `serverName`
 * false leaves the configured name out: it belongs to the configured host, not to a redirect's.
 */
export function nodeTlsOptions(tls: TlsOptions | undefined, { serverName = true } = {}): NodeTlsOptions {
  if (tls === undefined) return { ca: undefined, rejectUnauthorized: true };
  return {
    ca: tls.caFile !== undefined ? readFileSync(tls.caFile, 'utf8') : tls.ca,
    rejectUnauthorized: !tls.insecureSkipVerify,
    ...(tls.serverName !== undefined && serverName ? { servername: tls.serverName } : {}),
  };
}

function commonNameOf(cert: PeerCertificate): string | undefined {
  // Node gives an array when the subject has several CNs.
  const cn: unknown = cert.subject.CN;
  if (Array.isArray(cn)) return typeof cn[0] === 'string' ? cn[0] : undefined;
  return typeof cn === 'string' ? cn : undefined;
}

/**
 * The certificate of `leaf`'s chain (from getPeerCertificate(true)) that expires first. The walk
 * ends where a certificate is its own issuer (Node links a root to itself) or the chain ends.
 */
export function earliestExpiry(leaf: PeerCertificate): CertificateExpiry | undefined {
  let earliest: CertificateExpiry | undefined;
  const seen = new Set<PeerCertificate>();
  for (
    let cert: PeerCertificate | undefined = leaf;
    cert !== undefined && typeof cert.valid_to === 'string' && !seen.has(cert);
    cert = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate
  ) {
    seen.add(cert);
    const notAfter = Date.parse(cert.valid_to);
    if (Number.isFinite(notAfter) && (earliest === undefined || notAfter < earliest.notAfter)) {
      earliest = { notAfter, commonName: commonNameOf(cert) };
    }
  }
  return earliest;
}

/**
 * Records the chain of a socket that completed a TLS handshake; anything else (a plain socket,
 * a handshake that failed, a socket already destroyed) records nothing.
 */
export function recordPeerCertificates(socket: unknown, recorder: RunRecorder): void {
  if (!(socket instanceof TLSSocket)) return;
  const leaf = socket.getPeerCertificate(true) as PeerCertificate | null;
  const expiry = leaf === null ? undefined : earliestExpiry(leaf);
  if (expiry !== undefined) recorder.certificate(expiry);
}

/**
 * For clients that keep their TLS socket to themselves (node-redis): Node hands the chain to
 * checkServerIdentity once it has verified it. Only verified chains are seen this way.
 */
export function recordingServerIdentity(recorder: RunRecorder): typeof checkServerIdentity {
  return (hostname, cert) => {
    const expiry = earliestExpiry(cert);
    if (expiry !== undefined) recorder.certificate(expiry);
    return checkServerIdentity(hostname, cert);
  };
}
