import { readFileSync } from 'node:fs';
import { z } from 'zod';

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
