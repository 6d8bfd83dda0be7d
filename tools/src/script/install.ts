// Writes the wrapper, its conf and a copy of the helper into the storage directory. Every file is
// written to a temporary name created with its final mode, then renamed: no reader ever sees a
// partial file or a wider mode (common/atomic-write.ts). (The password is not this module's: see
// cli/commands/script.ts.)
//
// The helper is an entry file and the chunks it imports (scripts/build.mjs), whose names carry a
// hash of their content. The copy puts every chunk the new entry needs in place first, then the
// entry, by one rename: whoever runs the copy gets one build's entry with exactly its chunks, before
// the switch and after it. The chunks no longer used go last, except those of the entry just
// replaced: a registry started from it may still import one of them.
import { readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { makeDirs } from '../common/make-dirs.js';
import { CONF_NAME, HELPER_CHUNKS, HELPER_NAME, renderConf, renderScript, SCRIPT_NAME, type ScriptSpec } from './render.js';

/** InstallSpec is a ScriptSpec plus the helper to copy. */
export interface InstallSpec extends ScriptSpec {
  /** the bundled helper (its entry file) to copy next to the script, with the chunks beside it */
  helper: string;
}

/** InstallResult lists what was written. */
export interface InstallResult {
  script: string;
  conf: string;
  helper: string;
}

/**
 * CHUNK_IMPORT finds the chunks a bundle file imports: `"./container-registry-chunks/x-HASH.mjs"`
 * (entry), `"./x-HASH.mjs"` (chunk), HASH being esbuild's 8 characters of base32.
 */
const CHUNK_IMPORT = /["']\.\/(?:container-registry-chunks\/)?([\w.-]+-[A-Z0-9]{8}\.mjs)["']/g;

/**
 * helperChunks lists the chunks the helper entry at `entry` needs, following imports from chunk to
 * chunk; `read` gives a file's text (undefined: it is missing, which is an error for a chunk).
 */
export async function helperChunks(entry: string, read: (path: string) => Promise<string | undefined>): Promise<Set<string>> {
  const dir = join(dirname(entry), HELPER_CHUNKS);
  const found = new Set<string>();
  const queue = [(await read(entry)) ?? ''];
  for (let text = queue.pop(); text !== undefined; text = queue.pop()) {
    for (const m of text.matchAll(CHUNK_IMPORT)) {
      const name = m[1]!;
      if (found.has(name)) continue;
      found.add(name);
      const chunk = await read(join(dir, name));
      if (chunk === undefined) throw new Error(`the helper ${entry} imports ${HELPER_CHUNKS}/${name}, which is missing`);
      queue.push(chunk);
    }
  }
  return found;
}

const readText = (path: string) =>
  readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });

/**
 * installHelper copies the helper `source` (entry and chunks) to `target` in the storage
 * directory: chunks first (one already there is the same file, by its name), the entry last, then
 * the chunks that neither the new entry nor the one it replaced import.
 */
export async function installHelper(source: string, target: string): Promise<void> {
  const chunks = await helperChunks(source, readText);
  const previous = await helperChunks(target, readText).catch(() => new Set<string>());
  const from = join(dirname(source), HELPER_CHUNKS);
  const to = join(dirname(target), HELPER_CHUNKS);
  if (chunks.size) await makeDirs(to);
  const present = new Set(await readdir(to).catch(() => []));
  for (const name of chunks) if (!present.has(name)) await writeFileAtomic(join(to, name), await readFile(join(from, name)), 0o644);
  await writeFileAtomic(target, await readFile(source), 0o755);
  for (const name of present) {
    if (name.endsWith('.mjs') && !chunks.has(name) && !previous.has(name)) await unlink(join(to, name)).catch(() => {});
  }
}

/** installScript writes container-registry.sh, .conf and the helper copy. */
export async function installScript(spec: InstallSpec): Promise<InstallResult> {
  await makeDirs(spec.storage);
  const script = join(spec.storage, SCRIPT_NAME);
  const conf = join(spec.storage, CONF_NAME);
  const helper = join(spec.storage, HELPER_NAME);
  await writeFileAtomic(conf, renderConf(spec), 0o644);
  if (spec.helper !== helper) await installHelper(spec.helper, helper);
  await writeFileAtomic(script, renderScript(spec), 0o755);

  return { script, conf, helper };
}
