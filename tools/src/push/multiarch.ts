// The multi-arch index of a tag: computed locally from the platforms pushed in this run, merged
// with what the tag already holds so that no other platform is lost. Platforms compare by
// (os, architecture, variant), normalized.
import { MEDIA_TYPES, isIndexMediaType } from '../oci/mediatypes.js';
import type { Descriptor, Platform } from '../oci/manifest.js';
import { normalizePlatform, platformKey } from '../oci/platform.js';

/** PlatformManifest is one platform's manifest as an index entry. */
export interface PlatformManifest {
  mediaType: string;
  digest: string;
  size: number;
  platform: Platform;
}

/** ExistingTag is what a tag holds before the push (an index, or one platform's manifest). */
export interface ExistingTag {
  mediaType: string;
  body: Buffer;
  digest: string;
  /** for a plain manifest: its platform (from its config) */
  platform?: Platform;
}

/** mergedEntries gives the index entries: ours, then every existing platform we do not replace. */
export function mergedEntries(ours: PlatformManifest[], existing: ExistingTag | undefined): Descriptor[] {
  const entries: Descriptor[] = [...ours]
    .sort((a, b) => platformKey(a.platform).localeCompare(platformKey(b.platform)))
    .map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: normalizePlatform(m.platform) }));
  const taken = new Set(ours.map((m) => platformKey(m.platform)));
  if (!existing) return entries;
  if (isIndexMediaType(existing.mediaType)) {
    const doc = JSON.parse(existing.body.toString('utf8')) as { manifests?: Descriptor[] };
    for (const m of doc.manifests ?? []) {
      // Attestations (unknown/unknown) describe manifests being replaced; entries without a platform cannot be matched.
      if (!m.platform || m.platform.architecture === 'unknown') continue;
      const k = platformKey(m.platform);
      if (taken.has(k)) continue;
      taken.add(k);
      entries.push(m);
    }
  } else if (existing.platform) {
    const k = platformKey(existing.platform);
    if (!taken.has(k))
      entries.push({ mediaType: existing.mediaType, digest: existing.digest, size: existing.body.length, platform: normalizePlatform(existing.platform) });
  }
  return entries;
}

/** indexMediaType is a Docker manifest list when every entry is a Docker manifest (what Docker clients expect), else an OCI index. */
export function indexMediaType(entries: Descriptor[]): string {
  return entries.length > 0 && entries.every((e) => e.mediaType === MEDIA_TYPES.dockerManifest) ? MEDIA_TYPES.dockerManifestList : MEDIA_TYPES.ociIndex;
}

/** indexBody serializes an index over `entries` (OCI index, or Docker manifest list, per indexMediaType). */
export function indexBody(entries: Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: indexMediaType(entries), manifests: entries }));
}
