// What target files need to know, resolved once from the build's settings (the CONTAINER_REGISTRY_*
// variables a recipe exports) into the registry as the target sees it.
import { isValidRepositoryName } from '../oci/names.js';
import { AddressError, formatHostPort, parseHostPort, parseRegistryAddress } from '../oci/reference.js';
import { SETTINGS } from '../settings/table.js';
import { parseBoolean, parseList, rawSetting, readString, type Env } from '../settings/values.js';
import { isTargetRewrittenHost, parseTargetNetwork, targetRegistry, type TargetNetwork } from './address.js';
import { parseMirrors } from '../cache/mirrors.js';

/** DEFAULT_SEARCH_REGISTRIES are kept after ours in unqualified-search-registries (CONTAINER_REGISTRY_SEARCH_REGISTRIES's default). */
export const DEFAULT_SEARCH_REGISTRIES: readonly string[] = parseList(SETTINGS.CONTAINER_REGISTRY_SEARCH_REGISTRIES.default);

/** TargetInput is the raw settings, as strings, the way BitBake and the environment give them. */
export interface TargetInput {
  /** CONTAINER_REGISTRY_URL, e.g. `localhost:5000` */
  url: string;
  /** CONTAINER_REGISTRY_NAMESPACE */
  namespace?: string | undefined;
  /** CONTAINER_REGISTRY_SECURE (`1`/`0`) */
  secure?: string | undefined;
  /** CONTAINER_REGISTRY_AUTH (`1` implies secure) */
  auth?: string | undefined;
  /** CONTAINER_REGISTRY_INSECURE */
  insecure?: string | undefined;
  /** DOCKER_REGISTRY_INSECURE: more registries, space-separated, for insecure-registries */
  dockerInsecure?: string | undefined;
  /** CONTAINER_REGISTRY_TARGET_HOST */
  targetHost?: string | undefined;
  /** CONTAINER_REGISTRY_TARGET_NETWORK (`slirp` or `tap`) */
  targetNetwork?: string | undefined;
  /** CONTAINER_REGISTRY_SEARCH_REGISTRIES, space-separated; undefined means docker.io quay.io */
  searchRegistries?: string | undefined;
  /** CONTAINER_REGISTRY_MIRRORS: upstream hosts pulled through our registry, comma or space separated */
  mirrors?: string | undefined;
}

/** TargetMirror is one upstream host whose pulls a target sends through our registry. */
export interface TargetMirror {
  /** the host as image references name it (`docker.io`, `localhost:5001`): what the engines match */
  host: string;
  /** the namespace its images have in our registry (`docker.io`, `localhost-5001`) */
  prefix: string;
  /** the upstream's API as the target reaches it (`https://registry-1.docker.io`): containerd's fallback */
  upstream: string;
}

/** TargetSettings is what the emitters read. */
export interface TargetSettings {
  /** `host[:port]` of our registry as the target reaches it */
  registry: string;
  /** the namespace images are pushed under ('' for none) */
  namespace: string;
  /** TLS with our CA: targets get the CA, never an insecure entry */
  secure: boolean;
  /** plain HTTP or unverified TLS: targets list the registry as insecure */
  insecure: boolean;
  /** more insecure registries for docker (DOCKER_REGISTRY_INSECURE), rewritten for the target */
  extraInsecure: string[];
  /** registries searched after ours for unqualified names */
  searchRegistries: string[];
  /** upstreams mirrored by our registry (CONTAINER_REGISTRY_MIRRORS), in the setting's order */
  mirrors: TargetMirror[];
  network: TargetNetwork;
}

/** parseFlag reads a boolean setting the table's way (1/0, true/false, yes/no, on/off); empty is `fallback`. */
export function parseFlag(name: string, value: string | undefined, fallback = false): boolean {
  return value === undefined || value.trim() === '' ? fallback : parseBoolean(name, value);
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/**
 * resolveTargetSettings validates the raw settings and applies the rules once: AUTH implies SECURE,
 * SECURE with INSECURE is an error, every registry address goes through the QEMU rewrite.
 */
export function resolveTargetSettings(input: TargetInput): TargetSettings {
  const address = parseRegistryAddress(input.url);
  const auth = parseFlag('CONTAINER_REGISTRY_AUTH', input.auth);
  const secure = parseFlag('CONTAINER_REGISTRY_SECURE', input.secure) || auth;
  const insecure = parseFlag('CONTAINER_REGISTRY_INSECURE', input.insecure);
  if (secure && insecure) {
    throw new AddressError(
      'CONTAINER_REGISTRY_SECURE (or AUTH) and CONTAINER_REGISTRY_INSECURE are both 1: a TLS registry with our CA is not insecure; set one',
    );
  }
  const namespace = (input.namespace ?? '').trim().replace(/^\/+|\/+$/g, '') || address.path;
  if (namespace && !isValidRepositoryName(namespace)) {
    throw new AddressError(`invalid namespace ${JSON.stringify(namespace)}: lowercase [a-z0-9] components joined by "/"`);
  }
  const network = parseTargetNetwork(input.targetNetwork);
  const view = { network, ...(input.targetHost?.trim() ? { targetHost: input.targetHost.trim() } : {}) };
  const registry = targetRegistry(formatHostPort(address.host, address.port), view);
  // Extra entries name other registries: a loopback one is the build host, seen by the target as
  // TARGET_HOST's host (its own port kept) or the QEMU address; any other host is kept.
  const hostView = { network, ...(view.targetHost ? { targetHost: parseHostPort(view.targetHost).host.replace(/^(.*:.*)$/, '[$1]') } : {}) };
  // Secure mode: this registry is verified with its CA; an entry naming it (the reference's examples
  // put localhost:5000 there) would switch verification off on docker targets, so it is dropped (the
  // layer warns at parse time).
  const otherRegistry = (r: string) => (isTargetRewrittenHost(parseHostPort(r).host) ? targetRegistry(r, hostView) : targetRegistry(r, { network }));
  const extraInsecure = unique(parseList(input.dockerInsecure ?? '').map(otherRegistry)).filter((r) => !(secure && r === registry));
  // An upstream on the build host's loopback (a test registry) is the build host for the target too.
  const mirrors = parseMirrors(parseList(input.mirrors ?? '', 'comma-or-space')).map((m) => ({
    host: m.host,
    prefix: m.prefix,
    upstream: `${m.url.protocol}//${otherRegistry(m.url.host)}`,
  }));
  const ours = formatHostPort(address.host, address.port);
  const self = mirrors.find((m) => m.host === ours || m.host === registry);
  if (self) throw new AddressError(`CONTAINER_REGISTRY_MIRRORS names ${self.host}, this registry itself: a registry cannot mirror itself`);
  const search = input.searchRegistries === undefined ? [...DEFAULT_SEARCH_REGISTRIES] : parseList(input.searchRegistries);
  return {
    registry,
    namespace,
    secure,
    insecure,
    extraInsecure,
    searchRegistries: unique(search.filter((r) => r !== registry)),
    mirrors,
    network,
  };
}

/** targetInputFromEnv reads TargetInput from the table's target settings (URL and namespace with their defaults). */
export function targetInputFromEnv(env: Env): TargetInput {
  return {
    url: readString(env, 'CONTAINER_REGISTRY_URL'),
    namespace: readString(env, 'CONTAINER_REGISTRY_NAMESPACE'),
    secure: rawSetting(env, 'CONTAINER_REGISTRY_SECURE'),
    auth: rawSetting(env, 'CONTAINER_REGISTRY_AUTH'),
    insecure: rawSetting(env, 'CONTAINER_REGISTRY_INSECURE'),
    dockerInsecure: rawSetting(env, 'DOCKER_REGISTRY_INSECURE'),
    targetHost: rawSetting(env, 'CONTAINER_REGISTRY_TARGET_HOST'),
    targetNetwork: rawSetting(env, 'CONTAINER_REGISTRY_TARGET_NETWORK'),
    searchRegistries: rawSetting(env, 'CONTAINER_REGISTRY_SEARCH_REGISTRIES'),
    mirrors: rawSetting(env, 'CONTAINER_REGISTRY_MIRRORS'),
  };
}
