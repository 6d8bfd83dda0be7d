// A registries.conf.d drop-in for podman, skopeo, buildah and CRI-O (containers-registries.conf(5),
// version 2). A drop-in's top-level keys replace the main file's, so the search list names the
// registries searched after ours (docker.io, quay.io) explicitly rather than dropping them.
import { stringify } from 'smol-toml';
import type { TargetSettings } from './settings.js';

/** CONTAINERS_DROP_IN is the drop-in's path (the reference's file name, kept). */
export const CONTAINERS_DROP_IN = '/etc/containers/registries.conf.d/50-custom-registry.conf';

/** containersRegistriesConf is the drop-in's TOML: our registry first in the search list, and its [[registry]] entry. */
export function containersRegistriesConf(s: TargetSettings): string {
  const doc = {
    'unqualified-search-registries': [s.registry, ...s.searchRegistries],
    registry: [{ location: s.registry, insecure: s.insecure }],
  };
  const header =
    '# Written by meta-container-registry (container-oci-registry-config): our registry is searched\n' +
    `# first for unqualified names, then ${s.searchRegistries.length ? s.searchRegistries.join(', ') : 'nothing else'}.\n`;
  return `${header}${stringify(doc)}\n`;
}
