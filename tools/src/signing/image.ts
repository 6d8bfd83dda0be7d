// An image of a registry as signing and verifying name it: the registry host the payload names, the
// repository and a tag or digest; and resolving it to the manifest (and an index's platforms).
import { getManifest } from '../client/manifests.js';
import type { RegistrySession } from '../client/session.js';
import { HelperError } from '../errors/helper-error.js';
import { parseManifest, type Platform } from '../oci/manifest.js';

/** SignTarget names an image in a registry. */
export interface SignTarget {
  /** `host[:port]` of the registry as the image's users name it (the payload's docker-reference starts with it) */
  registryHost: string;
  repository: string;
  /** a tag, or a digest `sha256:...` */
  reference: string;
  /** the manifest to use instead of what `reference` names now (a push signs what it wrote, even if the tag moved since) */
  digest?: string;
}

/** dockerReference is the payload's identity: `host/repository:tag`, or `host/repository@digest` for a digest. */
export function dockerReference(t: SignTarget): string {
  const sep = t.reference.includes(':') ? '@' : ':';
  return `${t.registryHost}/${t.repository}${sep}${t.reference}`;
}

/** ManifestToCheck is one manifest an image's signatures cover: the one named, then an index's platforms. */
export interface ManifestToCheck {
  digest: string;
  /** `os/arch[/variant]` of an index entry; undefined for the manifest named */
  platform: string | undefined;
}

function platformOf(p: Platform | undefined): string | undefined {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : undefined;
}

/** manifestsOf resolves a reference: its digest first, then each manifest of an index; a missing one is `not-found`. */
export async function manifestsOf(s: RegistrySession, t: SignTarget): Promise<ManifestToCheck[]> {
  const got = await getManifest(s, t.repository, t.digest ?? t.reference);
  if (!got) throw new HelperError('not-found', `${dockerReference(t)}${t.digest ? ` (${t.digest})` : ''} does not exist`);
  const parsed = parseManifest(got.body, got.mediaType);
  return [{ digest: got.digest, platform: undefined }, ...parsed.manifests.map((m) => ({ digest: m.digest, platform: platformOf(m.platform) }))];
}
