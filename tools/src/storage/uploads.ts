// Upload sessions: `_uploads/<id>/data` grows by PATCH until a PUT commits it under its digest.
// The data file is the state, so a session survives a restart and is resumed from its size; the
// running hash is only a shortcut, dropped whenever it could disagree with the file. The file is the
// driver's appendable file (driver.ts): a file on a filesystem, a multipart upload on S3.
import { randomUUID, type Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { StorageDriver } from './driver.js';
import { PathNotFound } from './driver.js';
import type { StoragePaths } from './paths.js';
import type { BlobStore } from './blobs.js';
import { formatDigest, newHasher, type Digest, type DigestAlgorithm } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { storeNow } from './gc-lease.js';

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** UploadState is what a client may know of an upload. */
export interface UploadState {
  id: string;
  /** bytes received so far */
  size: number;
}

/** ChunkRange is an inclusive byte range a PATCH claims to carry (Content-Range). */
export interface ChunkRange {
  start: number;
  end: number;
}

interface Session {
  /** sha256 of the first `hashed` bytes, valid while hashed equals the file size */
  hasher: Hash | undefined;
  hashed: number;
  /** serialises operations on one upload */
  queue: Promise<unknown>;
  /** operations queued or running */
  active: number;
}

/** hashFile streams a file through `algorithm` and returns the digest; its reads take turns with blob GETs' (bulk-reads.ts). */
export async function hashFile(driver: StorageDriver, path: string, algorithm: DigestAlgorithm): Promise<Digest> {
  const hasher = newHasher(algorithm);
  await pipeline(driver.readStream(path), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) hasher.update(chunk);
  });
  return { algorithm, hex: hasher.digest('hex') };
}

/**
 * SessionLocks serialise the operations on one upload across processes: with several workers on one
 * storage (registry/peers.ts) a client's PATCH and its status GET, or two clients resuming the same
 * session, may reach different processes. `acquire` resolves when `key` is this caller's, to a
 * function that lets it go. One process needs none: the session's own queue serialises it.
 */
export interface SessionLocks {
  acquire(key: string): Promise<() => void>;
}

/** SESSIONS_KEPT bounds the running hashes kept (a session another worker finished is never seen again here). */
const SESSIONS_KEPT = 10_000;

/** UploadStore runs upload sessions. */
export class UploadStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly paths: StoragePaths,
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly locks?: SessionLocks,
  ) {}

  /** create starts an empty upload in `repo` and returns its id. */
  async create(repo: string): Promise<UploadState> {
    const id = randomUUID();
    // Session bookkeeping needs no fsync: losing a fresh session to a power cut only means the
    // client starts it again; what must be durable is the committed blob.
    // One operation (file-lane.ts): a full disk (say) leaves no session folder nobody knows the id of.
    await this.driver.createFiles(this.paths.uploadDir(repo, id), [
      [this.paths.uploadStartedAt(repo, id), new Date().toISOString()],
      [this.paths.uploadData(repo, id), ''],
    ]);
    this.sessions.set(key(repo, id), { hasher: newHasher('sha256'), hashed: 0, queue: Promise.resolve(), active: 0 });
    return { id, size: 0 };
  }

  /** status tells how much an upload has received; BLOB_UPLOAD_UNKNOWN when there is none. */
  async status(repo: string, id: string): Promise<UploadState> {
    // In line behind a PATCH still in progress (one the client gave up on, say), so the size told
    // is what that PATCH left, the offset a resuming client must start from.
    return this.serialise(repo, id, async () => ({ id, size: await this.dataSize(repo, id) }));
  }

  /** append adds a chunk; with `range`, it must start where the upload ends (else RANGE_INVALID). */
  async append(repo: string, id: string, body: Readable, range?: ChunkRange): Promise<UploadState> {
    return this.serialise(repo, id, async (session) => this.writing(repo, id, body, () => this.appendLocked(repo, id, session, body, range)));
  }

  /**
   * writing runs a write to an upload under the upload's writer lock in the bucket, on an object
   * store, where replicas share nothing else: two replicas resuming one session at once would
   * otherwise interleave parts and tails. The second fails at once (409 BLOB_UPLOAD_INVALID; the
   * client asks the status and goes on); a filesystem's sessions need none (one host, file locks).
   */
  private async writing<T>(repo: string, id: string, body: Readable | undefined, work: () => Promise<T>): Promise<T> {
    if (this.driver.atomicRename) return work();
    await this.dataSize(repo, id); // an unknown upload is BLOB_UPLOAD_UNKNOWN, not a lock to take
    const lock = await takeWriterLock(this.driver, this.paths, repo, id);
    if (!lock) {
      body?.resume();
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload ${id} is being written by another request`, { status: 409 });
    }
    try {
      return await work();
    } finally {
      await lock.release();
    }
  }

  /** commit adds an optional last chunk, verifies the digest and makes the blob visible in `repo` (`fresh`: create made the session in this request). */
  async commit(repo: string, id: string, expected: Digest, body?: Readable, range?: ChunkRange, o: { fresh?: boolean } = {}): Promise<{ size: number }> {
    return this.serialise(repo, id, (session) => {
      const work = () => this.commitLocked(repo, id, session, expected, body, range);
      // A session this very request created (a monolithic POST) is known to no one else yet: no lock.
      return o.fresh ? work() : this.writing(repo, id, body, work);
    });
  }

  private async commitLocked(repo: string, id: string, session: Session, expected: Digest, body?: Readable, range?: ChunkRange): Promise<{ size: number }> {
    if (body) await this.appendLocked(repo, id, session, body, range);
    const dataPath = this.paths.uploadData(repo, id);
    const size = await this.dataSize(repo, id);
    // Readable whole from here on (on S3: the multipart upload completed, not yet under its digest).
    await this.driver.finishAppend(dataPath);
    let actual: Digest;
    if (expected.algorithm === 'sha256' && session.hasher && session.hashed === size) {
      actual = { algorithm: 'sha256', hex: session.hasher.copy().digest('hex') };
    } else {
      actual = await hashFile(this.driver, dataPath, expected.algorithm);
    }
    if (actual.hex !== expected.hex) {
      await this.remove(repo, id);
      throw new RegistryError('DIGEST_INVALID', `digest mismatch: expected ${formatDigest(expected)}, content is ${formatDigest(actual)}`);
    }
    // On S3 the use is recorded before the look (blobs.ts claim): a gc sees it or set the blob aside first.
    if (!this.driver.atomicRename) await this.blobs.touch(expected);
    if ((await this.blobs.size(expected)) !== size) {
      // Durable before visible: fsync the data, then rename it under its digest.
      await this.driver.move(dataPath, this.paths.blobData(expected), { syncFirst: true });
    }
    await this.remove(repo, id);
    await this.blobs.link(repo, expected, { claimed: !this.driver.atomicRename });
    return { size };
  }

  /** cancel drops an upload; BLOB_UPLOAD_UNKNOWN when there is none. */
  async cancel(repo: string, id: string): Promise<void> {
    await this.serialise(repo, id, async () => {
      await this.dataSize(repo, id);
      await this.remove(repo, id);
    });
  }

  private async appendLocked(repo: string, id: string, session: Session, body: Readable, range?: ChunkRange): Promise<UploadState> {
    const size = await this.dataSize(repo, id);
    if (range && range.start !== size) {
      body.resume();
      throw new RegistryError('RANGE_INVALID', `chunk starts at ${range.start}, upload has ${size} bytes`, {
        detail: { size },
      });
    }
    if (session.hashed !== size) session.hasher = undefined;
    const hasher = session.hasher;
    let written = 0;
    const out = await this.driver.openAppend(this.paths.uploadData(repo, id));
    try {
      // The hash and the count see each piece as the writer takes it: no stream stage per piece.
      await out.consume(body, (chunk) => {
        hasher?.update(chunk);
        written += chunk.length;
      });
    } catch (err) {
      session.hasher = undefined;
      throw err;
    } finally {
      await out.close();
    }
    if (range && written !== range.end - range.start + 1) {
      // The file now holds what arrived; the client learns the real size from the status.
      session.hasher = undefined;
      throw new RegistryError('RANGE_INVALID', `Content-Range claims ${range.end - range.start + 1} bytes, body had ${written}`, {
        detail: { size: size + written },
      });
    }
    if (hasher) session.hashed = size + written;
    return { id, size: size + written };
  }

  private async dataSize(repo: string, id: string): Promise<number> {
    if (!UPLOAD_ID.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${clip(id)} unknown`);
    try {
      return await this.driver.appendedSize(this.paths.uploadData(repo, id));
    } catch (err) {
      if (err instanceof PathNotFound) {
        this.sessions.delete(key(repo, id));
        throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
      }
      throw err;
    }
  }

  private async remove(repo: string, id: string): Promise<void> {
    this.sessions.delete(key(repo, id));
    await this.driver.deleteIfExists(this.paths.uploadDir(repo, id));
  }

  /** forgetOneIdle drops the oldest session nothing is queued on: all it held was a shortcut (its running hash). */
  private forgetOneIdle(): void {
    for (const [k, s] of this.sessions) {
      if (s.active === 0) {
        this.sessions.delete(k);
        return;
      }
    }
  }

  private serialise<T>(repo: string, id: string, work: (session: Session) => Promise<T>): Promise<T> {
    const k = key(repo, id);
    let session = this.sessions.get(k);
    if (!session) {
      // A session from before a restart (or another process): no running hash, resumed from the file.
      session = { hasher: undefined, hashed: -1, queue: Promise.resolve(), active: 0 };
      if (UPLOAD_ID.test(id)) this.sessions.set(k, session);
    }
    const s = session;
    s.active++;
    const run = s.queue.then(async () => {
      const release = await this.locks?.acquire(k);
      try {
        return await work(s);
      } finally {
        release?.();
        s.active--;
      }
    });
    s.queue = run.catch(() => {});
    if (this.sessions.size > SESSIONS_KEPT) this.forgetOneIdle();
    return run;
  }
}

/** WRITER_RENEW_MS: how often a writer rewrites its lock; one not rewritten for WRITER_STALE_MS is a dead replica's. */
const WRITER_RENEW_MS = 15_000;
const WRITER_STALE_MS = 4 * WRITER_RENEW_MS;

/** takeWriterLock creates the upload's writer lock (If-None-Match: *), taking over a stale one; undefined when another holds it. */
async function takeWriterLock(driver: StorageDriver, paths: StoragePaths, repo: string, id: string): Promise<{ release(): Promise<void> } | undefined> {
  const path = paths.uploadWriter(repo, id);
  const owner = randomUUID();
  if (!(await driver.createExclusive(path, owner))) {
    const held = await driver.stat(path).catch(() => undefined);
    if (held && (await storeNow(driver, paths, paths.uploadDir(repo, id))) - held.mtimeMs < WRITER_STALE_MS) return undefined;
    await driver.deleteIfExists(path);
    if (!(await driver.createExclusive(path, owner))) return undefined;
  }
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = driver.writeFileAtomic(path, owner).catch(() => {});
  }, WRITER_RENEW_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await renewing; // a renewal landing after the delete would leave the lock behind
      const now = await driver.readFile(path).catch(() => undefined);
      if (now?.toString() === owner) await driver.deleteIfExists(path).catch(() => false);
    },
  };
}

function key(repo: string, id: string): string {
  return `${repo}\u0000${id}`;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
