// Flags every registry client command shares: the registry and namespace, TLS (--ca-cert,
// --cert-dir, --insecure) and credentials (--auth-mode and friends), each defaulting from the
// CONTAINER_REGISTRY_* variables the generated script exports. Secure mode against the local
// registry takes the CA from <storage>/certs/ca.crt and the password from <storage>/auth/password.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { HelperError } from '../errors/helper-error.js';
import { StateDir } from '../state/state-dir.js';
import { credentialSource, type AuthMode, type Credential, type CredentialSource } from '../client/credentials.js';
import { RegistrySession } from '../client/session.js';
import type { NetworkError } from '../client/errors.js';
import type { TlsSettings } from '../client/transport.js';
import {
  formatRegistry,
  isLoopbackHost,
  parseHostPort,
  parseImageReference,
  parseRegistryAddress,
  registryHost,
  type HostPort,
  type ImageReference,
  type RegistryAddress,
} from '../oci/reference.js';
import { readRegistryUrl } from '../settings/registry-url.js';
import { readBoolean, readEnum, readString } from '../settings/values.js';
import { numberOption, settingOption } from './setting-options.js';
import {
  clientStorage,
  commandName,
  registryDefault,
  runningAt,
  servesPlainHttp,
  stateDirFlag,
  storageFlag,
  useStateDirFlag,
  type LocalRegistry,
} from './options.js';

/** RegistryArgs are the parsed shared flags. */
export interface RegistryArgs {
  registry: string;
  namespace: string;
  insecure: boolean | undefined;
  'ca-cert': string | undefined;
  'cert-dir': string | undefined;
  /** as given: --storage, else undefined (clientStorage resolves it) */
  storage: string | undefined;
  'auth-mode': string | undefined;
  'use-home-auth': boolean;
  authfile: string | undefined;
  credsfile: string | undefined;
  creds: string | undefined;
  token: string | undefined;
  /** parallel blob uploads: push and import only (jobsOption) */
  jobs?: number;
}

/** registryOptions adds the shared flags. */
export function registryOptions<T>(y: Argv<T>) {
  return (
    y
      // Unset CONTAINER_REGISTRY_URL: the one registry of ours running, if there is one (cli/options.ts).
      .option('registry', settingOption('CONTAINER_REGISTRY_URL', registryDefault()))
      .option('namespace', settingOption('CONTAINER_REGISTRY_NAMESPACE'))
      // The variable applies to the local registry only (tlsFor), the flag to any.
      .option('insecure', settingOption('CONTAINER_REGISTRY_INSECURE', { fromEnv: false }))
      .option('ca-cert', { type: 'string', describe: 'CA certificate (PEM) that signed the registry certificate' })
      .option('cert-dir', { type: 'string', describe: 'Folder of CA certificates (*.crt); refused if it holds private keys' })
      .option('storage', storageFlag())
      .option('state-dir', stateDirFlag())
      .middleware(useStateDirFlag, true)
      // The variables below are read by authModeFor/credentialsFor, after every flag (an explicit flag wins).
      .option('auth-mode', settingOption('CONTAINER_REGISTRY_AUTH_MODE', { fromEnv: false }))
      .option('use-home-auth', { type: 'boolean', default: false, describe: 'Use ~/.docker/config.json (same as --auth-mode home)' })
      .option('authfile', settingOption('CONTAINER_REGISTRY_AUTHFILE', { fromEnv: false }))
      .option('credsfile', settingOption('CONTAINER_REGISTRY_CREDSFILE', { fromEnv: false }))
      .option('creds', { type: 'string', describe: 'USER:PASSWORD (visible in shell history and ps; prefer a file)' })
      .option('token', { type: 'string', describe: 'Registry token (visible in shell history and ps; prefer a file)' })
  );
}

/** jobsOption adds `--jobs`, for the commands that upload blobs (push, import). */
export function jobsOption<T>(y: Argv<T>) {
  return y.option('jobs', numberOption('jobs', { integer: true, min: 1, default: 4, describe: 'Parallel blob uploads' }));
}

/** loadCaDir reads the *.crt of a folder, refusing a folder that holds private keys. */
export async function loadCaDir(dir: string): Promise<Buffer[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new HelperError('tls', `cannot read --cert-dir ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const keys = names.filter((n) => /\.key$/i.test(n));
  if (keys.length) {
    throw new HelperError(
      'tls',
      `--cert-dir ${dir} holds private keys (${keys.join(', ')}); give a folder with the CA certificate only, e.g. <storage>/certs, or --ca-cert`,
    );
  }
  const certs = names.filter((n) => /\.(crt|pem)$/i.test(n));
  if (!certs.length) throw new HelperError('tls', `--cert-dir ${dir} has no *.crt file`);
  return Promise.all(certs.map((n) => readFile(join(dir, n))));
}

async function readCa(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new HelperError('tls', `cannot read CA certificate ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
}

/** ResolvedTarget is a session plus the namespace. */
export interface ResolvedTarget {
  session: RegistrySession;
  namespace: string;
  registry: string;
}

/** tlsFor works out TLS for a registry from the flags and secure mode. */
async function tlsFor(
  args: Pick<RegistryArgs, 'insecure' | 'ca-cert' | 'cert-dir'> & { storage: string },
  address: RegistryAddress,
  local: boolean,
  running: LocalRegistry | undefined,
): Promise<TlsSettings> {
  const insecureEnv = local && readBoolean(process.env, 'CONTAINER_REGISTRY_INSECURE');
  const insecure = args.insecure ?? insecureEnv;
  // Secure mode: asked for, or the running registry of ours serves HTTPS (unless --insecure skips checks).
  const secure = local && (readBoolean(process.env, 'CONTAINER_REGISTRY_SECURE') || (running?.tls === true && !insecure));
  if (secure && insecure) throw new HelperError('usage', 'CONTAINER_REGISTRY_SECURE and --insecure/CONTAINER_REGISTRY_INSECURE exclude each other');
  const ca: Buffer[] = [];
  if (args['ca-cert']) ca.push(await readCa(resolve(args['ca-cert'])));
  if (args['cert-dir']) ca.push(...(await loadCaDir(resolve(args['cert-dir']))));
  if (secure && !ca.length) {
    const path = new StateDir(resolve(args.storage)).certsCaCert();
    ca.push(
      await readCa(path).catch((err: HelperError) => {
        if ((err.cause as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw err;
        throw new HelperError('tls', `secure mode: the registry CA ${path} does not exist; has the registry been started? (${commandName()} start)`);
      }),
    );
  }
  // A registry on this machine may speak plain HTTP without --insecure (docker treats 127.0.0.0/8 so);
  // certificates are still verified when it speaks HTTPS, unless --insecure.
  const plainHttpOk = insecure || (!secure && isLoopbackHost(address.host));
  return { ca, insecure, allowHttp: plainHttpOk };
}

/**
 * authModeFor picks the auth mode, an explicit flag before any variable: --auth-mode, then
 * --use-home-auth, then the mode the command line's credential flags imply (--authfile,
 * --credsfile; --creds and --token win over any mode in credentialSource), then
 * CONTAINER_REGISTRY_AUTH_MODE, else none. The generated script always exports the variable
 * (`none` by default), so a variable before the flags would make `push --credsfile F` ignore F.
 */
function authModeFor(
  args: Pick<RegistryArgs, 'auth-mode' | 'use-home-auth' | 'authfile' | 'credsfile' | 'creds' | 'token'>,
  env: NodeJS.ProcessEnv = process.env,
): AuthMode {
  if (args['auth-mode'] !== undefined) return args['auth-mode'] as AuthMode;
  if (args['use-home-auth']) return 'home';
  if (args.authfile) return 'authfile';
  if (args.credsfile) return 'credsfile';
  // --creds/--token: the variable's mode is not used (its files are not even read).
  if (args.creds || args.token) return 'none';
  return readEnum(env, 'CONTAINER_REGISTRY_AUTH_MODE');
}

/** credentialsFor works out where credentials come from. */
async function credentialsFor(args: RegistryArgs & { storage: string }, local: boolean, running: LocalRegistry | undefined): Promise<CredentialSource> {
  const env = process.env;
  const mode = authModeFor(args, env);
  // A file flag names the file; the variables only fill in the file of a mode that needs one.
  const authfile = args.authfile ?? readString(env, 'CONTAINER_REGISTRY_AUTHFILE');
  const credsfile = args.credsfile ?? readString(env, 'CONTAINER_REGISTRY_CREDSFILE');
  const source = credentialSource({ mode, authfile, credsfile, creds: args.creds, token: args.token });
  if (mode === 'none' && !args.creds && !args.token && local && (readBoolean(env, 'CONTAINER_REGISTRY_SECURE') || running?.tls === true)) {
    const passwordFile = new StateDir(resolve(args.storage)).passwordFile();
    const username = readString(env, 'CONTAINER_REGISTRY_USERNAME');
    let cred: Promise<Credential> | undefined;
    return () =>
      (cred ??= readFile(passwordFile, 'utf8').then(
        (p) => ({ kind: 'basic', username, password: p.replace(/\r?\n$/, '') }) as Credential,
        (err: NodeJS.ErrnoException) => {
          throw new HelperError(
            'credentials',
            `secure mode: cannot read the registry password ${passwordFile} (${err.code ?? 'error'}); has the registry been started?`,
          );
        },
      ));
  }
  return source;
}

/** isLocalRegistry tells whether `address` is the registry CONTAINER_REGISTRY_URL names (secure mode's files apply). */
export function isLocalRegistry(address: RegistryAddress): boolean {
  return registryHost(address) === registryHost(readRegistryUrl(process.env));
}

/**
 * resolveRegistry reads --registry: a path after the host (`host:5000/team`) is a namespace prefix,
 * put before --namespace; `registry` is what is left, `[scheme://]host[:port]`.
 */
export function resolveRegistry(registry: string, namespace: string): { address: RegistryAddress; registry: string; namespace: string } {
  let address: RegistryAddress;
  try {
    address = parseRegistryAddress(registry);
  } catch (err) {
    throw new HelperError('usage', `invalid registry ${JSON.stringify(registry)} (--registry, or CONTAINER_REGISTRY_URL): ${(err as Error).message}`);
  }
  return { address, registry: formatRegistry(address), namespace: [address.path, namespace].filter(Boolean).join('/') };
}

/** notRunning is the error for the local registry refusing the connection: where it was looked for, and the command that starts it. */
function notRunning(url: URL, cause: NetworkError): HelperError {
  return new HelperError('not-running', `registry not running at ${url.origin}: start it with ${commandName()} start`, { cause });
}

/** openTarget builds the session for the command's registry. */
export async function openTarget(args: RegistryArgs): Promise<ResolvedTarget> {
  const { address, registry, namespace } = resolveRegistry(args.registry, args.namespace);
  // The running registry of ours the command talks to, if any: its storage and secure mode apply.
  const running = runningAt(address);
  const local = running !== undefined || isLocalRegistry(address);
  const own = { ...args, storage: await clientStorage(args.storage, running) };
  const tls = await tlsFor(own, address, local, running);
  const credentials = await credentialsFor(own, local, running);
  // Our own registry refusing the connection is one that does not run: say how to start it.
  const refused = local ? notRunning : undefined;
  const servesHttp = running ? !running.tls : servesPlainHttp(address);
  return {
    session: new RegistrySession({ registry, tls, credentials, refused, servesHttp, maxSockets: Math.max(4, (args.jobs ?? 4) + 2) }),
    namespace,
    registry,
  };
}

/** withTarget runs `work` with the command's registry session and closes the session after. */
export async function withTarget<T>(args: RegistryArgs, work: (target: ResolvedTarget) => Promise<T>): Promise<T> {
  const target = await openTarget(args);
  try {
    return await work(target);
  } finally {
    target.session.close();
  }
}

/** repositoryOf puts a name in the namespace unless it already starts with it. */
export function repositoryOf(name: string, namespace: string): string {
  if (!namespace || name === namespace || name.startsWith(`${namespace}/`)) return name;
  return `${namespace}/${name}`;
}

/** ImageName is an image named on the command line, as a repository of the command's registry. */
export interface ImageName {
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

/** sameRegistry tells whether two `host[:port]` name one registry: equal (host case aside), or both this machine's loopback on one port. */
function sameRegistry(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port) return false;
  return a.host.toLowerCase() === b.host.toLowerCase() || (isLoopbackHost(a.host) && isLoopbackHost(b.host));
}

/**
 * imageName reads an image named on the command line (inspect, tags, delete, push IMAGE, import's
 * NAME) with the one reference parser (oci/reference.ts, docker's rule):
 *
 * - a full reference, `host[:port]/repository[:tag][@digest]` (a first component holding '.' or ':'
 *   or being `localhost`), as the helper prints it, names the registry, which must be the one the
 *   command talks to (`localhost`, 127.0.0.0/8 and ::1 on one port count as one); its repository
 *   is taken as written;
 * - a one-part name (`app`) is in the namespace (`yocto/app`), as docker puts `alpine` in `library/`;
 * - a name with a '/' (`yocto/app`, `other/app`) is the repository as written.
 */
export function imageName(text: string, target: { registry: string; namespace: string }): ImageName {
  let ref: ImageReference;
  try {
    ref = parseImageReference(text.trim());
  } catch (err) {
    throw new HelperError('usage', (err as Error).message);
  }
  if (ref.registry !== undefined) {
    const named = parseHostPort(ref.registry);
    const used = parseRegistryAddress(target.registry);
    if (!sameRegistry(named, used)) {
      throw new HelperError(
        'usage',
        `${text} names the registry ${ref.registry}, but this command talks to ${registryHost(used)} (--registry, CONTAINER_REGISTRY_URL); give --registry ${ref.registry} to use that one`,
      );
    }
  }
  const repository = ref.registry !== undefined || ref.repository.includes('/') ? ref.repository : repositoryOf(ref.repository, target.namespace);
  return { repository, tag: ref.tag, digest: ref.digest };
}
