// containerd's per-registry hosts.toml (containerd, k3s, Kind-style targets), read from
// `<config_path>/<host:port>/hosts.toml` when the CRI plugin's registry.config_path (or `ctr
// --hosts-dir`) points at /etc/containerd/certs.d.
// https://github.com/containerd/containerd/blob/main/docs/hosts.md
import { stringify } from 'smol-toml';
import { certsDCaPath, certsDDir } from './certs.js';
import type { TargetSettings } from './settings.js';

/** containerdHostsTomlPath is `/etc/containerd/certs.d/<host:port>/hosts.toml`. */
export function containerdHostsTomlPath(s: TargetSettings): string {
  return `${certsDDir('containerd', s.registry)}/hosts.toml`;
}

/** containerdHostsToml is hosts.toml: http for an insecure registry, https with our CA when secure. */
export function containerdHostsToml(s: TargetSettings): string {
  const scheme = s.insecure ? 'http' : 'https';
  const server = `${scheme}://${s.registry}`;
  const host: Record<string, unknown> = { capabilities: ['pull', 'resolve'] };
  if (s.secure) host.ca = certsDCaPath('containerd', s.registry);
  const doc = { server, host: { [server]: host } };
  return `# Written by meta-container-registry (containerd-registry-config).\n${stringify(doc)}\n`;
}
