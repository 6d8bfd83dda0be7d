// Deciding the server's security from flags and the environment the generated script exports:
// HTTPS or not, who may pull and push, and (on first secure start) the PKI and the default user.
import { HelperError } from '../errors/helper-error.js';
import { ALLOW_ALL, type AccessController } from '../registry/access.js';
import type { TlsFiles } from '../registry/server.js';
import { StateDir } from '../state/state-dir.js';
import { pkiSettingsFromEnv } from '../pki/settings.js';
import { ensureDefaultUser } from '../auth/users.js';
import { HtpasswdAccessController } from '../auth/controller.js';
import { needsLogin, type AccessMode } from '../auth/policy.js';
import { readBoolean } from '../settings/values.js';
import type { SharedLogins } from '../auth/limiter.js';

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

/**
 * resolveSecureMode decides the server's security. Secure mode (`--tls` or
 * CONTAINER_REGISTRY_SECURE=1) serves HTTPS only, creates the PKI and the default user when missing,
 * checks credentials, and makes pull and push `authenticated` by default: as in the reference tool,
 * secure means TLS and a login. auth/access.toml and then `--pull`/`--push` (the explicit way)
 * open or close that, e.g. `--pull anonymous`. CONTAINER_REGISTRY_AUTH=1 (`--auth`) is still accepted;
 * it needs secure mode (the script and the layer make it imply SECURE) and adds nothing to it now.
 */
export async function resolveSecureMode(
  env: NodeJS.ProcessEnv,
  flags: SecureFlags,
  storageDir: StateDir | string,
  o: { hostname?: string; warn?: (line: string) => void; logins?: SharedLogins } = {},
): Promise<SecureMode> {
  const secure = flags.tls === true || readBoolean(env, 'CONTAINER_REGISTRY_SECURE');
  if (secure && readBoolean(env, 'CONTAINER_REGISTRY_INSECURE')) {
    throw new HelperError(
      'config-conflict',
      `${flags.tls ? '--tls' : 'CONTAINER_REGISTRY_SECURE=1'} and CONTAINER_REGISTRY_INSECURE=1 exclude each other; unset one of them`,
    );
  }
  const auth = flags.auth === true || readBoolean(env, 'CONTAINER_REGISTRY_AUTH');
  if (auth && !secure) {
    throw new HelperError(
      'auth-needs-tls',
      'authentication needs HTTPS (Basic credentials over plain HTTP can be read on the way): add --tls or CONTAINER_REGISTRY_SECURE=1',
    );
  }
  const state = StateDir.of(storageDir);
  const mode: AccessMode = secure ? 'authenticated' : 'anonymous';
  const controller = new HtpasswdAccessController({
    storageDir: state,
    defaults: { pull: mode, push: mode },
    overrides: { pull: flags.pull, push: flags.push },
    verifyCredentials: secure,
    warn: o.warn,
    ...(o.logins ? { shared: o.logins } : {}),
  });
  const policy = await controller.load();
  const notes: string[] = [];
  if (!secure) {
    if (needsLogin(policy)) {
      throw new HelperError(
        'auth-needs-tls',
        `the access policy asks for logins (${state.accessConfig()} or --pull/--push), which needs HTTPS: add --tls or CONTAINER_REGISTRY_SECURE=1`,
      );
    }
    const open = policy.pull === 'anonymous' && policy.push === 'anonymous';
    return { secure: false, tls: undefined, access: open ? ALLOW_ALL : controller, notes: open ? [] : [`access: pull ${policy.pull}, push ${policy.push}`] };
  }
  // Loaded only here: @peculiar/x509 keeps ~3 MB of schemas alive, which pushed a plain `serve` over
  // V8's first old-space limit and made it run a full GC every ~15 MiB streamed (server CPU per GiB
  // pulled 0.5 s -> 1.2 s; see bench/). Plain HTTP never needs it.
  const { ensurePki } = await import('../pki/pki.js');
  const pki = await ensurePki({ storageDir: state, ...pkiSettingsFromEnv(env, o.hostname) });
  if (pki.caCreated) notes.push(`created a CA: clients trust ${pki.files.clientCaCert}`);
  if (pki.serverIssued && !pki.caCreated) notes.push(`issued a new server certificate (${pki.serverIssued})`);
  notes.push(...pki.warnings);
  const user = await ensureDefaultUser(state, env);
  if (user.action !== 'kept') notes.push(`${user.action} user ${user.user}; its password is in ${user.passwordFile}`);
  notes.push(`access: pull ${policy.pull}, push ${policy.push}${policy.rules.length ? `, ${policy.rules.length} repository rule(s)` : ''}`);
  return { secure: true, tls: { certFile: state.serverCert(), keyFile: state.serverKey() }, access: controller, notes };
}
