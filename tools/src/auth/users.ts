// Users of one storage directory: auth/htpasswd, and the default user's password in auth/password.
// Every change is a locked read-modify-write with an atomic 0600 write, so concurrent commands
// never lose a user and a reader never sees half a file.
import { HelperError } from '../errors/helper-error.js';
import { StateDir } from '../state/state-dir.js';
import { USERNAME_PATTERN, formatHtpasswd, hashPassword, parseHtpasswd, verifyHash, type HtpasswdEntry } from './htpasswd.js';
import { checkNewPassword, checkPassword, generatePassword } from './passwords.js';

/** DEFAULT_USERNAME is CONTAINER_REGISTRY_USERNAME's default. */
export const DEFAULT_USERNAME = 'yocto';

const SECRET_MODE = 0o600;

/** checkUsername rejects names htpasswd cannot hold or a shell would mangle. */
export function checkUsername(name: string): string {
  if (!USERNAME_PATTERN.test(name)) {
    throw new HelperError('usage', `invalid user name ${JSON.stringify(name.slice(0, 64))}: use letters, digits and ._@+- (at most 128)`);
  }
  return name;
}

/** defaultUsername is CONTAINER_REGISTRY_USERNAME or `yocto`. */
export function defaultUsername(env: NodeJS.ProcessEnv): string {
  return checkUsername(env.CONTAINER_REGISTRY_USERNAME || DEFAULT_USERNAME);
}

/** readUsers reads auth/htpasswd (no file: no users). */
export async function readUsers(storageDir: StateDir | string): Promise<HtpasswdEntry[]> {
  const state = StateDir.of(storageDir);
  return parseHtpasswd((await state.readText(state.htpasswd(), 'auth-read')) ?? '');
}

/** readDefaultPassword reads auth/password, if there is one. */
export async function readDefaultPassword(storageDir: StateDir | string): Promise<string | undefined> {
  const state = StateDir.of(storageDir);
  const text = await state.readText(state.passwordFile(), 'auth-read');
  return text === undefined ? undefined : text.replace(/\r?\n$/, '');
}

async function update<T>(state: StateDir, fn: (users: HtpasswdEntry[]) => Promise<{ users: HtpasswdEntry[] | undefined; value: T }>): Promise<T> {
  await state.makeDir(state.authDir(), 0o700);
  return state.locked(state.authDir(), async () => {
    const users = parseHtpasswd((await state.readText(state.htpasswd(), 'auth-read')) ?? '');
    const { users: next, value } = await fn(users);
    if (next) await state.writeFile(state.htpasswd(), formatHtpasswd(next), SECRET_MODE);
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
export async function setUserPassword(
  storageDir: StateDir | string,
  user: string,
  password: string,
  o: { mode: SetPasswordMode; defaultUser?: string },
): Promise<UserChange> {
  checkUsername(user);
  checkPassword(password, 'the given source');
  const hash = await hashPassword(password);
  const state = StateDir.of(storageDir);
  return update(state, async (users) => {
    const exists = users.some((u) => u.user === user);
    if (exists && o.mode === 'add') throw new HelperError('user-exists', `user ${user} exists; use \`auth passwd ${user}\` to change the password`);
    if (!exists && o.mode === 'change') throw new HelperError('user-unknown', `no user ${user}; add it with \`auth add ${user}\``);
    const next = exists ? users.map((u) => (u.user === user ? { user, hash } : u)) : [...users, { user, hash }];
    const isDefault = user === (o.defaultUser ?? DEFAULT_USERNAME);
    // The default user's password is kept in clear for the tools that push and the target config.
    if (isDefault) await state.writeFile(state.passwordFile(), `${password}\n`, SECRET_MODE);
    return { users: next, value: { user, defaultUser: isDefault } };
  });
}

/** removeUser removes a user (and auth/password when it is the default user). */
export async function removeUser(storageDir: StateDir | string, user: string, o: { defaultUser?: string } = {}): Promise<void> {
  const state = StateDir.of(storageDir);
  await update(state, async (users) => {
    if (!users.some((u) => u.user === user)) throw new HelperError('user-unknown', `no user ${user}`);
    if (user === (o.defaultUser ?? DEFAULT_USERNAME)) await state.removeFile(state.passwordFile());
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
export async function ensureDefaultUser(storageDir: StateDir | string, env: NodeJS.ProcessEnv): Promise<DefaultUserResult> {
  const user = defaultUsername(env);
  const state = StateDir.of(storageDir);
  const fromEnv = env.CONTAINER_REGISTRY_PASSWORD ? checkPassword(env.CONTAINER_REGISTRY_PASSWORD, 'CONTAINER_REGISTRY_PASSWORD') : undefined;
  const existing = (await readUsers(state)).find((u) => u.user === user);
  const stored = await readDefaultPassword(state);
  const base = { user, passwordFile: state.passwordFile() };
  if (existing) {
    if (fromEnv === undefined || (await verifyHash(fromEnv, existing.hash))) {
      // The clear copy follows the hash: write it when the env password is the current one.
      if (fromEnv !== undefined && stored !== fromEnv) await state.writeFile(state.passwordFile(), `${fromEnv}\n`, SECRET_MODE);
      return { ...base, action: 'kept', passwordSource: fromEnv !== undefined ? 'CONTAINER_REGISTRY_PASSWORD' : 'existing' };
    }
    // A new password from the environment, not the one in use: it must be long enough.
    await setUserPassword(state, user, checkNewPassword(fromEnv, 'CONTAINER_REGISTRY_PASSWORD'), { mode: 'upsert', defaultUser: user });
    return { ...base, action: 'updated', passwordSource: 'CONTAINER_REGISTRY_PASSWORD' };
  }
  const password =
    (fromEnv !== undefined ? checkNewPassword(fromEnv, 'CONTAINER_REGISTRY_PASSWORD') : undefined) ??
    (stored && checkPassword(stored, state.passwordFile())) ??
    generatePassword();
  await setUserPassword(state, user, password, { mode: 'upsert', defaultUser: user });
  return { ...base, action: 'created', passwordSource: fromEnv !== undefined ? 'CONTAINER_REGISTRY_PASSWORD' : stored ? 'existing' : 'generated' };
}
