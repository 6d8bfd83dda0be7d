// The verification worker's code as one string, for `new Worker(source, { eval: true })`: the
// helper is one bundled file run by plain `node`, with no worker file or node_modules beside it.
//
// In the bundle this module does not exist: scripts/build.mjs bundles verify-worker.ts first and
// puts a module returning that text in its place. Run from the sources (the tests, through tsx),
// this one bundles verify-worker.ts with esbuild (a devDependency) on first use, with the same
// options as build.mjs.
import { fileURLToPath } from 'node:url';

let source: Promise<string> | undefined;

/** verifyWorkerSource is the worker's code: a CommonJS script needing only node: built-ins. */
export function verifyWorkerSource(): Promise<string> {
  return (source ??= bundle());
}

async function bundle(): Promise<string> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./verify-worker.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  return out.outputFiles[0]!.text;
}
