// Users of one storage directory: auth/htpasswd, and the default user's password in auth/password.
// Every change is a locked read-modify-write with an atomic 0600 write, so concurrent commands
// never lose a user and a reader never sees half a file.
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../cli/errors.js';
import { FsDriver } from '../storage/driver.js';
import { StoragePaths } from '../storage/paths.js';
import { LockBusy, withLock } from '../storage/lock.js';
import { USERNAME_PATTERN, formatHtpasswd, hashPassword, parseHtpasswd, verifyHash, type HtpasswdEntry } from './htpasswd.js';
import { checkPassword, generatePassword } from './passwords.js';

/** DEFAULT_USERNAME is CONTAINER_REGISTRY_USERNAME's default. */
export const DEFAULT_USERNAME = 'yocto';

const SECRET_MODE = 0o600;
const driver = new FsDriver();

/** checkUsername rejects names htpasswd cannot hold or a shell would mangle. */
export function checkUsername(name: string): string {
  if (!USERNAME_PATTERN.test(name)) {
    throw new CliError('usage', `invalid user name ${JSON.stringify(name.slice(0, 64))}: use letters, digits and ._@+- (at most 128)`, { exitCode: 2 });
  }
  return name;
}

/** defaultUsername is CONTAINER_REGISTRY_USERNAME or `yocto`. */
export function defaultUsername(env: NodeJS.ProcessEnv): string {
  return checkUsername(env.CONTAINER_REGISTRY_USERNAME || DEFAULT_USERNAME);
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError('auth-read', `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** readUsers reads auth/htpasswd (no file: no users). */
export async function readUsers(storageDir: string): Promise<HtpasswdEntry[]> {
  return parseHtpasswd((await readText(new StoragePaths(storageDir).htpasswd())) ?? '');
}

/** readDefaultPassword reads auth/password, if there is one. */
export async function readDefaultPassword(storageDir: string): Promise<string | undefined> {
  const text = await readText(new StoragePaths(storageDir).passwordFile());
  return text === undefined ? undefined : text.replace(/\r?\n$/, '');
}

async function update<T>(storageDir: string, fn: (users: HtpasswdEntry[], paths: StoragePaths) => Promise<{ users: HtpasswdEntry[] | undefined; value: T }>): Promise<T> {
  const paths = new StoragePaths(storageDir);
  await mkdir(paths.authDir(), { recursive: true, mode: 0o700 });
  return locked(join(paths.authDir(), '.lock'), async () => {
    const users = parseHtpasswd((await readText(paths.htpasswd())) ?? '');
    const { users: next, value } = await fn(users, paths);
    if (next) await driver.writeFileAtomic(paths.htpasswd(), formatHtpasswd(next), SECRET_MODE);
    return value;
  });
}

/** UserChange says whether a password was set for the default user (then also in auth/password). */
export interface UserChange {
  user: string;
  defaultUser: boolean;
}

/** SetPasswordMode: `add` fails for an existing user, `change` for a missing one, `upsert` does either. */
export type SetPasswordMode = 'add' | 'change' | 'upsert';

/** setUserPassword adds a user or changes its password; the default user's also goes to auth/password. */
export async function setUserPassword(storageDir: string, user: string, password: string, o: { mode: SetPasswordMode; defaultUser?: string }): Promise<UserChange> {
  checkUsername(user);
  checkPassword(password, 'the given source');
  const hash = await hashPassword(password);
  return update(storageDir, async (users, paths) => {
    const exists = users.some((u) => u.user === user);
    if (exists && o.mode === 'add') throw new CliError('user-exists', `user ${user} exists; use \`auth passwd ${user}\` to change the password`);
    if (!exists && o.mode === 'change') throw new CliError('user-unknown', `no user ${user}; add it with \`auth add ${user}\``);
    const next = exists ? users.map((u) => (u.user === user ? { user, hash } : u)) : [...users, { user, hash }];
    const isDefault = user === (o.defaultUser ?? DEFAULT_USERNAME);
    // The default user's password is kept in clear for the tools that push and the target config.
    if (isDefault) await driver.writeFileAtomic(paths.passwordFile(), `${password}\n`, SECRET_MODE);
    return { users: next, value: { user, defaultUser: isDefault } };
  });
}

/** removeUser removes a user (and auth/password when it is the default user). */
export async function removeUser(storageDir: string, user: string, o: { defaultUser?: string } = {}): Promise<void> {
  await update(storageDir, async (users, paths) => {
    if (!users.some((u) => u.user === user)) throw new CliError('user-unknown', `no user ${user}`);
    if (user === (o.defaultUser ?? DEFAULT_USERNAME)) await driver.deleteIfExists(paths.passwordFile());
    return { users: users.filter((u) => u.user !== user), value: undefined };
  });
}

/** DefaultUserResult tells what ensureDefaultUser did; it never holds the password. */
export interface DefaultUserResult {
  user: string;
  action: 'created' | 'updated' | 'kept';
  passwordSource: 'CONTAINER_REGISTRY_PASSWORD' | 'generated' | 'existing';
  passwordFile: string;
}

/**
 * ensureDefaultUser makes sure CONTAINER_REGISTRY_USERNAME exists. Its password is
 * CONTAINER_REGISTRY_PASSWORD when set (an existing user whose hash does not match is updated, so a
 * password set in local.conf reaches the registry), else the one in auth/password, else generated.
 */
export async function ensureDefaultUser(storageDir: string, env: NodeJS.ProcessEnv): Promise<DefaultUserResult> {
  const user = defaultUsername(env);
  const paths = new StoragePaths(storageDir);
  const fromEnv = env.CONTAINER_REGISTRY_PASSWORD ? checkPassword(env.CONTAINER_REGISTRY_PASSWORD, 'CONTAINER_REGISTRY_PASSWORD') : undefined;
  const existing = (await readUsers(storageDir)).find((u) => u.user === user);
  const stored = await readDefaultPassword(storageDir);
  const base = { user, passwordFile: paths.passwordFile() };
  if (existing) {
    if (fromEnv === undefined || (await verifyHash(fromEnv, existing.hash))) {
      // The clear copy follows the hash: write it when the env password is the current one.
      if (fromEnv !== undefined && stored !== fromEnv) await driver.writeFileAtomic(paths.passwordFile(), `${fromEnv}\n`, SECRET_MODE);
      return { ...base, action: 'kept', passwordSource: fromEnv !== undefined ? 'CONTAINER_REGISTRY_PASSWORD' : 'existing' };
    }
    await setUserPassword(storageDir, user, fromEnv, { mode: 'upsert', defaultUser: user });
    return { ...base, action: 'updated', passwordSource: 'CONTAINER_REGISTRY_PASSWORD' };
  }
  const password = fromEnv ?? (stored && checkPassword(stored, paths.passwordFile())) ?? generatePassword();
  await setUserPassword(storageDir, user, password, { mode: 'upsert', defaultUser: user });
  return { ...base, action: 'created', passwordSource: fromEnv !== undefined ? 'CONTAINER_REGISTRY_PASSWORD' : stored ? 'existing' : 'generated' };
}

/** locked holds the folder's lock file while `fn` runs; a lock held too long is one CLI line. */
function locked<T>(path: string, fn: () => Promise<T>): Promise<T> {
  return withLock(path, fn).catch((err: unknown) => {
    throw err instanceof LockBusy ? new CliError('locked', err.message) : err;
  });
}
