// Where credentials come from: the auth modes of the reference (none, home, authfile, credsfile,
// env) plus --creds/--token, Docker config.json `auths`, `credHelpers` and `credsStore`.
// Secrets stay in memory: never in argv (helpers get the host on stdin), logs or error messages.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HelperError } from '../errors/helper-error.js';

/** Credential is what a registry is shown: a user and password, or a token. */
export type Credential = { kind: 'basic'; username: string; password: string } | { kind: 'token'; token: string; username?: string };

/** AUTH_MODES are the values of --auth-mode / CONTAINER_REGISTRY_AUTH_MODE. */
export const AUTH_MODES = ['none', 'home', 'authfile', 'credsfile', 'env'] as const;

/** AuthMode is one of AUTH_MODES. */
export type AuthMode = (typeof AUTH_MODES)[number];

/** CredentialSettings is what the flags and environment say about credentials. */
export interface CredentialSettings {
  mode: AuthMode;
  authfile?: string;
  credsfile?: string;
  /** `user:password` from --creds */
  creds?: string;
  token?: string;
  /** environment for `env` mode and the home directory (tests pass their own) */
  env?: NodeJS.ProcessEnv;
}

/** CredentialSource answers the credential for one registry host, if any. */
export type CredentialSource = (host: string) => Promise<Credential | undefined>;

/** isAuthMode tells whether `mode` is a known auth mode. */
export function isAuthMode(mode: string): mode is AuthMode {
  return (AUTH_MODES as readonly string[]).includes(mode);
}

/** parseCreds reads `user:password` (the password may hold ':'). */
export function parseCreds(text: string, what = '--creds'): Credential {
  const i = text.indexOf(':');
  if (i <= 0) throw new HelperError('usage', `${what} must be USER:PASSWORD`);
  return { kind: 'basic', username: text.slice(0, i), password: text.slice(i + 1) };
}

/** parseCredsFile reads shell-style KEY=VALUE lines (`#` comment lines, `export`, one pair of quotes stripped) into a credential; the token wins. Not INI: a value keeps `#`, `;`, backslashes and `true` as written. */
export function parseCredsFile(text: string, where: string): Credential {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    if ((value.startsWith('"') && value.endsWith('"') && value.length >= 2) || (value.startsWith("'") && value.endsWith("'") && value.length >= 2)) {
      value = value.slice(1, -1);
    }
    vars[m[1]!] = value;
  }
  const fromVars = credentialFromVars(vars);
  if (!fromVars)
    throw new HelperError('credentials', `${where} sets neither CONTAINER_REGISTRY_TOKEN nor CONTAINER_REGISTRY_USER and CONTAINER_REGISTRY_PASSWORD`);
  return fromVars;
}

/** credentialFromVars applies the reference's rule: CONTAINER_REGISTRY_TOKEN wins over USER/PASSWORD. */
export function credentialFromVars(vars: Record<string, string | undefined>): Credential | undefined {
  const token = vars.CONTAINER_REGISTRY_TOKEN;
  const user = vars.CONTAINER_REGISTRY_USER;
  if (token) return { kind: 'token', token, ...(user ? { username: user } : {}) };
  const password = vars.CONTAINER_REGISTRY_PASSWORD;
  if (user && password !== undefined && password !== '') return { kind: 'basic', username: user, password };
  return undefined;
}

/** DockerConfig is the part of config.json (or podman's auth.json) the client reads. */
export interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** dockerConfigKeys are the spellings a host may have in `auths` (docker login writes several). */
export function dockerConfigKeys(host: string): string[] {
  const hosts =
    host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io'
      ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
      : [host];
  const keys: string[] = [];
  for (const h of hosts) keys.push(h, `https://${h}`, `http://${h}`, `https://${h}/v1/`, `https://${h}/v2/`);
  return keys;
}

/** credentialFromDockerConfig finds `host` in a config, running a credential helper when one is named. */
export async function credentialFromDockerConfig(config: DockerConfig, host: string, where: string): Promise<Credential | undefined> {
  const keys = dockerConfigKeys(host);
  const helper = keys.map((k) => config.credHelpers?.[k]).find((h) => h !== undefined);
  if (helper) return runCredentialHelper(helper, host);
  const auths = config.auths ?? {};
  const key = keys.find((k) => auths[k] !== undefined) ?? Object.keys(auths).find((k) => stripScheme(k) === host);
  const entry = key === undefined ? undefined : auths[key];
  if (entry) {
    if (entry.registrytoken) return { kind: 'token', token: entry.registrytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i <= 0) throw new HelperError('credentials', `${where}: the auth entry for ${host} is not base64 of USER:PASSWORD`);
      return { kind: 'basic', username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
    if (entry.username && entry.password !== undefined) return { kind: 'basic', username: entry.username, password: entry.password };
    if (entry.identitytoken) return { kind: 'token', token: entry.identitytoken };
  }
  if (config.credsStore) return runCredentialHelper(config.credsStore, host);
  return undefined;
}

function stripScheme(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/**
 * runCredentialHelper runs `docker-credential-<name> get`: the host goes on stdin and the secret
 * comes back on stdout, so neither is visible in the process list.
 * https://github.com/docker/docker-credential-helpers#development
 */
export async function runCredentialHelper(name: string, host: string): Promise<Credential | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new HelperError('credentials', `invalid credential helper name ${JSON.stringify(name)}`);
  const bin = `docker-credential-${name}`;
  let out;
  try {
    // Loaded here: most pushes never run a credential helper, and execa costs ~15 ms to load.
    const { execa } = await import('execa');
    out = await execa(bin, ['get'], { input: host, reject: false, timeout: 30_000, stripFinalNewline: true });
  } catch (err) {
    throw new HelperError('credentials', `cannot run ${bin}: ${(err as Error).message.split('\n')[0]}`);
  }
  if ((out as { failed?: boolean }).failed && (out as { code?: string }).code === 'ENOENT') {
    throw new HelperError('credentials', `credential helper ${bin} is not installed`);
  }
  if (out.exitCode !== 0) {
    // The helpers print "credentials not found in native keychain" for an unknown host.
    if (/not found/i.test(String(out.stdout)) || /not found/i.test(String(out.stderr))) return undefined;
    throw new HelperError('credentials', `${bin} get failed (exit ${out.exitCode})`);
  }
  let doc: { Username?: string; Secret?: string };
  try {
    doc = JSON.parse(String(out.stdout)) as typeof doc;
  } catch {
    throw new HelperError('credentials', `${bin} get printed something that is not JSON`);
  }
  if (!doc.Secret) return undefined;
  // "<token>" is how helpers mark an identity token rather than a password.
  if (doc.Username === '<token>' || !doc.Username) return { kind: 'token', token: doc.Secret };
  return { kind: 'basic', username: doc.Username, password: doc.Secret };
}

async function readJson(path: string, what: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new HelperError('credentials', `cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch {
    throw new HelperError('credentials', `${what} ${path} is not valid JSON`);
  }
}

/** homeDockerConfigPath is $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
export function homeDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, 'config.json');
  return join(env.HOME || homedir(), '.docker', 'config.json');
}

/** credentialSource builds the lookup for `settings`; --creds and --token win over the mode. */
export function credentialSource(settings: CredentialSettings): CredentialSource {
  const env = settings.env ?? process.env;
  if (settings.token) {
    const token = settings.token;
    return async () => ({ kind: 'token', token });
  }
  if (settings.creds) {
    const cred = parseCreds(settings.creds);
    return async () => cred;
  }
  switch (settings.mode) {
    case 'none':
      return async () => undefined;
    case 'env': {
      const cred = credentialFromVars(env);
      if (!cred)
        throw new HelperError('credentials', 'auth mode env: set CONTAINER_REGISTRY_TOKEN, or CONTAINER_REGISTRY_USER and CONTAINER_REGISTRY_PASSWORD');
      return async () => cred;
    }
    case 'credsfile': {
      const path = settings.credsfile;
      if (!path) throw new HelperError('usage', 'auth mode credsfile needs --credsfile or CONTAINER_REGISTRY_CREDSFILE');
      let cached: Promise<Credential> | undefined;
      return () =>
        (cached ??= readFile(path, 'utf8').then(
          (text) => parseCredsFile(text, path),
          (err: NodeJS.ErrnoException) => {
            throw new HelperError('credentials', `cannot read credentials file ${path} (${err.code ?? 'error'})`);
          },
        ));
    }
    case 'authfile':
    case 'home': {
      const path = settings.mode === 'home' ? homeDockerConfigPath(env) : settings.authfile;
      if (!path) throw new HelperError('usage', 'auth mode authfile needs --authfile or CONTAINER_REGISTRY_AUTHFILE');
      const what = settings.mode === 'home' ? 'Docker config' : 'auth file';
      let config: Promise<DockerConfig> | undefined;
      return async (host) => credentialFromDockerConfig(await (config ??= readJson(path, what)), host, path);
    }
  }
}
