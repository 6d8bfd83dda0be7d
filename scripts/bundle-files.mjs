// The helper's files as the build writes them and the layer carries them: the entry, and the folder
// of its chunks beside it. Shared by the build, the bundle check, the tests and the benchmarks.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** ENTRY_NAME is the helper's entry file (what node runs, what the layer's Python and the script name). */
export const ENTRY_NAME = 'container-registry.mjs';
/** CHUNK_DIR is the folder of the entry's chunks, beside it (what the entry imports by relative path). */
export const CHUNK_DIR = 'container-registry-chunks';

/** bundleFiles lists the helper's files under `dir`, relative to it: the entry first, then every chunk, sorted. */
export function bundleFiles(dir) {
  let chunks = [];
  try {
    chunks = readdirSync(join(dir, CHUNK_DIR)).sort();
  } catch {
    // no chunk folder: an incomplete bundle, which a comparison then reports
  }
  return [ENTRY_NAME, ...chunks.map((c) => `${CHUNK_DIR}/${c}`)];
}
