// Temp folders that a test owns and removes when it ends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** tempDir makes a folder under the OS temp dir, removed at teardown. */
export async function tempDir(t: { teardown(fn: () => unknown): void }, prefix = 'cr-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
