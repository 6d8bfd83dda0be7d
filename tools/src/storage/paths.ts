// The on-disk layout, compatible with CNCF distribution's filesystem driver
// (distribution/registry/storage/paths.go), rooted at `<storage>/docker/registry/v2`:
//
//   <storage>/
//   ├── docker/registry/v2/
//   │   ├── blobs/<alg>/<hex[0:2]>/<hex>/data              content, stored once
//   │   ├── blobs/<alg>/<hex[0:2]>/<hex>/.gc-quarantine    content gc has set aside (for seconds)
//   │   └── repositories/<name>/
//   │       ├── _layers/<alg>/<hex>/link                   blob linked into the repository
//   │       ├── _manifests/revisions/<alg>/<hex>/link      manifest known to the repository
//   │       ├── _manifests/revisions/<alg>/<hex>/untagged  a tag on it was deleted (mtime: when; read by gc)
//   │       ├── _manifests/revisions/<alg>/.gc-quarantine-<hex>/link   a revision gc has set aside
//   │       ├── _manifests/tags/<tag>/current/link         what the tag points at now
//   │       ├── _manifests/tags/<tag>/index/<alg>/<hex>/link   every digest the tag has had
//   │       └── _uploads/<id>/{data,startedat}             upload in progress
//   └── ...                                                 the helper's own files, beside docker/ (state/state-dir.ts)
//
// A link file holds the digest text (`sha256:...`) and nothing else. Every path of distribution's
// tree is built here, from typed specs, so a name or digest can never escape the root.
import { join } from 'node:path';
import type { Digest } from '../oci/digest.js';

/** V2_ROOT is the directory under the storage dir that distribution calls its root. */
export const V2_ROOT = join('docker', 'registry', 'v2');

/** StoragePaths builds every path of distribution's layout for one storage directory. */
export class StoragePaths {
  /** root is `<storage>/docker/registry/v2`. */
  readonly root: string;

  constructor(readonly storageDir: string) {
    this.root = join(storageDir, V2_ROOT);
  }

  /** blobsRoot is where every blob lives. */
  blobsRoot(): string {
    return join(this.root, 'blobs');
  }

  /** blobDir is the folder of one blob. */
  blobDir(d: Digest): string {
    return join(this.root, 'blobs', d.algorithm, d.hex.slice(0, 2), d.hex);
  }

  /** blobData is the content file of one blob. */
  blobData(d: Digest): string {
    return join(this.blobDir(d), 'data');
  }

  /** blobQuarantine is where gc sets a blob's content aside before deleting it (see gc.ts). */
  blobQuarantine(d: Digest): string {
    return join(this.blobDir(d), '.gc-quarantine');
  }

  /** repositoriesRoot holds one folder per repository (names with '/' nest). */
  repositoriesRoot(): string {
    return join(this.root, 'repositories');
  }

  /** repository is the folder of a repository; `name` must be validated already. */
  repository(name: string): string {
    return join(this.root, 'repositories', ...name.split('/'));
  }

  /** manifestsDir holds a repository's revisions and tags; its presence makes a folder a repository. */
  manifestsDir(name: string): string {
    return join(this.repository(name), '_manifests');
  }

  /** layerDir is the folder of one blob link in a repository. */
  layerDir(name: string, d: Digest): string {
    return join(this.repository(name), '_layers', d.algorithm, d.hex);
  }

  /** layerLink links a blob into a repository. */
  layerLink(name: string, d: Digest): string {
    return join(this.layerDir(name, d), 'link');
  }

  /** layersRoot holds the repository's blob links, by algorithm. */
  layersRoot(name: string): string {
    return join(this.repository(name), '_layers');
  }

  /** manifestRevisionsRoot holds the repository's manifest links, by algorithm. */
  manifestRevisionsRoot(name: string): string {
    return join(this.manifestsDir(name), 'revisions');
  }

  /** manifestRevisionDir is the folder of one manifest revision. */
  manifestRevisionDir(name: string, d: Digest): string {
    return join(this.manifestRevisionsRoot(name), d.algorithm, d.hex);
  }

  /** manifestRevisionLink marks a manifest as part of the repository. */
  manifestRevisionLink(name: string, d: Digest): string {
    return join(this.manifestRevisionDir(name, d), 'link');
  }

  /**
   * manifestRevisionUntagged is an empty file a tag delete leaves beside the revision's link: its
   * mtime tells gc when the manifest lost a tag, so one untagged by a user is not mistaken for an
   * index's child still on its way (gc.ts). distribution reads only `link` here and ignores it.
   */
  manifestRevisionUntagged(name: string, d: Digest): string {
    return join(this.manifestRevisionDir(name, d), 'untagged');
  }

  /** manifestRevisionQuarantine is where gc sets an untagged revision aside before deleting it. */
  manifestRevisionQuarantine(name: string, d: Digest): string {
    return join(this.manifestRevisionsRoot(name), d.algorithm, `.gc-quarantine-${d.hex}`);
  }

  /** tagsRoot holds one folder per tag. */
  tagsRoot(name: string): string {
    return join(this.manifestsDir(name), 'tags');
  }

  /** tagDir is the folder of one tag; `tag` must be validated already. */
  tagDir(name: string, tag: string): string {
    return join(this.tagsRoot(name), tag);
  }

  /** tagCurrentLink holds the digest a tag points at. */
  tagCurrentLink(name: string, tag: string): string {
    return join(this.tagDir(name, tag), 'current', 'link');
  }

  /** tagIndexLink records that a tag has pointed at `d`. */
  tagIndexLink(name: string, tag: string, d: Digest): string {
    return join(this.tagDir(name, tag), 'index', d.algorithm, d.hex, 'link');
  }

  /** uploadsRoot holds the repository's upload sessions. */
  uploadsRoot(name: string): string {
    return join(this.repository(name), '_uploads');
  }

  /** uploadDir is the folder of one upload session; `id` must be validated already. */
  uploadDir(name: string, id: string): string {
    return join(this.uploadsRoot(name), id);
  }

  /** uploadWriter is the lock a replica holds in the bucket while it writes to an upload (object stores only; uploads.ts). */
  uploadWriter(name: string, id: string): string {
    return join(this.uploadDir(name, id), 'writer');
  }

  /** uploadData is the partial content of an upload. */
  uploadData(name: string, id: string): string {
    return join(this.uploadDir(name, id), 'data');
  }

  /** uploadStartedAt holds the RFC 3339 time the upload began. */
  uploadStartedAt(name: string, id: string): string {
    return join(this.uploadDir(name, id), 'startedat');
  }
}
