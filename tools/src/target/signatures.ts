// Files that make podman, skopeo, buildah and CRI-O on a target refuse images of our registry that
// carry no valid signature by the build's signing key (CONTAINER_REGISTRY_REQUIRE_SIGNATURES):
// policy.json (containers-policy.json(5): a sigstoreSigned requirement with keyPath for the
// registry's scope, anything else as the default policy allows it), a registries.d entry
// (containers-registries.d(5): use-sigstore-attachments, so the `sha256-<hex>.sig` manifests are
// read) and the public key. Images are signed under the name the build host pushed them with
// (localhost:5000/...); a target that reaches the registry by another address (10.0.2.2:5000) maps
// its name back with remapIdentity.
import type { TargetSettings } from './settings.js';

/** POLICY_JSON replaces the image's policy.json (the default one accepts anything). */
export const POLICY_JSON = '/etc/containers/policy.json';

/** REGISTRIES_D_ENTRY turns on sigstore attachments for our registry. */
export const REGISTRIES_D_ENTRY = '/etc/containers/registries.d/container-registry.yaml';

/** SIGNING_PUBLIC_KEY is the build's public signing key on the target. */
export const SIGNING_PUBLIC_KEY = '/etc/containers/keys/container-registry.pub';

/** SignatureSettings are what the signature files need beyond the target settings. */
export interface SignatureSettings {
  /** the public key (PEM) */
  publicKey: string;
  /** `host[:port]` of the registry as the build host named it when signing (the payloads' docker-reference) */
  signedRegistry: string;
}

/** signedIdentity is the policy's rule for the payload's name: the exact name (or repository, for a pull by digest), mapped back from the target's address. */
function signedIdentity(s: TargetSettings, sig: SignatureSettings): Record<string, string> {
  if (s.registry === sig.signedRegistry) return { type: 'matchRepoDigestOrExact' };
  return { type: 'remapIdentity', prefix: s.registry, signedPrefix: sig.signedRegistry };
}

/** policyJson requires a sigstore signature by the key for every image of the registry; the rest as containers' default policy (accept). */
export function policyJson(s: TargetSettings, sig: SignatureSettings): string {
  const doc = {
    default: [{ type: 'insecureAcceptAnything' }],
    transports: {
      docker: { [s.registry]: [{ type: 'sigstoreSigned', keyPath: SIGNING_PUBLIC_KEY, signedIdentity: signedIdentity(s, sig) }] },
      'docker-daemon': { '': [{ type: 'insecureAcceptAnything' }] },
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** registriesDEntry is the YAML that makes containers/image read sigstore attachments of the registry. */
export function registriesDEntry(s: TargetSettings): string {
  return `# Written by meta-container-registry (container-oci-registry-config): read the sigstore\n# signatures (sha256-<digest>.sig) of the build's registry.\ndocker:\n  ${JSON.stringify(s.registry)}:\n    use-sigstore-attachments: true\n`;
}

/** signatureFiles lists the three files. */
export function signatureFiles(s: TargetSettings, sig: SignatureSettings): Array<{ path: string; content: string; mode: number }> {
  if (!sig.publicKey.includes('-----BEGIN PUBLIC KEY-----')) throw new Error('the signing public key is not a PEM public key');
  return [
    { path: POLICY_JSON, content: policyJson(s, sig), mode: 0o644 },
    { path: REGISTRIES_D_ENTRY, content: registriesDEntry(s), mode: 0o644 },
    { path: SIGNING_PUBLIC_KEY, content: sig.publicKey, mode: 0o644 },
  ];
}
