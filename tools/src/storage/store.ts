// ImageStore: the OCI rules over one storage directory, as one object the server is handed.
import { FsDriver, type StorageDriver } from './driver.js';
import type { StoragePaths } from './paths.js';
import { BlobStore } from './blobs.js';
import { UploadStore, type SessionLocks } from './uploads.js';
import { ManifestStore } from './manifests.js';
import { listReferrers, type ReferrersPage } from './referrers.js';
import { listCatalog, listRepositories, listRepositoryFolders } from './catalog.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';

/** ImageStore groups the blob, upload and manifest stores of one storage directory's distribution tree. */
export class ImageStore {
  readonly paths: StoragePaths;
  readonly driver: StorageDriver;
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly manifests: ManifestStore;

  /** sessionLocks: upload sessions shared with other processes (uploads.ts); none for one process */
  constructor(paths: StoragePaths, driver: StorageDriver = new FsDriver(), sessionLocks?: SessionLocks) {
    this.paths = paths;
    this.driver = driver;
    this.blobs = new BlobStore(this.paths, driver);
    this.uploads = new UploadStore(this.paths, driver, this.blobs, sessionLocks);
    this.manifests = new ManifestStore(this.paths, driver, this.blobs);
  }

  /** repositories lists every repository in lexical order. */
  repositories(): Promise<string[]> {
    return listRepositories(this.paths, this.driver);
  }

  /** catalog lists the repositories that hold a tag or a manifest (what `_catalog` shows; catalog.ts). */
  catalog(): Promise<string[]> {
    return listCatalog(this.paths, this.driver);
  }

  /** repositoryFolders lists every folder with manifests, blob links or uploads (what gc looks through). */
  repositoryFolders(): Promise<string[]> {
    return listRepositoryFolders(this.paths, this.driver);
  }

  /** referrers lists the manifests in `repo` whose subject is `subject` (the first page). */
  async referrers(repo: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    return (await listReferrers(this.manifests, this.blobs, repo, subject, { artifactType })).manifests;
  }

  /** referrersPage lists one page of them, after the digest `after`. */
  referrersPage(repo: string, subject: Digest, o: { artifactType?: string; after?: string; limit?: number }): Promise<ReferrersPage> {
    return listReferrers(this.manifests, this.blobs, repo, subject, o);
  }
}
