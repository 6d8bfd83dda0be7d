// A registries.conf.d drop-in for podman, skopeo, buildah and CRI-O (containers-registries.conf(5),
// version 2). A drop-in's top-level keys replace the main file's, so the search list names the
// registries searched after ours (docker.io, quay.io) explicitly rather than dropping them.
// [[registry]] tables merge with the main file's by prefix, so a mirrored upstream's entry (with
// our registry as its [[registry.mirror]]) goes in the same drop-in.
import { stringify } from 'smol-toml';
import type { TargetSettings } from './settings.js';

/** CONTAINERS_DROP_IN is the drop-in's path (the reference's file name, kept). */
export const CONTAINERS_DROP_IN = '/etc/containers/registries.conf.d/50-custom-registry.conf';

/**
 * containersRegistriesConf is the drop-in's TOML: our registry first in the search list, its
 * [[registry]] entry, and one per mirrored upstream whose mirror is our registry under its prefix
 * (`10.0.2.2:5000/docker.io`); podman falls back to the upstream when the mirror fails.
 */
export function containersRegistriesConf(s: TargetSettings): string {
  const mirrors = s.mirrors.map((m) => ({
    prefix: m.host,
    location: m.host,
    mirror: [{ location: `${s.registry}/${m.prefix}`, insecure: s.insecure }],
  }));
  const doc = {
    'unqualified-search-registries': [s.registry, ...s.searchRegistries],
    registry: [{ location: s.registry, insecure: s.insecure }, ...mirrors],
  };
  const header =
    '# Written by meta-container-registry (container-oci-registry-config): our registry is searched\n' +
    `# first for unqualified names, then ${s.searchRegistries.length ? s.searchRegistries.join(', ') : 'nothing else'}.\n` +
    (s.mirrors.length ? `# Pulls of ${s.mirrors.map((m) => m.host).join(', ')} go through our registry (a pull-through cache) first.\n` : '');
  return `${header}${stringify(doc)}\n`;
}
