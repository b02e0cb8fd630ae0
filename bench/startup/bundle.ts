/**
 * The "bundle" variant: dist/cli.js bundled by esbuild (tsx's own dependency, not one of ours)
 * into dist/.startup-bundle/, ESM with code splitting so that the drivers stay lazy chunks.
 * An experiment only, to size what a bundle would buy: the bundle is not what ships (the version
 * it reports is 0.0.0, and the mysql check fails on the driver's CommonJS interop instead of
 * "refused", after loading the driver's chunk just the same).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../lib/versions.js';

export const BUNDLE_DIR = path.join(ROOT, 'dist', '.startup-bundle');

/** Builds the bundle; returns its entry, or undefined (with the reason) when esbuild is missing. */
export async function buildBundle(): Promise<{ entry?: string; error?: string }> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    return { error: `esbuild not installed (${(error as Error).message})` };
  }
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'dist/cli.js')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    splitting: true,
    outdir: BUNDLE_DIR,
    outExtension: { '.js': '.mjs' },
    // A native addon, and optional peers of pg and mysql2 that are not installed.
    external: ['pg-native', 'cloudflare:sockets'],
    // The CommonJS dependencies call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __startupRequire } from 'node:module'; const require = __startupRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return { entry: path.join(BUNDLE_DIR, 'cli.mjs') };
}
