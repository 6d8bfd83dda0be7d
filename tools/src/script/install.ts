// Writes the wrapper, its conf and a copy of the helper into the storage directory. Every file is
// written to a temporary name created with its final mode, then renamed: no reader ever sees a
// partial file or a wider mode. (The password is not this module's: see cli/commands/script.ts.)
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CONF_NAME, HELPER_NAME, renderConf, renderScript, SCRIPT_NAME, type ScriptSpec } from './render.js';

/** InstallSpec is a ScriptSpec plus the helper to copy. */
export interface InstallSpec extends ScriptSpec {
  /** the bundled helper to copy next to the script */
  helper: string;
}

/** InstallResult lists what was written. */
export interface InstallResult {
  script: string;
  conf: string;
  helper: string;
}

/** writeFileAtomic writes `data` to a temp file created with `mode` (O_EXCL), fsyncs, then renames. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
}

/** installScript writes container-registry.sh, .conf and the helper copy. */
export async function installScript(spec: InstallSpec): Promise<InstallResult> {
  await mkdir(spec.storage, { recursive: true });
  const script = join(spec.storage, SCRIPT_NAME);
  const conf = join(spec.storage, CONF_NAME);
  const helper = join(spec.storage, HELPER_NAME);
  await writeFileAtomic(conf, renderConf(spec), 0o644);
  if (spec.helper !== helper) {
    const tmp = `${helper}.tmp-${process.pid}`;
    await copyFile(spec.helper, tmp);
    await chmod(tmp, 0o755);
    await rename(tmp, helper);
  }
  await writeFileAtomic(script, renderScript(spec), 0o755);

  return { script, conf, helper };
}
