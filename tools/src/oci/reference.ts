// Registry addresses and image references, parsed one way for the whole helper.
//
//   registry address  [http:// | https://] host [:port] [/path-prefix]     (CONTAINER_REGISTRY_URL, --registry)
//   image reference   [host[:port]/] repository [:tag] [@digest]           (import's source, docker's rules)
//
// A host is a DNS name, an IPv4 address, or an IPv6 address in brackets (bare when nothing follows
// it). In an image reference the first component is the host when it holds a '.' or a ':' or is
// `localhost` (docker's rule, distribution/reference `splitDockerDomain`); otherwise the reference
// has no host, and only then do defaults (Docker Hub and its `library/` namespace) apply.
// https://github.com/distribution/reference/blob/v0.6.0/normalize.go
import { tryParseDigest } from './digest.js';
import { isValidTag, nameProblem } from './names.js';

/** AddressError is a registry address, host or image reference that cannot be used. */
export class AddressError extends Error {
  readonly code = 'bad-address';
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

/** HostPort is a host (IPv6 without brackets) and an optional port. */
export interface HostPort {
  host: string;
  port: number | undefined;
}

/** RegistryAddress is `[scheme://]host[:port][/path]` taken apart. */
export interface RegistryAddress extends HostPort {
  /** `http` or `https` when the text named one */
  scheme: 'http' | 'https' | undefined;
  /** a namespace path after the host, without leading or trailing slashes ('' when none) */
  path: string;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))(?::(\d{1,5}))?$/;

/** parseHostPort reads `host`, `host:port`, `[v6]:port`, `[v6]` or a bare IPv6 address (which has no port). */
export function parseHostPort(text: string): HostPort {
  // A bare IPv6 address has more than one colon and no brackets: it has no port.
  if (!text.startsWith('[') && (text.match(/:/g) ?? []).length > 1) {
    if (!/^[0-9A-Fa-f:.]+$/.test(text)) throw new AddressError(`invalid host ${JSON.stringify(text)}`);
    return { host: text.toLowerCase(), port: undefined };
  }
  const m = HOST_PORT.exec(text);
  if (!m) throw new AddressError(`invalid host ${JSON.stringify(text)}: expected host, host:port or [ipv6]:port`);
  let port: number | undefined;
  if (m[3] !== undefined) {
    port = Number(m[3]);
    if (port < 1 || port > 65535) throw new AddressError(`invalid port in ${JSON.stringify(text)}: must be 1-65535`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

/** formatHostPort writes a host and optional port, bracketing IPv6 addresses. */
export function formatHostPort(host: string, port: number | undefined): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/** parseRegistryAddress reads `[http(s)://]host[:port][/path-prefix]` (CONTAINER_REGISTRY_URL, --registry). */
export function parseRegistryAddress(text: string): RegistryAddress {
  const trimmed = text.trim();
  if (!trimmed) throw new AddressError('the registry address is empty');
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(trimmed);
  let scheme: RegistryAddress['scheme'];
  let rest = trimmed;
  if (schemeMatch) {
    const name = schemeMatch[1]!.toLowerCase();
    if (name !== 'http' && name !== 'https') throw new AddressError(`unsupported scheme ${JSON.stringify(name)} in ${JSON.stringify(text)}: use http or https`);
    scheme = name;
    rest = trimmed.slice(schemeMatch[0].length);
  }
  const slash = rest.indexOf('/');
  const hostPart = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1).replace(/^\/+|\/+$/g, '') : '';
  return { scheme, ...parseHostPort(hostPart), path };
}

/** registryHost is an address's `host[:port]` (what requests, credentials and comparisons use). */
export function registryHost(address: HostPort): string {
  return formatHostPort(address.host, address.port);
}

/** formatRegistry writes an address back without its path: `[scheme://]host[:port]`. */
export function formatRegistry(address: RegistryAddress): string {
  return `${address.scheme ? `${address.scheme}://` : ''}${registryHost(address)}`;
}

/**
 * isLoopbackHost tells whether a host (a port may follow) names this machine's loopback interface:
 * `localhost`, 127.0.0.0/8 or ::1. Docker lets such registries speak plain HTTP without being
 * listed as insecure, and so do our client commands. (The QEMU rewrite is narrower: see
 * target/address.ts isTargetRewrittenHost.)
 */
export function isLoopbackHost(host: string): boolean {
  let h: string;
  try {
    h = parseHostPort(host.trim()).host.toLowerCase();
  } catch {
    return false;
  }
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** ImageReference is a parsed `[registry/]repository[:tag][@digest]`. */
export interface ImageReference {
  /** registry `host[:port]` as written; undefined when the reference named none */
  registry: string | undefined;
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

/** isHostComponent applies docker's rule to a reference's first component. */
function isHostComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/**
 * parseImageReference splits a reference the way docker and skopeo do: the first component is a
 * registry when it holds a '.' or ':' or is 'localhost'; then `:tag` and `@digest`. The host must be
 * a valid host[:port], the repository lowercase (the spec's grammar), the tag and digest valid.
 * No defaults are applied: see withDockerHubDefaults.
 */
export function parseImageReference(text: string): ImageReference {
  const bad = (why: string) => new AddressError(`invalid image reference ${JSON.stringify(text)}: ${why}`);
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!tryParseDigest(digest)) throw bad(`invalid digest ${JSON.stringify(digest)} (want sha256:<64 hex> or sha512:<128 hex>)`);
  }
  let registry: string | undefined;
  const slash = rest.indexOf('/');
  if (slash > 0 && isHostComponent(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
    try {
      parseHostPort(registry);
    } catch (err) {
      throw bad((err as Error).message);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  const problem = nameProblem(rest);
  if (problem) throw bad(problem);
  return { registry, repository: rest, tag, digest };
}

/** DOCKER_HUB is the registry of a reference that names none. */
export const DOCKER_HUB = 'docker.io';

/** DOCKER_HUB_ALIASES are the names docker treats as Docker Hub. */
const DOCKER_HUB_ALIASES: readonly string[] = [DOCKER_HUB, 'index.docker.io'];

/**
 * withDockerHubDefaults applies docker's defaults: no registry means Docker Hub, and a one-part
 * name on Docker Hub is in its `library/` namespace (`alpine` → docker.io/library/alpine). A
 * reference naming another registry is left as it is (`localhost:5000/alpine` stays `alpine`).
 */
export function withDockerHubDefaults(ref: ImageReference): ImageReference & { registry: string } {
  const registry = ref.registry ?? DOCKER_HUB;
  if (!DOCKER_HUB_ALIASES.includes(registry)) return { ...ref, registry };
  const repository = ref.repository.includes('/') ? ref.repository : `library/${ref.repository}`;
  return { ...ref, registry: DOCKER_HUB, repository };
}
