// containerd's per-registry hosts.toml (containerd, k3s, Kind-style targets), read from
// `<config_path>/<host:port>/hosts.toml` when the CRI plugin's registry.config_path (or `ctr
// --hosts-dir`) points at /etc/containerd/certs.d.
// https://github.com/containerd/containerd/blob/main/docs/hosts.md
import { stringify } from 'smol-toml';
import { certsDCaPath, certsDDir } from './certs.js';
import type { TargetMirror, TargetSettings } from './settings.js';
import type { TargetFile } from './files.js';

/** containerdHostsTomlPath is `/etc/containerd/certs.d/<host:port>/hosts.toml`. */
export function containerdHostsTomlPath(s: TargetSettings): string {
  return `${certsDDir('containerd', s.registry)}/hosts.toml`;
}

/** ourHost is the `[host."..."]` table of our registry: http when insecure, https with our CA when secure. */
function ourHost(s: TargetSettings, path = ''): [string, Record<string, unknown>] {
  const url = `${s.insecure ? 'http' : 'https'}://${s.registry}${path}`;
  const host: Record<string, unknown> = { capabilities: ['pull', 'resolve'] };
  // override_path: the URL's path is the API root, so containerd asks /v2/<prefix>/<repo>/... (it
  // still adds ?ns=<upstream host>, which the registry may read instead).
  if (path) host.override_path = true;
  if (s.secure) host.ca = certsDCaPath('containerd', s.registry);
  return [url, host];
}

/** containerdHostsToml is hosts.toml: http for an insecure registry, https with our CA when secure. */
export function containerdHostsToml(s: TargetSettings): string {
  const [server, host] = ourHost(s);
  const doc = { server, host: { [server]: host } };
  return `# Written by meta-container-registry (containerd-registry-config).\n${stringify(doc)}\n`;
}

/** containerdMirrorHostsTomlPath is `/etc/containerd/certs.d/<upstream host>/hosts.toml` (`docker.io` for Docker Hub). */
export function containerdMirrorHostsTomlPath(m: TargetMirror): string {
  return `${certsDDir('containerd', m.host)}/hosts.toml`;
}

/**
 * containerdMirrorHostsToml sends pulls of a mirrored upstream through our registry, under the
 * upstream's prefix (`/v2/docker.io/library/alpine/...`); the upstream itself stays the `server`,
 * which containerd falls back to when our registry does not answer.
 */
export function containerdMirrorHostsToml(s: TargetSettings, m: TargetMirror): string {
  const [url, host] = ourHost(s, `/v2/${m.prefix}`);
  const doc = { server: m.upstream, host: { [url]: host } };
  return `# Written by meta-container-registry (containerd-registry-config): pulls of ${m.host} go through the
# build's registry, a pull-through cache of it, before ${m.upstream} itself.
${stringify(doc)}\n`;
}

/** containerdFiles are containerd's hosts.toml files: our registry's, then one per mirrored upstream. */
export function containerdFiles(s: TargetSettings): TargetFile[] {
  return [
    { path: containerdHostsTomlPath(s), content: containerdHostsToml(s), mode: 0o644 },
    ...s.mirrors.map((m) => ({ path: containerdMirrorHostsTomlPath(m), content: containerdMirrorHostsToml(s, m), mode: 0o644 })),
  ];
}
