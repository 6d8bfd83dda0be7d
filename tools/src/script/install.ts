// Writes the wrapper, its conf and a copy of the helper into the storage directory. Every file is
// written to a temporary name created with its final mode, then renamed: no reader ever sees a
// partial file or a wider mode (common/atomic-write.ts). (The password is not this module's: see
// cli/commands/script.ts.)
import { chmod, copyFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { makeDirs } from '../common/make-dirs.js';
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

/** installScript writes container-registry.sh, .conf and the helper copy. */
export async function installScript(spec: InstallSpec): Promise<InstallResult> {
  await makeDirs(spec.storage);
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
