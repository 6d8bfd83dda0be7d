// CONTAINER_REGISTRY_MIRRORS: the upstream registries this registry mirrors as a pull-through
// cache. One setting feeds both sides: serve fetches from the upstreams, and the target-config
// emitters point the targets' container engines at us for those hosts.
import { isValidRepositoryName } from '../oci/names.js';
import { AddressError, formatHostPort, parseHostPort } from '../oci/reference.js';

/** MirrorSpec is one mirrored upstream as the setting names it. */
export interface MirrorSpec {
  /** the registry host as clients name it in image references: `docker.io`, `quay.io`, `localhost:5001` */
  host: string;
  /** the repository namespace the cached images live under in this registry (`docker.io`, `localhost-5001`) */
  prefix: string;
  /** where the registry fetches from (`https://registry-1.docker.io` for docker.io) */
  url: URL;
}

// Hosts whose registry API is not at the host clients name (Docker Hub's historical split).
const API_HOSTS: Record<string, string> = { 'docker.io': 'https://registry-1.docker.io' };

/**
 * mirrorPrefix is the repository component a host becomes: a port's `:` is not allowed in a
 * repository name, so `localhost:5001` is stored under `localhost-5001/`.
 */
export function mirrorPrefix(host: string): string {
  return host
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
}

/** parseMirror reads `host` or `host=URL` (URL: http(s)://host[:port], the upstream's API). */
export function parseMirror(item: string): MirrorSpec {
  const eq = item.indexOf('=');
  const hostText = (eq < 0 ? item : item.slice(0, eq)).trim();
  const parsed = parseHostPort(hostText);
  const host = formatHostPort(parsed.host.toLowerCase(), parsed.port);
  const urlText = eq < 0 ? (API_HOSTS[host] ?? `https://${host}`) : item.slice(eq + 1).trim();
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new AddressError(`CONTAINER_REGISTRY_MIRRORS: ${JSON.stringify(urlText)} is not a URL (host=http(s)://host[:port])`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AddressError(`CONTAINER_REGISTRY_MIRRORS: ${JSON.stringify(urlText)} must be http:// or https://`);
  }
  if (url.username || url.password) {
    // Credentials in a URL end up in argv, logs and the generated script: config.toml holds them.
    throw new AddressError('CONTAINER_REGISTRY_MIRRORS: no credentials in the URL; set them for the upstream in config.toml (docs/cache.md)');
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new AddressError(`CONTAINER_REGISTRY_MIRRORS: ${JSON.stringify(urlText)}: the upstream URL is scheme://host[:port], without a path`);
  }
  const prefix = mirrorPrefix(host);
  if (!isValidRepositoryName(prefix)) throw new AddressError(`CONTAINER_REGISTRY_MIRRORS: ${host} does not make a repository namespace`);
  return { host, prefix, url };
}

/** parseMirrors reads the setting's items; a host named twice is an error. */
export function parseMirrors(items: readonly string[]): MirrorSpec[] {
  const specs = items.map(parseMirror);
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.prefix)) throw new AddressError(`CONTAINER_REGISTRY_MIRRORS names ${s.host} twice`);
    seen.add(s.prefix);
  }
  return specs;
}
