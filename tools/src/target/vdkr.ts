// /etc/vdkr/registry.conf: the shell fragment vdkr's init sources (meta-virtualization's vdkr reads
// VDKR_DEFAULT_REGISTRY and VDKR_INSECURE_REGISTRIES; kernel parameters override it).
import { dockerInsecureRegistries } from './docker.js';
import type { TargetSettings } from './settings.js';

/** VDKR_REGISTRY_CONF is where vdkr reads its baked registry defaults. */
export const VDKR_REGISTRY_CONF = '/etc/vdkr/registry.conf';

const SAFE = /^[A-Za-z0-9._:/[\] -]*$/;

function shellValue(name: string, value: string): string {
  // Addresses and namespaces are validated upstream; refuse anything a shell would interpret.
  if (!SAFE.test(value)) throw new Error(`unsafe value for ${name}: ${JSON.stringify(value)}`);
  return `${name}="${value}"`;
}

/** vdkrRegistryConf is registry.conf: the default registry with its namespace, and the insecure list. */
export function vdkrRegistryConf(s: TargetSettings): string {
  const lines = [
    '# vdkr registry defaults, written by meta-container-registry (vdkr-registry-config).',
    '# Kernel parameters (docker_registry=..., docker_insecure_registry=...) and `vdkr vconfig` override them.',
    shellValue('VDKR_DEFAULT_REGISTRY', s.namespace ? `${s.registry}/${s.namespace}` : s.registry),
  ];
  if (s.secure) {
    // vdkr's init reads DOCKER_REGISTRY_SECURE (else from docker_registry_secure= on the kernel command
    // line): with it, dockerd verifies TLS with the CA container-registry-ca installs in
    // /etc/docker/certs.d/<host:port>/ca.crt instead of listing a 10.x address as insecure.
    lines.push('# Secure mode: TLS with the build CA (container-registry-ca installs it for docker).', shellValue('DOCKER_REGISTRY_SECURE', '1'));
  }
  const insecure = dockerInsecureRegistries(s);
  if (insecure.length) lines.push(shellValue('VDKR_INSECURE_REGISTRIES', insecure.join(' ')));
  return `${lines.join('\n')}\n`;
}
