// build: bundles tools/src/cli.ts into the one ESM file the layer carries.
// The output must be byte-identical for identical sources (CI compares it with the committed copy),
// so no timestamps, no absolute paths and no source maps go into it.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

const outfile = 'meta-container-registry/files/container-registry.mjs';

// The web UI's files become a string module first (see ui-assets.mjs).
await import('./ui-assets.mjs');

// @homebridge/ciao (mDNS) imports source-map-support/register, which patches Error.prepareStackTrace
// for the whole process as it loads; the bundle has no source maps, so it would only cost 70 KB.
const withoutSourceMapSupport = {
  name: 'without-source-map-support',
  setup(b) {
    b.onResolve({ filter: /^source-map-support\/register$/ }, (args) => ({ path: args.path, namespace: 'empty' }));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: '', loader: 'js' }));
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
  plugins: [withoutSourceMapSupport],
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require() for node builtins; ESM output has no require.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __cr_createRequire } from 'node:module';\nconst require = __cr_createRequire(import.meta.url);",
  },
});
await chmod(outfile, 0o755);
