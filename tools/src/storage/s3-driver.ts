// The S3 driver: distribution's tree in a bucket, under the keys of distribution's own S3 driver
// (`<prefix>/docker/registry/v2/...`), through the official AWS SDK v3. This module is imported only
// when the storage is an s3:// URL (open-driver.ts), so the SDK is in its own chunks of the bundle.
//
// Paths are the same absolute paths as on a filesystem (paths.ts, under the local state directory);
// a path's key is its place under the state directory, after the prefix.
//
// An object store has no append, no rename and no folders, so:
// - An upload's data (the appendable file, driver.ts) is a multipart upload on the data key, in
//   parts of PART_SIZE, plus a tail object `<data>.tail-<n>` holding the bytes after the n parts:
//   S3 refuses parts under 5 MiB but the last, and a chunked PATCH may be any size. A PATCH reads
//   the tail back (at most PART_SIZE), streams on, uploads each full part as it fills (one at a time,
//   the body paused meanwhile: memory stays at about two parts per upload) and writes the new tail;
//   a tail named for another part count is stale (a crash between a part and its tail). All of it is
//   in the bucket, so an upload resumes on any replica after any restart. finishAppend copies the
//   tail in as the last part (server side) and completes the upload; the digest is then verified
//   (uploads.ts) before the data is copied under its digest.
// - touch writes a small `<path>.touched` object beside the file; stat and walk read the newer of
//   the two times, so gc's grace period counts from the last use without copying the blob. The
//   record stays at its name when gc renames the file aside (usedAt reads it there).
// - move and rename copy, then delete: not atomic, unlike rename(2) (docs/storage-s3.md "Several
//   replicas" says what gc and replicas rely on instead: uses recorded before they look, a lease).
//
// Known quirks of Ceph's RADOS Gateway (pacific) handled here: CompleteMultipartUpload answers an
// empty ETag (nothing here needs it; HeadObject tells it), and the SDK's default request checksums
// must be off (WHEN_REQUIRED) for streamed bodies.
import { relative, sep } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type Part,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { PathNotFound, type AppendSink, type PendingMultipart, type FileInfo, type FileReader, type StorageDriver, type WalkedFile } from './driver.js';
import type { ObjectStoreLocation } from './object-store-url.js';

/** PART_SIZE is the size of every multipart part but the last (S3's minimum is 5 MiB). */
export const PART_SIZE = 8 * 1024 * 1024;
/** COPY_MAX is the largest object one CopyObject copies; larger ones are copied part by part. */
const COPY_MAX = 5 * 1024 * 1024 * 1024;
const COPY_PART = 1024 * 1024 * 1024;
const TOUCHED = '.touched';
const TAIL = /\.tail-(\d+)$/;

/** rfc3986 escapes as SigV4's canonical form does (encodeURIComponent leaves !'()* alone). */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.name === 'NoSuchUpload' || e?.$metadata?.httpStatusCode === 404;
}

/** S3Driver keeps distribution's tree in a bucket (see above). */
export class S3Driver implements StorageDriver {
  readonly kind = 's3';
  readonly atomicRename = false;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly endpoint: URL;
  private readonly pathStyle: boolean;
  private readonly redirectSeconds: number | undefined;
  private signer: SignatureV4 | undefined;

  /** storageDir: the local state directory the paths are built under (paths.ts). */
  constructor(
    private readonly storageDir: string,
    location: ObjectStoreLocation,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    // The pinned SDK supports Node 20; its notice about later releases is no business of a registry's log.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.bucket = location.bucket;
    this.prefix = location.prefix;
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
    this.pathStyle = location.pathStyle ?? endpoint !== undefined;
    this.endpoint = new URL(endpoint ?? `https://s3.${region}.amazonaws.com`);
    this.redirectSeconds = location.redirectSeconds;
    // Endpoint, region and credentials come from the SDK's usual chain (AWS_* variables, the shared
    // config and credentials files); only path-style needs a default: on for a custom endpoint.
    this.client = new S3Client({
      ...(endpoint ? { endpoint } : {}),
      region,
      forcePathStyle: this.pathStyle,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** key is the object key of a path under the storage directory. */
  key(path: string): string {
    const rel = relative(this.storageDir, path).split(sep).join('/');
    if (rel === '' || rel.startsWith('..')) throw new Error(`path outside the storage: ${path}`);
    return this.prefix ? `${this.prefix}/${rel}` : rel;
  }

  private pathOf(key: string): string {
    const rel = this.prefix ? key.slice(this.prefix.length + 1) : key;
    return `${this.storageDir}/${rel}`;
  }

  async warm(): Promise<void> {}

  async readFile(path: string): Promise<Buffer> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (isMissing(err)) throw new PathNotFound(path, { cause: err });
      throw err;
    }
  }

  private async getBody(path: string, range?: string): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path), Range: range }));
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw new PathNotFound(path, { cause: err });
      throw err;
    }
  }

  readStream(path: string, range?: { start: number; end: number }): Readable {
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    this.getBody(path, range ? `bytes=${range.start}-${range.end}` : undefined).then(
      (body) => {
        body.on('error', (err) => out.destroy(err));
        out.on('close', () => body.destroy());
        body.pipe(out);
      },
      (err) => out.destroy(err),
    );
    return out;
  }

  /** openReader serves sequential reads from one ranged GET, opening another only when a read jumps. */
  async openReader(path: string): Promise<FileReader> {
    await this.stat(path);
    let body: Readable | undefined;
    let chunks: AsyncIterator<Buffer> | undefined;
    let left: Buffer | undefined;
    let at = -1;
    const drop = () => {
      body?.destroy();
      body = undefined;
      chunks = undefined;
      left = undefined;
    };
    return {
      read: async (buffer, length, position) => {
        if (position !== at || !chunks) {
          drop();
          body = await this.getBody(path, `bytes=${position}-`);
          chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
          at = position;
        }
        let n = 0;
        while (n < length) {
          if (!left || left.length === 0) {
            const next = await chunks.next();
            if (next.done) break;
            left = next.value;
          }
          const take = Math.min(length - n, left.length);
          left.copy(buffer, n, 0, take);
          left = left.subarray(take);
          n += take;
        }
        at += n;
        return n;
      },
      close: async () => drop(),
    };
  }

  private async head(key: string): Promise<{ size: number; mtimeMs: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, mtimeMs: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async stat(path: string): Promise<FileInfo> {
    const key = this.key(path);
    const [file, touched] = await Promise.all([this.head(key), this.head(key + TOUCHED)]);
    if (file) return { size: file.size, mtimeMs: Math.max(file.mtimeMs, touched?.mtimeMs ?? 0), isDirectory: false };
    // A "folder": some key below it; its time is the newest of the first page's.
    const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${key}/`, MaxKeys: 100 }));
    if (!out.Contents?.length) throw new PathNotFound(path);
    return { size: 0, mtimeMs: Math.max(...out.Contents.map((c) => c.LastModified?.getTime() ?? 0)), isDirectory: true };
  }

  async exists(path: string): Promise<boolean> {
    return this.stat(path).then(
      () => true,
      (err) => {
        if (err instanceof PathNotFound) return false;
        throw err;
      },
    );
  }

  async writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
    // A PUT is atomic: readers see the old object or the new one.
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(path), Body: data }));
  }

  private async *listKeys(prefix: string, delimiter?: string): AsyncIterable<{ key?: string; folder?: string; size: number; mtimeMs: number }> {
    let token: string | undefined;
    do {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }));
      for (const p of out.CommonPrefixes ?? []) if (p.Prefix) yield { folder: p.Prefix, size: 0, mtimeMs: 0 };
      for (const c of out.Contents ?? []) if (c.Key) yield { key: c.Key, size: c.Size ?? 0, mtimeMs: c.LastModified?.getTime() ?? 0 };
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async list(path: string): Promise<string[]> {
    const prefix = `${this.key(path)}/`;
    const names = new Set<string>();
    for await (const e of this.listKeys(prefix, '/')) {
      const name = e.folder ? e.folder.slice(prefix.length, -1) : e.key!.slice(prefix.length);
      if (name && !name.endsWith(TOUCHED) && !TAIL.test(name)) names.add(name);
    }
    return [...names].sort();
  }

  async *walk(dir: string, wanted?: (name: string) => boolean): AsyncIterable<WalkedFile> {
    // Keys come sorted, so `<file>.touched` follows `<file>` (or what sorts between them).
    const touched = new Map<string, number>();
    const found: WalkedFile[] = [];
    for await (const e of this.listKeys(`${this.key(dir)}/`)) {
      const key = e.key!;
      if (key.endsWith(TOUCHED)) {
        touched.set(key.slice(0, -TOUCHED.length), e.mtimeMs);
        continue;
      }
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (wanted && !wanted(name)) continue;
      found.push({ path: this.pathOf(key), size: e.size, mtimeMs: e.mtimeMs });
      if (found.length >= 1000) yield* this.flushWalk(found.splice(0), touched);
    }
    yield* this.flushWalk(found, touched);
  }

  private *flushWalk(files: WalkedFile[], touched: Map<string, number>): Iterable<WalkedFile> {
    for (const f of files) {
      const t = touched.get(this.key(f.path));
      yield t === undefined ? f : { ...f, mtimeMs: Math.max(f.mtimeMs, t) };
    }
  }

  /** keysUnder lists the object at `path` and every object below it as a folder. */
  private async keysUnder(path: string): Promise<Array<{ key: string; size: number }>> {
    const key = this.key(path);
    const out: Array<{ key: string; size: number }> = [];
    for (const k of [key, key + TOUCHED]) {
      const h = await this.head(k);
      if (h) out.push({ key: k, size: h.size });
    }
    for await (const e of this.listKeys(`${key}/`)) out.push({ key: e.key!, size: e.size });
    return out;
  }

  private async copy(from: string, to: string, size: number): Promise<void> {
    const source = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    if (size <= COPY_MAX) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }));
    const parts: Part[] = [];
    for (let start = 0, n = 1; start < size; start += COPY_PART, n++) {
      const end = Math.min(size, start + COPY_PART) - 1;
      const out = await this.client.send(
        new UploadPartCopyCommand({ Bucket: this.bucket, Key: to, UploadId, PartNumber: n, CopySource: source, CopySourceRange: `bytes=${start}-${end}` }),
      );
      parts.push({ PartNumber: n, ETag: out.CopyPartResult?.ETag });
    }
    await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId, MultipartUpload: { Parts: parts } }));
  }

  async move(from: string, to: string): Promise<void> {
    await this.moveKeys(from, to, await this.keysUnder(from));
  }

  private async moveKeys(from: string, to: string, keys: Array<{ key: string; size: number }>): Promise<void> {
    if (keys.length === 0) throw new PathNotFound(from);
    const fromKey = this.key(from);
    const toKey = this.key(to);
    for (const k of keys) await this.copy(k.key, toKey + k.key.slice(fromKey.length), k.size);
    await this.deleteKeys(keys.map((k) => k.key));
  }

  /** rename moves what is at `from` but its touch record, which stays with the name (gc reads it: usedAt). */
  async rename(from: string, to: string): Promise<boolean> {
    try {
      if (await this.exists(to)) return false;
      const record = this.key(from) + TOUCHED;
      await this.moveKeys(
        from,
        to,
        (await this.keysUnder(from)).filter((k) => k.key !== record),
      );
      return true;
    } catch {
      return false;
    }
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      if (batch.length === 1) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: batch[0] }));
      else await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
  }

  async delete(path: string): Promise<void> {
    if (!(await this.deleteIfExists(path))) throw new PathNotFound(path);
  }

  async deleteIfExists(path: string): Promise<boolean> {
    const key = this.key(path);
    // An upload folder may hold a multipart upload too: abort it, or its parts would be kept (and billed).
    if (key.includes('/_uploads/')) {
      for (const u of await this.multipartUploads(key)) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.key, UploadId: u.id })).catch(() => {});
      }
    }
    const keys = await this.keysUnder(path);
    await this.deleteKeys(keys.map((k) => k.key));
    return keys.some((k) => !k.key.endsWith(TOUCHED));
  }

  /** removeEmptyFolder drops what a folder of nothing but `.touched` marks still holds (a deleted blob's). */
  async removeEmptyFolder(path: string): Promise<void> {
    const keys: string[] = [];
    for await (const e of this.listKeys(`${this.key(path)}/`)) {
      if (!e.key!.endsWith(TOUCHED)) return;
      keys.push(e.key!);
    }
    await this.deleteKeys(keys);
  }

  /**
   * touch writes the touch record without looking first: a use records itself before it looks
   * (blobs.ts claim), so the record must not depend on the file being there at that moment.
   */
  async touch(path: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(path) + TOUCHED, Body: '' }));
  }

  async usedAt(path: string): Promise<number | undefined> {
    const key = this.key(path);
    const times = (await Promise.all([this.head(key), this.head(key + TOUCHED)])).filter((h) => h !== undefined).map((h) => h.mtimeMs);
    return times.length ? Math.max(...times) : undefined;
  }

  /** createExclusive is a PutObject with If-None-Match: * (RADOS Gateway and AWS S3 both refuse it with 412 when the key exists). */
  async createExclusive(path: string, data: string): Promise<boolean> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(path), Body: data, IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409) return false;
      throw err;
    }
  }

  async stamp(path: string): Promise<boolean> {
    const dir = path.slice(0, path.lastIndexOf('/'));
    const inside = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.key(dir)}/`, MaxKeys: 1 }));
    if (!inside.Contents?.length) return false;
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(path), Body: '' }));
    return true;
  }

  async mkdirp(_path: string): Promise<void> {}

  /** createFiles creates each with If-None-Match: * (exclusive, as O_EXCL); one that exists fails all, and those made are removed. */
  async createFiles(_dir: string, files: Array<[path: string, content: string]>): Promise<void> {
    const made: string[] = [];
    for (const [path, content] of files) {
      if (!(await this.createExclusive(path, content))) {
        await this.deleteKeys(made).catch(() => {});
        throw Object.assign(new Error(`file exists: ${path}`), { code: 'EEXIST' });
      }
      made.push(this.key(path));
    }
  }

  private async multipartUploads(prefix: string): Promise<Array<{ key: string; id: string; initiated: number }>> {
    const out: Array<{ key: string; id: string; initiated: number }> = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: idMarker }),
      );
      for (const u of page.Uploads ?? []) if (u.Key && u.UploadId) out.push({ key: u.Key, id: u.UploadId, initiated: u.Initiated?.getTime() ?? 0 });
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      idMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return out;
  }

  async pendingMultipart(dir: string): Promise<PendingMultipart[]> {
    return (await this.multipartUploads(`${this.key(dir)}/`)).map((u) => ({ path: this.pathOf(u.key), id: u.id, startedAt: u.initiated }));
  }

  async abortMultipart(upload: PendingMultipart): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(upload.path), UploadId: upload.id }));
  }

  /** appendState reads an appendable file's state: its multipart upload and parts, and its tail. */
  private async appendState(path: string): Promise<AppendState> {
    const key = this.key(path);
    const marker = await this.head(key);
    if (!marker) throw new PathNotFound(path);
    // The oldest upload on the key is the one: another would be a racing first PATCH's, never used.
    const upload = (await this.multipartUploads(key)).filter((u) => u.key === key).sort((a, b) => a.initiated - b.initiated)[0];
    const parts: Part[] = [];
    if (upload) {
      let marker: string | undefined;
      do {
        const page = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: upload.id, PartNumberMarker: marker }));
        parts.push(...(page.Parts ?? []));
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    }
    const tailKey = `${key}.tail-${parts.length}`;
    const tail = await this.head(tailKey);
    const inParts = parts.reduce((n, p) => n + (p.Size ?? 0), 0);
    // Neither upload nor tail: an empty upload, or one finishAppend completed already.
    const size = upload || tail ? inParts + (tail?.size ?? 0) : marker.size;
    return { key, uploadId: upload?.id, parts, tailKey, tailSize: tail?.size ?? 0, size };
  }

  async appendedSize(path: string): Promise<number> {
    return (await this.appendState(path)).size;
  }

  async openAppend(path: string): Promise<AppendSink> {
    const state = await this.appendState(path);
    const tail = state.tailSize > 0 ? await this.readKey(state.tailKey) : Buffer.alloc(0);
    return new MultipartAppender(this.client, this.bucket, state, tail);
  }

  private async readKey(key: string): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async finishAppend(path: string): Promise<void> {
    const state = await this.appendState(path);
    const source = (key: string) => `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    if (state.uploadId) {
      const parts = state.parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag }));
      if (state.tailSize > 0) {
        const n = parts.length + 1;
        const out = await this.client.send(
          new UploadPartCopyCommand({ Bucket: this.bucket, Key: state.key, UploadId: state.uploadId, PartNumber: n, CopySource: source(state.tailKey) }),
        );
        parts.push({ PartNumber: n, ETag: out.CopyPartResult?.ETag });
      }
      // Ceph answers an empty ETag here; nothing below needs it.
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: state.key, UploadId: state.uploadId, MultipartUpload: { Parts: parts } }),
      );
    } else if (state.tailSize > 0) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: state.key, CopySource: source(state.tailKey) }));
    }
    const tails: string[] = [];
    for await (const e of this.listKeys(`${state.key}.tail-`)) tails.push(e.key!);
    await this.deleteKeys(tails);
  }

  async checkWritable(dir: string): Promise<void> {
    const key = `${this.key(`${dir}/.readyz`)}-${process.pid}-${Date.now()}`;
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: 'ok' }));
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async freeBytes(): Promise<undefined> {
    return undefined;
  }

  /**
   * redirectUrl presigns a GET of the object (SigV4 in the query, UNSIGNED-PAYLOAD, valid for the
   * storage URL's redirect-expires), with the client's own credentials, region and hash; undefined
   * unless the storage URL asks for redirects. The URL carries the access key id, as every presigned
   * URL does, never the secret.
   */
  async redirectUrl(path: string): Promise<string | undefined> {
    if (this.redirectSeconds === undefined) return undefined;
    const config = this.client.config;
    this.signer ??= new SignatureV4({
      credentials: config.credentials,
      region: await config.region(),
      service: 's3',
      sha256: config.sha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
    const e = this.endpoint;
    const hostname = this.pathStyle ? e.hostname : `${this.bucket}.${e.hostname}`;
    const key = this.key(path).split('/').map(rfc3986).join('/');
    const base = e.pathname.replace(/\/+$/, '');
    const signed = await this.signer.presign(
      {
        method: 'GET',
        protocol: e.protocol,
        hostname,
        ...(e.port ? { port: Number(e.port) } : {}),
        path: `${base}${this.pathStyle ? `/${rfc3986(this.bucket)}` : ''}/${key}`,
        query: {},
        headers: { host: e.port ? `${hostname}:${e.port}` : hostname, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { expiresIn: this.redirectSeconds },
    );
    const query = Object.entries(signed.query ?? {})
      .map(([k, v]) => `${rfc3986(k)}=${rfc3986(String(v))}`)
      .join('&');
    return `${e.protocol}//${signed.headers.host}${signed.path}?${query}`;
  }

  /** destroy closes the client's connections. */
  destroy(): void {
    this.client.destroy();
  }
}

interface AppendState {
  key: string;
  uploadId: string | undefined;
  parts: Part[];
  tailKey: string;
  tailSize: number;
  size: number;
}

/** MultipartAppender streams one body into an upload's parts and tail (see the top of this file). */
class MultipartAppender implements AppendSink {
  private pending: Buffer[];
  private pendingBytes: number;
  private partCount: number;
  private uploadId: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly state: AppendState,
    tail: Buffer,
  ) {
    this.pending = tail.length ? [tail] : [];
    this.pendingBytes = tail.length;
    this.partCount = state.parts.length;
    this.uploadId = state.uploadId;
  }

  async consume(body: Readable, onChunk: (chunk: Buffer) => void): Promise<void> {
    // One part at a time: the body waits while a full part goes out, so memory stays bounded.
    for await (const chunk of body as AsyncIterable<Buffer>) {
      onChunk(chunk);
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      while (this.pendingBytes >= PART_SIZE) await this.uploadPart();
    }
    await finished(body).catch(() => {});
  }

  private async uploadPart(): Promise<void> {
    const all = Buffer.concat(this.pending, this.pendingBytes);
    const part = all.subarray(0, PART_SIZE);
    const rest = all.subarray(PART_SIZE);
    if (!this.uploadId) {
      const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.state.key }));
      this.uploadId = out.UploadId;
    }
    const n = this.partCount + 1;
    await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.state.key, UploadId: this.uploadId, PartNumber: n, Body: part }));
    // Only now are these bytes in the bucket; until then they stayed pending (a failure keeps them for the tail).
    this.partCount = n;
    this.pending = rest.length ? [Buffer.from(rest)] : [];
    this.pendingBytes = rest.length;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const tailKey = `${this.state.key}.tail-${this.partCount}`;
      if (this.pendingBytes > 0) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: tailKey, Body: Buffer.concat(this.pending, this.pendingBytes) }));
      }
      // A tail of an older part count is stale now (its bytes went into a part).
      if (this.partCount !== this.state.parts.length && this.state.tailSize > 0) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.state.tailKey })).catch(() => {});
      }
    })();
    return this.closing;
  }
}
