// Flags every registry client command shares: the registry and namespace, TLS (--ca-cert,
// --cert-dir, --insecure) and credentials (--auth-mode and friends), each defaulting from the
// CONTAINER_REGISTRY_* variables the generated script exports. Secure mode against the local
// registry takes the CA from <storage>/certs/ca.crt and the password from <storage>/auth/password.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { CliError } from './errors.js';
import { AUTH_MODES, credentialSource, isAuthMode, type AuthMode, type Credential, type CredentialSource } from '../client/credentials.js';
import { RegistrySession, splitRegistry } from '../client/session.js';
import type { TlsSettings } from '../client/transport.js';

/** DEFAULT_REGISTRY is the reference's CONTAINER_REGISTRY_URL. */
export const DEFAULT_REGISTRY = 'localhost:5000';
/** DEFAULT_NAMESPACE is the reference's CONTAINER_REGISTRY_NAMESPACE. */
export const DEFAULT_NAMESPACE = 'yocto';

/** RegistryArgs are the parsed shared flags. */
export interface RegistryArgs {
  registry: string;
  namespace: string;
  insecure: boolean | undefined;
  'ca-cert': string | undefined;
  'cert-dir': string | undefined;
  storage: string;
  'auth-mode': string | undefined;
  'use-home-auth': boolean;
  authfile: string | undefined;
  credsfile: string | undefined;
  creds: string | undefined;
  token: string | undefined;
  jobs: number;
}

const env = (name: string): string | undefined => process.env[name] || undefined;
const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

/** registryOptions adds the shared flags. */
export function registryOptions<T>(y: Argv<T>) {
  return y
    .option('registry', { type: 'string', default: env('CONTAINER_REGISTRY_URL') ?? DEFAULT_REGISTRY, describe: 'Registry host[:port] (or http(s)://host:port) [env CONTAINER_REGISTRY_URL]' })
    .option('namespace', { type: 'string', default: env('CONTAINER_REGISTRY_NAMESPACE') ?? DEFAULT_NAMESPACE, describe: 'Repository namespace [env CONTAINER_REGISTRY_NAMESPACE]' })
    .option('insecure', { type: 'boolean', describe: 'Allow plain HTTP and skip certificate verification [env CONTAINER_REGISTRY_INSECURE=1]' })
    .option('ca-cert', { type: 'string', describe: 'CA certificate (PEM) that signed the registry certificate' })
    .option('cert-dir', { type: 'string', describe: 'Folder of CA certificates (*.crt); refused if it holds private keys' })
    .option('storage', { type: 'string', default: env('CONTAINER_REGISTRY_STORAGE') ?? './container-registry', describe: 'Local registry storage (secure mode: certs/ca.crt, auth/password) [env CONTAINER_REGISTRY_STORAGE]' })
    .option('auth-mode', { type: 'string', choices: [...AUTH_MODES], describe: 'Where credentials come from [env CONTAINER_REGISTRY_AUTH_MODE, default none]' })
    .option('use-home-auth', { type: 'boolean', default: false, describe: 'Use ~/.docker/config.json (same as --auth-mode home)' })
    .option('authfile', { type: 'string', describe: 'Docker-style config.json with credentials [env CONTAINER_REGISTRY_AUTHFILE]' })
    .option('credsfile', { type: 'string', describe: 'KEY=VALUE credentials file [env CONTAINER_REGISTRY_CREDSFILE]' })
    .option('creds', { type: 'string', describe: 'USER:PASSWORD (visible in shell history and ps; prefer a file)' })
    .option('token', { type: 'string', describe: 'Registry token (visible in shell history and ps; prefer a file)' })
    .option('jobs', { type: 'number', default: 4, describe: 'Parallel blob uploads' });
}

/** isLoopbackHost tells whether a registry is on this machine (plain HTTP is then allowed, as docker does). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** loadCaDir reads the *.crt of a folder, refusing a folder that holds private keys. */
export async function loadCaDir(dir: string): Promise<Buffer[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new CliError('tls', `cannot read --cert-dir ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const keys = names.filter((n) => /\.key$/i.test(n));
  if (keys.length) {
    throw new CliError('tls', `--cert-dir ${dir} holds private keys (${keys.join(', ')}); give a folder with the CA certificate only, e.g. <storage>/certs, or --ca-cert`);
  }
  const certs = names.filter((n) => /\.(crt|pem)$/i.test(n));
  if (!certs.length) throw new CliError('tls', `--cert-dir ${dir} has no *.crt file`);
  return Promise.all(certs.map((n) => readFile(join(dir, n))));
}

async function readCa(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new CliError('tls', `cannot read CA certificate ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** ResolvedTarget is a session plus the namespace. */
export interface ResolvedTarget {
  session: RegistrySession;
  namespace: string;
  registry: string;
}

/** tlsFor works out TLS for a registry from the flags and secure mode. */
async function tlsFor(args: Pick<RegistryArgs, 'insecure' | 'ca-cert' | 'cert-dir' | 'storage'>, registry: string, local: boolean): Promise<TlsSettings> {
  const secure = local && truthy(env('CONTAINER_REGISTRY_SECURE'));
  const insecureEnv = local && truthy(env('CONTAINER_REGISTRY_INSECURE'));
  const insecure = args.insecure ?? insecureEnv;
  if (secure && insecure) throw new CliError('usage', 'CONTAINER_REGISTRY_SECURE and --insecure/CONTAINER_REGISTRY_INSECURE exclude each other', { exitCode: 2 });
  const ca: Buffer[] = [];
  if (args['ca-cert']) ca.push(await readCa(resolve(args['ca-cert'])));
  if (args['cert-dir']) ca.push(...(await loadCaDir(resolve(args['cert-dir']))));
  if (secure && !ca.length) ca.push(await readCa(join(resolve(args.storage), 'certs', 'ca.crt')));
  // A registry on this machine may speak plain HTTP without --insecure (docker treats 127.0.0.0/8 so);
  // certificates are still verified when it speaks HTTPS, unless --insecure.
  const plainHttpOk = insecure || (!secure && isLoopbackHost(splitRegistry(registry).host));
  return { ca, insecure, allowHttp: plainHttpOk };
}

/** credentialsFor works out where credentials come from. */
async function credentialsFor(args: RegistryArgs, local: boolean): Promise<CredentialSource> {
  let mode: string = args['auth-mode'] ?? (args['use-home-auth'] ? 'home' : undefined) ?? env('CONTAINER_REGISTRY_AUTH_MODE') ?? '';
  const authfile = args.authfile ?? env('CONTAINER_REGISTRY_AUTHFILE');
  const credsfile = args.credsfile ?? env('CONTAINER_REGISTRY_CREDSFILE');
  if (!mode) mode = args.authfile ? 'authfile' : args.credsfile ? 'credsfile' : 'none';
  if (!isAuthMode(mode)) throw new CliError('usage', `unknown auth mode ${JSON.stringify(mode)} (known: ${AUTH_MODES.join(', ')})`, { exitCode: 2 });
  const source = credentialSource({ mode: mode as AuthMode, authfile, credsfile, creds: args.creds, token: args.token });
  if (mode === 'none' && !args.creds && !args.token && local && truthy(env('CONTAINER_REGISTRY_SECURE'))) {
    const passwordFile = join(resolve(args.storage), 'auth', 'password');
    const username = env('CONTAINER_REGISTRY_USERNAME') ?? 'yocto';
    let cred: Promise<Credential> | undefined;
    return () =>
      (cred ??= readFile(passwordFile, 'utf8').then(
        (p) => ({ kind: 'basic', username, password: p.replace(/\r?\n$/, '') }) as Credential,
        (err: NodeJS.ErrnoException) => {
          throw new CliError('credentials', `secure mode: cannot read the registry password ${passwordFile} (${err.code ?? 'error'}); has the registry been started?`);
        },
      ));
  }
  return source;
}

/** isLocalRegistry tells whether `registry` is the one CONTAINER_REGISTRY_URL names (secure mode's files apply). */
export function isLocalRegistry(registry: string): boolean {
  const configured = splitRegistry(env('CONTAINER_REGISTRY_URL') ?? DEFAULT_REGISTRY).host.replace(/\/.*$/, '');
  return splitRegistry(registry).host.replace(/\/.*$/, '') === configured;
}

/** normalizeRegistry splits CONTAINER_REGISTRY_URL's optional path (`host:5000/ns`) into a namespace prefix. */
export function normalizeRegistry(registry: string, namespace: string): { registry: string; namespace: string } {
  const m = /^((?:https?:\/\/)?[^/]+)(?:\/(.*))?$/i.exec(registry.trim());
  if (!m) throw new CliError('usage', `invalid registry ${JSON.stringify(registry)}`, { exitCode: 2 });
  const path = (m[2] ?? '').replace(/\/+$/, '');
  return { registry: m[1]!, namespace: [path, namespace].filter(Boolean).join('/') };
}

/** openTarget builds the session for the command's registry. */
export async function openTarget(args: RegistryArgs): Promise<ResolvedTarget> {
  const { registry, namespace } = normalizeRegistry(args.registry, args.namespace);
  const local = isLocalRegistry(registry);
  const tls = await tlsFor(args, registry, local);
  const credentials = await credentialsFor(args, local);
  return { session: new RegistrySession({ registry, tls, credentials, maxSockets: Math.max(4, args.jobs + 2) }), namespace, registry };
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
