// Blobs: content stored once by digest; a repository reaches a blob through a link in `_layers`
// (distribution's linkedblobstore.go). A cross-repository mount is writing one more link.
import type { Readable } from 'node:stream';
import type { FileReader, StorageDriver } from './driver.js';
import { PathNotFound } from './driver.js';
import type { StoragePaths } from './paths.js';
import { readLink, writeLink } from './links.js';
import { restoreBlob } from './quarantine.js';
import { formatDigest, type Digest } from '../oci/digest.js';

/** BlobStore reads, links and unlinks blobs. */
export class BlobStore {
  constructor(
    private readonly paths: StoragePaths,
    private readonly driver: StorageDriver,
  ) {}

  /**
   * size tells the size of a stored blob, or undefined when it is not stored. A blob that gc has
   * set aside is put back first: asking for it is a use (see quarantine.ts).
   */
  async size(d: Digest): Promise<number | undefined> {
    const once = async () => {
      try {
        const info = await this.driver.stat(this.paths.blobData(d));
        return info.isDirectory ? undefined : info.size;
      } catch (err) {
        if (err instanceof PathNotFound) return undefined;
        throw err;
      }
    };
    const found = await once();
    if (found !== undefined || !(await restoreBlob(this.driver, this.paths, d))) return found;
    await this.touch(d);
    return once();
  }

  /** isLinked tells whether `repo` may read blob `d` (as a layer/config or as a manifest). */
  async isLinked(repo: string, d: Digest): Promise<boolean> {
    const layer = await readLink(this.driver, this.paths.layerLink(repo, d));
    if (layer && formatDigest(layer) === formatDigest(d)) return true;
    const revision = await readLink(this.driver, this.paths.manifestRevisionLink(repo, d));
    return revision !== undefined && formatDigest(revision) === formatDigest(d);
  }

  /** statInRepo gives the size of a blob `repo` may read, or undefined. */
  async statInRepo(repo: string, d: Digest): Promise<number | undefined> {
    if (!(await this.isLinked(repo, d))) return undefined;
    return this.size(d);
  }

  /**
   * claim is the size of a blob a push is about to rely on (a HEAD before skipping an upload, a
   * mount, a manifest naming it) and marks it used, so that an online gc spares it; undefined when
   * `repo` (or, without one, the storage) lacks it. Where rename is not atomic (S3) the record is
   * written before a second look: a gc then either reads the record or has already set the blob
   * aside, which that look finds and puts back (docs/storage-s3.md "Several replicas").
   */
  async claim(repo: string | undefined, d: Digest): Promise<number | undefined> {
    const size = repo === undefined ? await this.size(d) : await this.statInRepo(repo, d);
    if (size === undefined) return undefined;
    await this.touch(d);
    return this.driver.atomicRename ? size : this.size(d);
  }

  /** link makes blob `d` readable in `repo`, and refreshes its mtime so an online gc spares it (`claimed`: claim just did). */
  async link(repo: string, d: Digest, o: { claimed?: boolean } = {}): Promise<void> {
    if (!o.claimed) await this.touch(d);
    await writeLink(this.driver, this.paths.layerLink(repo, d), d);
  }

  /** touch marks a blob as just used, which keeps it out of gc's reach for the grace period. */
  async touch(d: Digest): Promise<void> {
    await this.driver.touch(this.paths.blobData(d)).catch(() => {});
  }

  /** unlink removes a blob from `repo` (the content stays for gc); false when it was not linked. */
  async unlink(repo: string, d: Digest): Promise<boolean> {
    return this.driver.deleteIfExists(this.paths.layerDir(repo, d));
  }

  /** open streams a stored blob, whole or an inclusive byte range. */
  open(d: Digest, range?: { start: number; end: number }): Readable {
    return this.driver.readStream(this.paths.blobData(d), range);
  }

  /** openReader opens a stored blob for reads into the caller's buffers; PathNotFound when it is gone. */
  openReader(d: Digest): Promise<FileReader> {
    return this.driver.openReader(this.paths.blobData(d));
  }

  /** read returns a small blob (a manifest or config) whole. */
  async read(d: Digest): Promise<Buffer> {
    return this.driver.readFile(this.paths.blobData(d));
  }

  /** writeSmall stores a small blob (a manifest) from memory, atomically; no-op if already there. */
  async writeSmall(d: Digest, data: Buffer): Promise<void> {
    // On S3 the use is recorded before the look (see claim); the blob is written anyway if absent.
    if (!this.driver.atomicRename) await this.touch(d);
    if ((await this.size(d)) === data.length) {
      await this.touch(d);
      return;
    }
    await this.driver.writeFileAtomic(this.paths.blobData(d), data);
  }
}
