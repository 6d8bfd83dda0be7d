// build: bundles tools/src/cli.ts into the one ESM file the layer carries.
// The output must be byte-identical for identical sources (CI compares it with the committed copy),
// so no timestamps, no absolute paths and no source maps go into it.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const outfile = 'meta-container-registry/files/container-registry.mjs';

// The web UI's files become a string module first (see ui-assets.mjs).
await import('./ui-assets.mjs');
// The layer's Python gets its list of settings from the settings table (see settings-python.mjs).
await import('./settings-python.mjs');

// @homebridge/ciao (mDNS) imports source-map-support/register, which patches Error.prepareStackTrace
// for the whole process as it loads; the bundle has no source maps, so it would only cost 70 KB.
const withoutSourceMapSupport = {
  name: 'without-source-map-support',
  setup(b) {
    b.onResolve({ filter: /^source-map-support\/register$/ }, (args) => ({ path: args.path, namespace: 'empty' }));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: '', loader: 'js' }));
  },
};

// ESM imports are hoisted: a bundle that imports node's built-ins statically loads every one of
// them at start (100 for `--version`: tls, https, dgram, child_process, zlib, ...), even those only
// the server or the PKI use. Routed through require() inside esbuild's lazy module wrappers, each
// built-in loads when the first module that needs it runs, so a push loads what a push needs.
const builtinNames = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const lazyBuiltins = {
  name: 'lazy-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^[a-z0-9_:/]+$/ }, (args) => {
      if (!builtinNames.has(args.path)) return undefined;
      if (args.namespace === 'lazy-builtin') return { path: args.path, external: true };
      return { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`,
      loader: 'js',
    }));
  },
};

// yargs' help layout measures text with string-width, three copies of which (under yargs, cliui and
// wrap-ansi) build an Intl.Segmenter and a \p{RGI_Emoji} regular expression as they load: ~20 ms of
// every command's start, though only --help and errors ever measure text. Every ESM import of
// string-width gets one shim that loads yargs' copy on the first call (esbuild's require() of a
// bundled ESM module is synchronous and lazy). CommonJS users (cli-progress, v4) keep their own.
const stringWidthReal = fileURLToPath(new URL('../node_modules/yargs/node_modules/string-width/index.js', import.meta.url));
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, (args) =>
      args.kind === 'import-statement' ? { path: 'string-width', namespace: 'lazy-string-width' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, () => ({
      contents: `let real;\nexport default function stringWidth(text, options) {\n  real ??= require(${JSON.stringify(stringWidthReal)}).default;\n  return real(text, options);\n}\n`,
      resolveDir: dirname(stringWidthReal),
      loader: 'js',
    }));
  },
};

// Password checks run in worker threads (tools/src/auth/verify-pool.ts), started from a string with
// `new Worker(source, { eval: true })`, since the helper is one file with no node_modules beside
// it. The worker (bcryptjs and a message handler) is bundled on its own first, as a CommonJS script
// (an eval'd worker has require()); the module that gives its text becomes a string module. Minified:
// it is never read, and its text is carried in the bundle as one JSON string. The options are those
// tools/src/auth/verify-worker-source.ts uses when the tests run the sources.
const verifyWorker = await build({
  entryPoints: ['tools/src/auth/verify-worker.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});
const verifyWorkerSource = {
  name: 'verify-worker-source',
  setup(b) {
    b.onResolve({ filter: /\/verify-worker-source\.js$/ }, () => ({ path: 'verify-worker-source', namespace: 'verify-worker-source' }));
    b.onLoad({ filter: /.*/, namespace: 'verify-worker-source' }, () => ({
      contents: `const source = ${JSON.stringify(verifyWorker.outputFiles[0].text)};\nexport function verifyWorkerSource() {\n  return Promise.resolve(source);\n}\n`,
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['tools/src/cli.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  plugins: [withoutSourceMapSupport, lazyBuiltins, lazyStringWidth, verifyWorkerSource],
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require() for node builtins; ESM output has no require.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __cr_createRequire } from 'node:module';\nconst require = __cr_createRequire(import.meta.url);",
  },
});
await chmod(outfile, 0o755);
