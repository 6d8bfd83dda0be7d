// Deciding the server's security from flags and the environment the generated script exports:
// HTTPS or not, who may pull and push, and (on first secure start) the PKI and the default user.
import { CliError } from './errors.js';
import { ALLOW_ALL, type AccessController } from '../registry/access.js';
import type { TlsFiles } from '../registry/server.js';
import { StoragePaths } from '../storage/paths.js';
import { ensurePki } from '../pki/pki.js';
import { pkiSettingsFromEnv } from '../pki/settings.js';
import { ensureDefaultUser } from '../auth/users.js';
import { HtpasswdAccessController } from '../auth/controller.js';
import { needsLogin, type AccessMode } from '../auth/policy.js';

/** SecureFlags are the command-line side (`--tls`, `--auth`, `--pull`, `--push`). */
export interface SecureFlags {
  tls?: boolean;
  auth?: boolean;
  pull?: AccessMode;
  push?: AccessMode;
}

/** SecureMode is what the server is started with, plus lines for its log (never a secret). */
export interface SecureMode {
  secure: boolean;
  tls: TlsFiles | undefined;
  access: AccessController;
  notes: string[];
}

/** isTrue reads a boolean variable the way the reference's shell script did: `1` (or true/yes/on). */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/**
 * resolveSecureMode decides the server's security. Secure mode (`--tls` or
 * CONTAINER_REGISTRY_SECURE=1) serves HTTPS only, creates or refreshes the PKI and the default user,
 * and checks credentials; CONTAINER_REGISTRY_AUTH=1 (or `--auth`) makes pull and push
 * `authenticated` by default. auth/access.toml and then `--pull`/`--push` adjust the modes.
 */
export async function resolveSecureMode(env: NodeJS.ProcessEnv, flags: SecureFlags, storageDir: string, o: { hostname?: string; warn?: (line: string) => void } = {}): Promise<SecureMode> {
  const secure = flags.tls === true || isTrue(env.CONTAINER_REGISTRY_SECURE);
  if (secure && isTrue(env.CONTAINER_REGISTRY_INSECURE)) {
    throw new CliError('config-conflict', `${flags.tls ? '--tls' : 'CONTAINER_REGISTRY_SECURE=1'} and CONTAINER_REGISTRY_INSECURE=1 exclude each other; unset one of them`, { exitCode: 2 });
  }
  const auth = flags.auth === true || isTrue(env.CONTAINER_REGISTRY_AUTH);
  if (auth && !secure) {
    throw new CliError('auth-needs-tls', 'authentication needs HTTPS (Basic credentials over plain HTTP can be read on the way): add --tls or CONTAINER_REGISTRY_SECURE=1', { exitCode: 2 });
  }
  const paths = new StoragePaths(storageDir);
  const mode: AccessMode = auth ? 'authenticated' : 'anonymous';
  const controller = new HtpasswdAccessController({
    storageDir,
    defaults: { pull: mode, push: mode },
    overrides: { pull: flags.pull, push: flags.push },
    verifyCredentials: secure,
    warn: o.warn,
  });
  const policy = await controller.load();
  const notes: string[] = [];
  if (!secure) {
    if (needsLogin(policy)) {
      throw new CliError('auth-needs-tls', `the access policy asks for logins (${paths.accessConfig()} or --pull/--push), which needs HTTPS: add --tls or CONTAINER_REGISTRY_SECURE=1`, { exitCode: 2 });
    }
    const open = policy.pull === 'anonymous' && policy.push === 'anonymous';
    return { secure: false, tls: undefined, access: open ? ALLOW_ALL : controller, notes: open ? [] : [`access: pull ${policy.pull}, push ${policy.push}`] };
  }
  const pki = await ensurePki({ storageDir, ...pkiSettingsFromEnv(env, o.hostname) });
  if (pki.caCreated) notes.push(`created a CA: clients trust ${pki.files.clientCaCert}`);
  if (pki.serverIssued && !pki.caCreated) notes.push(`issued a new server certificate (${pki.serverIssued})`);
  notes.push(...pki.warnings);
  const user = await ensureDefaultUser(storageDir, env);
  if (user.action !== 'kept') notes.push(`${user.action} user ${user.user}; its password is in ${user.passwordFile}`);
  notes.push(`access: pull ${policy.pull}, push ${policy.push}${policy.rules.length ? `, ${policy.rules.length} repository rule(s)` : ''}`);
  return { secure: true, tls: { certFile: paths.serverCert(), keyFile: paths.serverKey() }, access: controller, notes };
}
