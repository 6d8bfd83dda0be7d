// build: bundles tools/src/cli.ts into the helper the layer carries: an ESM entry file and a folder
// of chunks beside it, split at every dynamic import() so a command loads only what it uses.
// The output must be byte-identical for identical sources (CI compares it with the committed copy),
// so no timestamps, no absolute paths and no source maps go into it.
//
//   node scripts/build.mjs [--outdir DIR]   (default meta-container-registry/files; check-bundle builds into a temporary one)
import { build } from 'esbuild';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHUNK_DIR, ENTRY_NAME } from './bundle-files.mjs';

const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? process.argv[at + 1] : 'meta-container-registry/files';

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

// Node's built-ins stay imports of node:... (external). Each chunk imports those its own modules
// use, and a chunk loads only when a command needs it, so a push loads what a push needs (the
// one-file bundle before routed them through lazy require() wrappers for that, at a cost in every
// module that used one).

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

// Two things yargs does on every command that the helper has no use for, taken out here (each a
// few ms of a 0.1 s re-push; should yargs change, the build warns and the helper just pays again):
// - yargs() registers a default --version and guesses its number at once: it looks for a
//   package.json from the current folder up to / and parses the first one it finds. The helper
//   gives its own number (cli.ts: .version(VERSION)), so the guess goes from the factory.
// - argsert checks the types of the arguments of every yargs API call (.option, .describe, ...),
//   parsing a signature text each time: programming errors only, which the typecheck catches here.
const yargsFactory = 'yargs.help();\n        yargs.version();\n';
const yargsLean = {
  name: 'yargs-lean',
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]build[\\/]lib[\\/]yargs-factory\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(yargsFactory)) {
        return { contents: text, loader: 'js', warnings: [{ text: 'yargs-factory.js changed: its version guess stays in' }] };
      }
      return { contents: text.replace(yargsFactory, 'yargs.help();\n'), loader: 'js' };
    });
    b.onResolve({ filter: /^\.\/argsert\.js$/ }, (args) =>
      /[\\/]yargs[\\/]build[\\/]lib$/.test(args.resolveDir) ? { path: 'argsert', namespace: 'yargs-argsert' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'yargs-argsert' }, () => ({ contents: 'export function argsert() {}\n', loader: 'js' }));
  },
};

// Password checks run in worker threads (tools/src/auth/verify-pool.ts), started from a string with
// `new Worker(source, { eval: true })`, since the helper has no node_modules beside
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

const result = await build({
  entryPoints: { [ENTRY_NAME.replace(/\.mjs$/, '')]: 'tools/src/cli.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  // Code splitting: every import() becomes a chunk of its own, and code that several chunks share
  // a shared one. Chunk names carry a hash of their content (and of the chunks they import), so an
  // entry file always names exactly the chunks of its own build.
  splitting: true,
  chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Whitespace and syntax only: 30% less to read and parse on every start, while stack traces and
  // profiles keep the source's function and class names (no source map to carry). Full
  // minification (identifiers too) saved a further third of the size but no measurable start-up.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  plugins: [withoutSourceMapSupport, lazyStringWidth, yargsLean, verifyWorkerSource],
  logLevel: 'warning',
  write: false,
  metafile: !!process.env.CR_METAFILE,
});

// Bundled CommonJS dependencies call require() (esbuild's __require helper, in the chunk of its
// runtime): ESM has no require, so the files that name it get one made by createRequire. Only the
// entry gets the #! line.
//
// The files are written the way `container-registry script` copies them (tools/src/script/install.ts):
// each under a temporary name, renamed into place, the chunks before the entry, so a helper started
// meanwhile (a test, a registry) finds one build whole. Then the chunks of older builds go: esbuild
// only adds files, and a chunk no entry imports must not linger in the layer (check-bundle would
// call it stale).
const REQUIRE = /(?<![\w$.])require(?![\w$])/;
const entryPath = resolve(outdir, ENTRY_NAME);
await mkdir(join(outdir, CHUNK_DIR), { recursive: true });
const place = async (path, text, mode) => {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
};
let entryText = '';
for (const file of result.outputFiles) {
  const head = [];
  if (file.path === entryPath) head.push('#!/usr/bin/env node');
  if (REQUIRE.test(file.text))
    head.push("import { createRequire as __cr_createRequire } from 'node:module';", 'const require = __cr_createRequire(import.meta.url);');
  const text = head.length ? `${head.join('\n')}\n${file.text}` : file.text;
  if (file.path === entryPath) entryText = text;
  else await place(file.path, text, 0o644);
}
await place(entryPath, entryText, 0o755);
await chmod(entryPath, 0o755);
const built = new Set(result.outputFiles.map((f) => basename(f.path)));
for (const name of await readdir(join(outdir, CHUNK_DIR))) if (!built.has(name)) await rm(join(outdir, CHUNK_DIR, name), { force: true });
// CR_METAFILE=FILE writes esbuild's metafile (which module went into which chunk) for analysis.
if (process.env.CR_METAFILE) await writeFile(process.env.CR_METAFILE, JSON.stringify(result.metafile));
