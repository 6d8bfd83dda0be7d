// Attaching an artifact to a pushed manifest the OCI 1.1 way: an image manifest with its own
// `artifactType`, the empty config, the document(s) as layers, and `subject` naming the manifest it
// describes; pushed by digest, and listed by the registry's referrers API or, on a registry without
// one, in the referrers tag schema's fallback index (client/referrers.ts putReferrer).
// https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md#guidelines-for-artifact-usage
import { pushBlob } from '../client/blobs.js';
import { putReferrer } from '../client/referrers.js';
import type { RegistrySession } from '../client/session.js';
import { bufferSource } from '../layout/layout.js';
import { digestOf } from '../oci/digest.js';
import { tagLockPath } from '../push/push.js';
import { withLock } from '../state/lock.js';
import type { Descriptor } from '../oci/manifest.js';
import { MEDIA_TYPES } from '../oci/mediatypes.js';

/** EMPTY_CONFIG is the empty JSON object `{}` as the image spec's empty descriptor gives it. */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: MEDIA_TYPES.ociEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
};

/** ANNOTATION_CREATED is the image spec's creation time annotation (RFC 3339). */
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';

/** ANNOTATION_TOOL names the tool that attached an artifact (and its version). */
export const ANNOTATION_TOOL = 'dev.meta-container-registry.tool';

/** ArtifactLayer is one document of an artifact. */
export interface ArtifactLayer {
  mediaType: string;
  content: Buffer;
  /** e.g. org.opencontainers.image.title, the file name a client saves it as */
  annotations?: Record<string, string>;
}

/** ArtifactSpec is what to attach. */
export interface ArtifactSpec {
  /** the manifest's artifactType (application/spdx+json, application/vnd.in-toto+json, ...) */
  artifactType: string;
  /** the documents; the first is the one `referrers` fetches by default */
  layers: ArtifactLayer[];
  /** more manifest annotations; created (now, unless given) and the tool are always set */
  annotations?: Record<string, string>;
  /** the creation time written (default: now); push passes the image's build time, so a re-push makes the same artifact (same digest) */
  created?: Date;
  /** `<name> <version>` for ANNOTATION_TOOL (default: meta-container-registry) */
  tool?: string;
}

/** AttachedArtifact is the artifact manifest pushed. */
export interface AttachedArtifact {
  /** the artifact manifest's descriptor, as a referrers list shows it */
  descriptor: Descriptor;
  /** the registry lists it through its referrers API (OCI-Subject answered) */
  registryListsIt: boolean;
  /** the fallback tag (sha256-<hex>) kept for a registry without the referrers API */
  fallbackTag: string | undefined;
}

/** artifactManifest serializes the artifact manifest over `layers` (descriptors of blobs already pushed). */
export function artifactManifest(subject: Descriptor, spec: ArtifactSpec, layers: Descriptor[]): Buffer {
  const annotations: Record<string, string> = {
    [ANNOTATION_CREATED]: (spec.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    [ANNOTATION_TOOL]: spec.tool ?? 'meta-container-registry',
    ...spec.annotations,
  };
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      artifactType: spec.artifactType,
      config: EMPTY_CONFIG,
      layers,
      // The subject's own descriptor: media type, digest and size only (platform and annotations belong to an index entry).
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations,
    }),
  );
}

/**
 * attachArtifact pushes `spec` as an artifact whose subject is the manifest `subject` (already in
 * `repository`): the empty config and each layer as blobs, then the manifest by its digest, then,
 * when the registry does not list referrers itself, the fallback index. Pushing the same bytes
 * twice changes nothing (blobs exist, the manifest digest is the same, the fallback index has it).
 */
export async function attachArtifact(session: RegistrySession, repository: string, subject: Descriptor, spec: ArtifactSpec): Promise<AttachedArtifact> {
  if (!spec.layers.length) throw new Error('an artifact needs at least one layer');
  const empty = Buffer.from('{}');
  const blobs: Array<{ digest: string; data: Buffer }> = [{ digest: EMPTY_CONFIG.digest, data: empty }];
  const layers: Descriptor[] = spec.layers.map((l) => {
    const digest = digestOf(l.content);
    blobs.push({ digest, data: l.content });
    return { mediaType: l.mediaType, digest, size: l.content.length, ...(l.annotations ? { annotations: l.annotations } : {}) };
  });
  for (const b of blobs) await pushBlob(session, repository, bufferSource(b.digest, b.data));
  const manifest = artifactManifest(subject, spec, layers);
  // The fallback index is a read-modify-write of a tag: under the lock this machine's pushes take for the repository's tags.
  const pushed = await putReferrer(session, repository, manifest, MEDIA_TYPES.ociManifest, subject.digest, (fn) =>
    withLock(tagLockPath(session.host, repository), fn, 120_000),
  );
  const annotations = (JSON.parse(manifest.toString('utf8')) as { annotations: Record<string, string> }).annotations;
  return {
    descriptor: { mediaType: MEDIA_TYPES.ociManifest, digest: pushed.digest, size: manifest.length, artifactType: spec.artifactType, annotations },
    registryListsIt: pushed.registryListsIt,
    fallbackTag: pushed.fallbackTag,
  };
}
