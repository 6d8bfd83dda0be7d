// Writes the wrapper, its conf and a copy of the helper into the storage directory, and the
// password from local.conf (if any) into auth/password. Every file is written to a temporary name
// created with its final mode, then renamed: no reader ever sees a partial file or a wider mode.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, rm, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { CONF_NAME, HELPER_NAME, renderConf, renderScript, SCRIPT_NAME, type ScriptSpec } from './render.js';

/** PASSWORD_FILE is where the registry's password lives, relative to the storage directory. */
export const PASSWORD_FILE = join('auth', 'password');
/** HTPASSWD_FILE is the registry's bcrypt credentials, derived from the password. */
export const HTPASSWD_FILE = join('auth', 'htpasswd');

/** InstallSpec is a ScriptSpec plus the helper to copy and the password to store. */
export interface InstallSpec extends ScriptSpec {
  /** the bundled helper to copy next to the script */
  helper: string;
  /** CONTAINER_REGISTRY_PASSWORD; undefined or empty leaves auth/password alone */
  password?: string | undefined;
}

/** InstallResult lists what was written. */
export interface InstallResult {
  script: string;
  conf: string;
  helper: string;
  /** set when the password file was written or already held this password */
  passwordFile: string | undefined;
  /** true when the password changed and the old htpasswd was removed (start writes a new one) */
  htpasswdReset: boolean;
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

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** installScript writes container-registry.sh, .conf, the helper copy and auth/password. */
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

  let passwordFile: string | undefined;
  let htpasswdReset = false;
  if (spec.password) {
    if (/[\n\r\0]/.test(spec.password)) throw new Error('CONTAINER_REGISTRY_PASSWORD must not contain a newline or NUL');
    const authDir = join(spec.storage, 'auth');
    await mkdir(authDir, { recursive: true, mode: 0o700 });
    passwordFile = join(spec.storage, PASSWORD_FILE);
    const current = await readIfExists(passwordFile);
    if (current?.replace(/\r?\n$/, '') !== spec.password) {
      await writeFileAtomic(passwordFile, `${spec.password}\n`, 0o600);
      if (current !== undefined || (await readIfExists(join(spec.storage, HTPASSWD_FILE))) !== undefined) {
        await rm(join(spec.storage, HTPASSWD_FILE), { force: true });
        htpasswdReset = true;
      }
    }
  }
  return { script, conf, helper, passwordFile, htpasswdReset };
}
