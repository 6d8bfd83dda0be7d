// One blob on its way from an upstream into storage, streamed to every client that asks for it
// meanwhile: one upstream GET however many clients wait (the cache keeps one fill per blob).
//
// The upstream's bytes go, as they arrive, to the storage driver's upload path (uploads.ts: a file,
// or a multipart upload on S3) and to each waiting client's response. The digest is checked at the
// end, before the blob is committed under it: a wrong byte is never stored, and every client's
// response holds back its last chunk until the blob is checked and stored, so a client sees a cut
// connection, never a complete body that is wrong.
//
// Memory stays bounded whatever the clients do: a client that reads slower than the upstream sends
// buffers at most CLIENT_BUFFER_BYTES in its response (less when many share a fill: together at most
// FILL_BUFFER_BYTES); beyond that it is left behind and continues from the stored blob once the fill
// is committed (where it got to), through two 1 MiB buffers like any blob GET. A client that goes away is
// dropped; the fill goes on for the others and for the cache. The first JOIN_WINDOW_BYTES are kept
// so a client arriving just after the first joins live; a later one waits for the stored blob.
import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import type { ImageStore } from '../storage/store.js';
import { formatDigest, newHasher, type Digest } from '../oci/digest.js';
import type { HttpResponse } from '../client/transport.js';
import { sendFileRange } from '../registry/blobs.js';
import { RegistryError } from '../oci/errors.js';

/** CLIENT_BUFFER_BYTES is what one client's response may buffer before it is left to catch up from storage. */
export const CLIENT_BUFFER_BYTES = 8 * 1024 * 1024;
/** FILL_BUFFER_BYTES is what all the clients of one fill may buffer together (each gets its share). */
export const FILL_BUFFER_BYTES = 32 * 1024 * 1024;
/** JOIN_WINDOW_BYTES is how much of the start of a fill is kept for clients that join late. */
export const JOIN_WINDOW_BYTES = 4 * 1024 * 1024;
/** STORE_BUFFER_BYTES is what waits for the storage write (the upstream is read no faster). */
const STORE_BUFFER_BYTES = 1024 * 1024;

/** BlobMismatch is upstream content that is not what its digest says. */
export class BlobMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlobMismatch';
  }
}

type FillState = 'streaming' | 'verified' | 'stored' | 'failed';

/** Feed is one client's response to a fill. */
class Feed {
  /** bytes handed to the response */
  sent = 0;
  private pending: Buffer | undefined;
  behind = false;
  gone = false;
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    readonly res: ServerResponse,
    /** told the bytes sent once the whole blob went out */
    readonly onSent: (bytes: number) => void,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    res.once('close', () => {
      this.gone = true;
      this.finish();
    });
  }

  /** take passes a chunk on, holding the latest back until the digest is checked; `limit` is this client's share of buffer. */
  take(chunk: Buffer, limit: number): void {
    if (this.behind || this.gone) return;
    if (this.pending) this.write(this.pending);
    this.pending = chunk;
    if (this.res.writableLength > limit) {
      // Slower than the upstream: stop buffering; it continues from storage once the blob is there.
      this.behind = true;
      this.pending = undefined;
    }
  }

  private write(chunk: Buffer): void {
    this.res.write(chunk);
    this.sent += chunk.length;
  }

  /** verified sends the held-back chunk and ends a client that kept up (the blob is checked and stored). */
  verified(): boolean {
    if (this.behind || this.gone) return false;
    if (this.pending) this.write(this.pending);
    this.pending = undefined;
    this.res.end();
    return true;
  }

  /** fail cuts the response: the client must not take what it got for the blob. */
  fail(): void {
    this.pending = undefined;
    this.res.destroy();
    this.finish();
  }
}

/** FillOptions say what to fetch and where to keep it. */
export interface FillOptions {
  store: ImageStore;
  /** the repository of ours the blob is linked into */
  repository: string;
  digest: Digest;
  /** the upstream's answer, headers in, body unread */
  response: HttpResponse;
  /** counts bytes as they arrive from the upstream */
  onBytes(n: number): void;
  /** a failure reading the upstream's body (its state) */
  onUpstreamError(err: unknown): void;
  /** one line when something went wrong with the blob (no secret: digests and reasons) */
  log(line: string): void;
}

/** BlobFill is a blob being fetched; `attach` adds a client. */
export class BlobFill {
  /** the blob's size as the upstream announced it (undefined: it sent no Content-Length) */
  readonly size: number | undefined;
  private state: FillState = 'streaming';
  private readonly feeds = new Set<Feed>();
  private head: Buffer[] | undefined = [];
  private received = 0;
  /** settles when the fill is over (stored or failed); never rejects */
  readonly finished: Promise<void>;

  constructor(private readonly o: FillOptions) {
    const length = o.response.headers['content-length'];
    this.size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    this.finished = this.run();
  }

  /** attach streams the blob to `res` (headers written here) and resolves when that response is over. */
  attach(res: ServerResponse, headers: Record<string, string>, onSent: (bytes: number) => void): Promise<void> {
    if (this.state === 'failed') {
      // Nothing sent yet: the client gets an answer, not a cut connection.
      throw new RegistryError('UNKNOWN', `${this.o.repository}: fetching ${formatDigest(this.o.digest)} from the upstream failed; retry`, { status: 502 });
    }
    res.writeHead(200, { ...headers, ...(this.size !== undefined ? { 'Content-Length': String(this.size) } : {}) });
    const feed = new Feed(res, onSent);
    if (this.state === 'streaming' && this.head) {
      for (const chunk of this.head) feed.take(chunk, this.share(1));
    } else {
      feed.behind = true;
    }
    if (this.state === 'stored') void this.fromStorage(feed);
    else {
      this.feeds.add(feed);
      void feed.done.then(() => this.feeds.delete(feed));
    }
    return feed.done;
  }

  /** share is what one client may buffer, with `joining` more clients than the fill has. */
  private share(joining: number): number {
    return Math.min(CLIENT_BUFFER_BYTES, Math.floor(FILL_BUFFER_BYTES / Math.max(1, this.feeds.size + joining)));
  }

  private async run(): Promise<void> {
    const { store, repository, digest, response } = this.o;
    const toStore = new PassThrough({ highWaterMark: STORE_BUFFER_BYTES });
    let uploadId: string | undefined;
    try {
      uploadId = (await store.uploads.create(repository)).id;
      const appended = store.uploads.append(repository, uploadId, toStore);
      appended.catch(() => {});
      const hasher = newHasher(digest.algorithm);
      try {
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          this.received += chunk.length;
          if (this.size !== undefined && this.received > this.size) throw new BlobMismatch(`the upstream sent more than the ${this.size} bytes it announced`);
          hasher.update(chunk);
          this.o.onBytes(chunk.length);
          if (this.head) {
            this.head.push(chunk);
            if (this.received > JOIN_WINDOW_BYTES) this.head = undefined;
          }
          const limit = this.share(0);
          for (const feed of this.feeds) feed.take(chunk, limit);
          if (!toStore.write(chunk)) await Promise.race([once(toStore, 'drain'), appended]);
        }
      } catch (err) {
        if (!(err instanceof BlobMismatch)) this.o.onUpstreamError(err);
        throw err;
      }
      this.head = undefined;
      toStore.end();
      await appended;
      const hex = hasher.digest('hex');
      if (hex !== digest.hex) throw new BlobMismatch(`the upstream's content is ${digest.algorithm}:${hex}, not ${formatDigest(digest)}`);
      if (this.size !== undefined && this.received !== this.size) throw new BlobMismatch(`the upstream sent ${this.received} of ${this.size} bytes`);
      // Verified and stored (visible under its digest) before any client has the whole blob: one
      // that asks again at once finds it here.
      this.state = 'verified';
      await store.uploads.commit(repository, uploadId, digest);
      uploadId = undefined;
      this.state = 'stored';
      for (const feed of this.feeds) {
        if (feed.verified()) feed.onSent(this.received);
        else if (feed.behind && !feed.gone) void this.fromStorage(feed);
      }
    } catch (err) {
      this.state = 'failed';
      this.head = undefined;
      toStore.destroy();
      response.body.destroy();
      if (uploadId) await store.uploads.cancel(repository, uploadId).catch(() => {});
      this.o.log(`cache: ${repository}@${formatDigest(digest)} not stored: ${(err as Error)?.message ?? String(err)}`);
      for (const feed of this.feeds) feed.fail();
    }
  }

  /** fromStorage sends a client that fell behind the rest, from where it got to, out of the stored blob. */
  private async fromStorage(feed: Feed): Promise<void> {
    const { store, digest } = this.o;
    try {
      if (feed.res.writableNeedDrain) await Promise.race([once(feed.res, 'drain'), feed.done]);
      const size = await store.blobs.size(digest);
      if (size === undefined || feed.gone) throw new Error('gone');
      const reader = await store.blobs.openReader(digest);
      try {
        await sendFileRange(feed.res, reader, feed.sent, size - feed.sent, () => feed.onSent(size));
      } finally {
        await reader.close().catch(() => {});
      }
    } catch {
      feed.fail();
    }
  }
}
