// The server core (oci/, storage/, registry/, daemon/ and what they stand on: common/, errors/, state/)
// depends on node: builtins and a short named list only, so the bundle stays small and the registry
// has nothing to break at run time. And the folders are layered: nothing below the CLI imports cli/;
// daemon/ (process control, the composition root) is above registry/ and nothing below imports it;
// pki/, auth/ and push/ reach storage only through the state directory type (state/); errors/ sits
// at the bottom and imports nothing of the project.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ROOT } from './helpers/registry.js';

const SRC = join(ROOT, 'tools', 'src');
const CORE = ['oci', 'storage', 'registry', 'daemon', 'common', 'errors', 'state'];
// @smithy/signature-v4 is the SDK's own signer (presigned redirects), in the tree with @aws-sdk/client-s3.
const ALLOWED = new Set(['execa', 'prom-client', '@homebridge/ciao', 'bcryptjs', 'smol-toml', '@aws-sdk/client-s3', '@smithy/signature-v4']);

/** Import is one import (static, re-export or dynamic) of one source file. */
interface Import {
  /** the importing file, relative to tools/src */
  file: string;
  spec: string;
  /** for a relative import: the imported file, relative to tools/src */
  target: string | undefined;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** importsOf lists the imports of one file's text. */
function importsOf(file: string, text: string): Import[] {
  const specs = [
    ...[...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s*import\s+'([^']+)'/gm)].map((m) => m[1]!),
    ...[...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!),
  ];
  return specs.map((spec) => ({
    file,
    spec,
    target: spec.startsWith('.')
      ? relative(SRC, resolve(SRC, dirname(file), spec))
          .split(sep)
          .join('/')
      : undefined,
  }));
}

/** topOf is the top folder of a path under tools/src (`cli.ts` for the entry point). */
const topOf = (path: string) => path.split('/')[0]!;

/** Rule: files whose top folder is in `from` must not import what `forbidden` matches. */
interface Rule {
  name: string;
  from: (top: string) => boolean;
  forbidden: (imp: Import) => boolean;
}

const RULES: Rule[] = [
  {
    name: 'nothing below the CLI imports cli/ (or cli.ts)',
    from: (top) => top !== 'cli' && top !== 'cli.ts',
    forbidden: (imp) => imp.target !== undefined && (topOf(imp.target) === 'cli' || imp.target === 'cli.js'),
  },
  {
    name: 'pki/, auth/ and push/ reach storage/ only through state/',
    from: (top) => ['pki', 'auth', 'push'].includes(top),
    forbidden: (imp) => imp.target !== undefined && topOf(imp.target) === 'storage',
  },
  {
    name: 'process control (daemon/) sits above the server: registry/, storage/ and below never import it',
    from: (top) => !['cli', 'cli.ts', 'daemon'].includes(top),
    forbidden: (imp) => imp.target !== undefined && topOf(imp.target) === 'daemon',
  },
  {
    name: 'errors/ imports nothing of the project (node: builtins and errors/ only)',
    from: (top) => top === 'errors',
    forbidden: (imp) => (imp.target !== undefined && topOf(imp.target) !== 'errors') || (imp.target === undefined && !imp.spec.startsWith('node:')),
  },
];

/** violations lists the imports that break a rule, as `file imports spec (rule)`. */
function violations(imports: Import[]): string[] {
  const out: string[] = [];
  for (const imp of imports) {
    for (const rule of RULES) {
      if (rule.from(topOf(imp.file)) && rule.forbidden(imp)) out.push(`${imp.file} imports ${imp.spec} (${rule.name})`);
    }
  }
  return out;
}

async function allImports(): Promise<Import[]> {
  const out: Import[] = [];
  for (const path of await sourceFiles(SRC)) {
    const file = relative(SRC, path).split(sep).join('/');
    out.push(...importsOf(file, await readFile(path, 'utf8')));
  }
  return out;
}

t.test('server core imports', async (t) => {
  for (const dir of CORE) {
    const folder = join(SRC, dir);
    for (const file of (await readdir(folder)).filter((f) => f.endsWith('.ts'))) {
      const text = await readFile(join(folder, file), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || spec.startsWith('.')) continue;
        t.ok(ALLOWED.has(spec), `${dir}/${file} imports ${spec}`);
      }
      t.notMatch(text, /from\s+'(?:fs|http|https|crypto|path|os|net|stream)'/, `${dir}/${file} names builtins with node:`);
    }
  }
});

t.test('the folders are layered', async (t) => {
  const imports = await allImports();
  t.ok(imports.length > 100, `read the imports of tools/src (${imports.length})`);
  t.same(violations(imports), [], 'no import breaks a layering rule');
});

t.test('the layering rules catch what they are for', async (t) => {
  const bad = [
    ...importsOf('pki/pki.ts', "import { HelperError } from '../cli/errors.js';"),
    ...importsOf('push/progress.ts', "import { humanBytes } from '../cli/format.js';"),
    ...importsOf('registry/server.ts', "const m = await import('../cli/options.js');"),
    ...importsOf('auth/users.ts', "import { StoragePaths } from '../storage/paths.js';"),
    ...importsOf('push/push.ts', "export { withLock } from '../storage/lock.js';"),
    ...importsOf('errors/codes.ts', "import type { Digest } from '../oci/digest.js';"),
    ...importsOf('errors/helper-error.ts', "import yargs from 'yargs';"),
    ...importsOf('registry/server.ts', "import { guardProcess } from '../daemon/process-guards.js';"),
  ];
  t.equal(violations(bad).length, bad.length, 'each bad import is reported');
  const good = [
    ...importsOf('cli/commands/gc.ts', "import { ImageStore } from '../../storage/store.js';"),
    ...importsOf('cli.ts', "import { loadCommands } from './cli/commands/index.js';"),
    ...importsOf('pki/pki.ts', "import { StateDir } from '../state/state-dir.js';"),
    ...importsOf('state/state-dir.ts', "import { StoragePaths } from '../storage/paths.js';"),
    ...importsOf('errors/helper-error.ts', "import { ERROR_CODES } from './codes.js';"),
    ...importsOf('daemon/serve.ts', "import { startRegistry } from '../registry/server.js';"),
    ...importsOf('cli/commands/server.ts', "import { runServer } from '../../daemon/serve.js';"),
  ];
  t.same(violations(good), [], 'allowed imports pass');
});
