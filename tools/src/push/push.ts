// Pushing a set of single-platform images as one repository's tags: blobs first (HEAD, mount,
// upload; bounded parallel), then manifests, then the tags — a plain manifest for one platform, an
// OCI index (merged with the tag's current platforms) for several. No temporary tags.
import type { ImageContent } from '../layout/layout.js';
import { blobExists, pushBlob, getBlob, type BlobPushResult } from '../client/blobs.js';
import { Limiter, withRetry } from '../client/retry.js';
import { getManifest, headManifest, putManifest } from '../client/manifests.js';
import type { RegistrySession } from '../client/session.js';
import { UploadRecords } from '../client/upload-records.js';
import { readBody } from '../client/transport.js';
import { isIndexMediaType } from '../oci/mediatypes.js';
import { normalizePlatform, platformKey } from '../oci/platform.js';
import type { Descriptor, Platform } from '../oci/manifest.js';
import { digestOf } from '../oci/digest.js';
import { indexBody, indexMediaType, mergedEntries, type ExistingTag } from './multiarch.js';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLock } from '../state/lock.js';
import type { Reporter } from './progress.js';
import type { Tracer } from '../trace/tracer.js';
import { nowMicros } from '../trace/events.js';

/** PushContext is what every push of a run shares. */
export interface PushContext {
  session: RegistrySession;
  reporter: Reporter;
  /** parallel blob uploads */
  jobs: number;
  /** digest → a repository of this registry that holds it (cross-repository mounts within a run) */
  knownBlobs: Map<string, string>;
  /** streamed upload sessions remembered across runs (a killed push resumes); none: every run starts over */
  uploads: UploadRecords | undefined;
  /** push --trace: a span per blob, manifest and repository (absent: nothing is recorded) */
  tracer?: Tracer;
}

/** TagContent is what a tag holds after the push: a manifest, or an index with every platform it lists. */
export interface TagContent {
  digest: string;
  mediaType: string;
  platforms: string[];
}

/** PushResult is what one repository push did (the --json output). */
export interface PushResult {
  repository: string;
  tags: string[];
  /** the manifest (one platform) or index (several) of what this run pushed */
  digest: string;
  mediaType: string;
  /** digest each tag points at afterwards (an index merged with other platforms differs from `digest`) */
  tagDigests: Record<string, string>;
  /** what each tag holds afterwards: digest, media type and platforms (an index merged with platforms already there lists them all) */
  tagged: Record<string, TagContent>;
  /** the platforms this run pushed */
  platforms: string[];
  /** bytes this run put on the wire (a resumed blob counts only what it sent after the offset) */
  bytesSent: number;
  /** bytes of blobs the registry already had (or mounted) */
  bytesSkipped: number;
  /** bytes of uploaded blobs that an earlier, interrupted push had sent (its sessions resumed) */
  bytesResumed: number;
  blobsUploaded: number;
  blobsSkipped: number;
}

/**
 * newPushContext builds a run's context; upload sessions are remembered in the user's cache
 * (UploadRecords.forUser) unless `uploads` says otherwise.
 */
export function newPushContext(
  session: RegistrySession,
  reporter: Reporter,
  jobs = 4,
  uploads: UploadRecords | undefined = UploadRecords.forUser(),
): PushContext {
  return { session, reporter, jobs, knownBlobs: new Map(), uploads };
}

interface BlobStats {
  bytesSent: number;
  bytesSkipped: number;
  bytesResumed: number;
  blobsUploaded: number;
  blobsSkipped: number;
}

/** pushBlobs makes every config and layer of `images` present in `repository`. */
export async function pushBlobs(ctx: PushContext, repository: string, images: ImageContent[]): Promise<BlobStats> {
  const unique = new Map<string, { d: Descriptor; image: ImageContent }>();
  for (const image of images) for (const d of [image.config, ...image.layers]) if (!unique.has(d.digest)) unique.set(d.digest, { d, image });
  const stats: BlobStats = { bytesSent: 0, bytesSkipped: 0, bytesResumed: 0, blobsUploaded: 0, blobsSkipped: 0 };
  // Step 1, exists: every HEAD at once (cheap, and a re-push is then one round trip of HEADs).
  const heads = new Limiter(16);
  const all = [...unique.values()];
  const present = await Promise.all(
    all.map(({ d }) =>
      heads.run(async () => {
        // A blob the registry has is skipped: its span is the HEAD that found it.
        const span = ctx.tracer?.begin(blobSpanName(d.digest), 'blob', { repository, digest: d.digest, size: d.size }, { lane: true });
        const found = await withRetry(() => blobExists(ctx.session, repository, d.digest));
        if (found) span?.end({ how: 'exists', skipped: true, bytesSent: 0 });
        else span?.cancel();
        return found;
      }),
    ),
  );
  const missing: Array<{ d: Descriptor; image: ImageContent }> = [];
  for (const [i, entry] of all.entries()) {
    if (!present[i]) {
      missing.push(entry);
      continue;
    }
    ctx.reporter.blobStart(repository, entry.d.digest, entry.d.size);
    ctx.reporter.blobDone(entry.d.digest, 'exists', entry.d.size);
    ctx.knownBlobs.set(entry.d.digest, repository);
    stats.bytesSkipped += entry.d.size;
    stats.blobsSkipped++;
  }
  // Steps 2-4, mount or upload: bounded, largest first so the long uploads start early.
  const limiter = new Limiter(Math.max(1, ctx.jobs));
  const order = missing.sort((a, b) => b.d.size - a.d.size);
  await Promise.all(
    order.map(({ d, image }) =>
      limiter.run(async () => {
        const source = image.blob(d);
        const from = ctx.knownBlobs.get(d.digest);
        ctx.reporter.blobStart(repository, d.digest, d.size);
        const span = ctx.tracer?.begin(blobSpanName(d.digest), 'blob', { repository, digest: d.digest, size: d.size }, { lane: true });
        const r = await pushBlob(ctx.session, repository, source, {
          skipExists: true,
          mountFrom: from && from !== repository ? [from] : [],
          onProgress: (n) => ctx.reporter.blobProgress(d.digest, n),
          onRetry: (attempt, err) => ctx.reporter.retry(`blob ${d.digest.slice(7, 19)}`, attempt, err),
          uploads: ctx.uploads,
        }).catch((err: unknown) => {
          span?.end({ error: err instanceof Error ? err.message : String(err) });
          throw err;
        });
        if (span) span.end(blobSpanArgs(r, span.started));
        ctx.reporter.blobDone(d.digest, r.how, d.size, r);
        ctx.knownBlobs.set(d.digest, repository);
        if (r.how === 'uploaded') {
          stats.bytesSent += r.bytesSent;
          stats.bytesResumed += r.resumedFrom ?? 0;
          stats.blobsUploaded++;
        } else {
          stats.bytesSkipped += d.size;
          stats.blobsSkipped++;
        }
      }),
    ),
  );
  return stats;
}

/** blobSpanName names a blob's span by the start of its digest, as the progress lines do. */
function blobSpanName(digest: string): string {
  return `blob ${digest.replace(/^sha256:/, '').slice(0, 12)}`;
}

/** blobSpanArgs are what a pushed blob's span tells beside its repository, digest and size. */
function blobSpanArgs(r: BlobPushResult, started: number): Record<string, unknown> {
  const seconds = (nowMicros() - started) / 1e6;
  return {
    how: r.how,
    // mounted: present in another repository of the registry, so nothing was sent either
    skipped: r.how !== 'uploaded',
    bytesSent: r.bytesSent,
    ...(r.how === 'uploaded' && seconds > 0 ? { bytesPerSecond: Math.round(r.bytesSent / seconds) } : {}),
    ...(r.resumedFrom !== undefined ? { resumedFrom: r.resumedFrom } : {}),
  };
}

/** tracedPutManifest is putManifest inside a `manifest` span when the push is traced. */
function tracedPutManifest(ctx: PushContext, repository: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
  const put = () => putManifest(ctx.session, repository, reference, body, mediaType);
  if (!ctx.tracer) return put();
  const args = { repository, reference, digest: digestOf(body), mediaType, size: body.length };
  return ctx.tracer.span(`manifest ${repository}:${reference.startsWith('sha256:') ? reference.slice(0, 19) : reference}`, 'manifest', args, put);
}

/** CONFIG_READ_MAX bounds the read of an image config for its platform (configs are a few KiB). */
const CONFIG_READ_MAX = 4 * 1024 * 1024;

/**
 * configPlatform reads the platform (os, architecture, variant) from an image config in
 * `repository`, a bounded read; undefined for a config too large, unreadable, or without an
 * architecture (an artifact).
 */
export async function configPlatform(session: RegistrySession, repository: string, config: Descriptor): Promise<Platform | undefined> {
  if (config.size >= CONFIG_READ_MAX) return undefined;
  try {
    const res = await getBlob(session, repository, config.digest);
    const cfg = JSON.parse((await readBody(res, CONFIG_READ_MAX)).toString('utf8')) as { os?: string; architecture?: string; variant?: string };
    return typeof cfg.architecture === 'string' && cfg.architecture ? normalizePlatform(cfg) : undefined;
  } catch {
    return undefined;
  }
}

/** existingTag reads what `tag` holds now: an index as is, a plain manifest with its platform. */
export async function existingTag(session: RegistrySession, repository: string, tag: string): Promise<ExistingTag | undefined> {
  const m = await getManifest(session, repository, tag);
  if (!m) return undefined;
  if (isIndexMediaType(m.mediaType)) return { mediaType: m.mediaType, body: m.body, digest: m.digest };
  let platform: Platform | undefined;
  try {
    const doc = JSON.parse(m.body.toString('utf8')) as { config?: Descriptor };
    // An unreadable config (an artifact, say): the tag is replaced, there is no platform to keep.
    if (doc.config) platform = await configPlatform(session, repository, doc.config);
  } catch {
    // not JSON: no platform either
  }
  return { mediaType: m.mediaType, body: m.body, digest: m.digest, platform };
}

/**
 * tagImages points each tag at `images`: one platform → its manifest; more → an index. A tag that
 * already holds other platforms keeps them (merged by os/architecture/variant). After the PUT the
 * tag is read back; if a concurrent push replaced it meanwhile, the merge runs again.
 */
async function tagImages(ctx: PushContext, repository: string, images: ImageContent[], tags: string[]): Promise<Record<string, TagContent>> {
  const ours = images.map((i) => ({ mediaType: i.mediaType, digest: i.manifestDigest, size: i.manifest.length, platform: i.platform }));
  const byDigest = new Map(images.map((i) => [i.manifestDigest, i]));
  const out: Record<string, TagContent> = {};
  const childrenPushed = new Set<string>();
  for (const tag of tags) {
    for (let attempt = 1; ; attempt++) {
      const existing = await existingTag(ctx.session, repository, tag);
      const entries = mergedEntries(ours, existing);
      let body: Buffer;
      let mediaType: string;
      if (entries.length === 1 && byDigest.has(entries[0]!.digest)) {
        const only = byDigest.get(entries[0]!.digest)!;
        body = only.manifest;
        mediaType = only.mediaType;
      } else {
        body = indexBody(entries);
        mediaType = indexMediaType(entries);
      }
      const digest = digestOf(body);
      // An index's manifests go first (registries check them); an unchanged tag already has them.
      if (existing?.digest !== digest && isIndexMediaType(mediaType)) {
        for (const e of entries) {
          const mine = byDigest.get(e.digest);
          if (mine && !childrenPushed.has(e.digest)) {
            await tracedPutManifest(ctx, repository, e.digest, mine.manifest, mine.mediaType);
            childrenPushed.add(e.digest);
          }
        }
      }
      if (existing?.digest !== digest) await tracedPutManifest(ctx, repository, tag, body, mediaType);
      const now = existing?.digest === digest ? digest : (await headManifest(ctx.session, repository, tag))?.digest;
      if (now === digest || now === undefined || attempt >= 4) {
        out[tag] = { digest, mediaType, platforms: entries.map((e) => platformKey(e.platform)) };
        ctx.reporter.tagged(repository, tag, digest);
        break;
      }
      ctx.reporter.info(`  ${repository}:${tag} changed during the push (another push?); merging again`);
    }
  }
  return out;
}

/**
 * tagLockPath names the lock that serializes this machine's pushes to one repository's tags: the
 * read-merge-write of an index must not interleave with another push's (the distribution API has
 * no conditional PUT). Pushes from other machines are caught, where they can be, by the read-back.
 */
export function tagLockPath(registry: string, repository: string, env: NodeJS.ProcessEnv = process.env): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  const key = createHash('sha256').update(`${registry}/${repository}`).digest('hex').slice(0, 32);
  return join(env.XDG_RUNTIME_DIR || tmpdir(), `container-registry-${uid}`, `tags-${key}.lock`);
}

/** ownContent is what a tag gets from `images` alone: the manifest of one platform, or the index of several. */
function ownContent(images: ImageContent[]): TagContent {
  if (images.length === 1) return { digest: images[0]!.manifestDigest, mediaType: images[0]!.mediaType, platforms: [platformKey(images[0]!.platform)] };
  const entries = mergedEntries(
    images.map((i) => ({ mediaType: i.mediaType, digest: i.manifestDigest, size: i.manifest.length, platform: i.platform })),
    undefined,
  );
  return { digest: digestOf(indexBody(entries)), mediaType: indexMediaType(entries), platforms: entries.map((e) => platformKey(e.platform)) };
}

/** tagDigests asks HEAD for what each tag holds now: its digest, or undefined (no such tag, no digest header, an error: the full path decides). */
async function tagDigests(session: RegistrySession, repository: string, tags: string[]): Promise<Array<string | undefined>> {
  return Promise.all(
    tags.map((tag) =>
      headManifest(session, repository, tag).then(
        (h) => h?.digest,
        () => undefined,
      ),
    ),
  );
}

/** pushImageSet pushes `images` (one or several platforms) to `repository` under `tags`. */
export async function pushImageSet(ctx: PushContext, repository: string, images: ImageContent[], tags: string[]): Promise<PushResult> {
  if (!ctx.tracer) return pushImageSetUntraced(ctx, repository, images, tags);
  const span = ctx.tracer.begin(`push ${repository}`, 'repository', { repository, tags });
  try {
    const r = await pushImageSetUntraced(ctx, repository, images, tags);
    span.end({
      digest: r.digest,
      platforms: r.platforms,
      bytesSent: r.bytesSent,
      bytesSkipped: r.bytesSkipped,
      blobsUploaded: r.blobsUploaded,
      blobsSkipped: r.blobsSkipped,
    });
    return r;
  } catch (err) {
    span.end({ error: err instanceof Error ? err.message : String(err) });
    throw err;
  }
}

/** pushImageSetUntraced is pushImageSet's work, without the repository's span. */
async function pushImageSetUntraced(ctx: PushContext, repository: string, images: ImageContent[], tags: string[]): Promise<PushResult> {
  const seen = new Map<string, ImageContent>();
  for (const i of images) {
    const k = platformKey(i.platform);
    const prev = seen.get(k);
    if (prev && prev.manifestDigest !== i.manifestDigest) throw new Error(`${repository}: two different images for platform ${k}`);
    seen.set(k, i);
  }
  const unique = [...seen.values()];
  const own = ownContent(unique);
  // A tag that holds exactly this content already is left as it is (an unchanged re-push): asked
  // with one HEAD per tag while the blobs are checked, instead of reading each tag's manifest and
  // config under the tag lock.
  const [stats, current] = await Promise.all([pushBlobs(ctx, repository, unique), tagDigests(ctx.session, repository, tags)]);
  const unchanged = tags.filter((_, i) => current[i] === own.digest);
  const changed = tags.filter((tag) => !unchanged.includes(tag));
  const tagged: Record<string, TagContent> = {};
  for (const tag of unchanged) {
    tagged[tag] = { digest: own.digest, mediaType: own.mediaType, platforms: own.platforms };
    ctx.reporter.tagged(repository, tag, own.digest);
  }
  if (changed.length) {
    Object.assign(tagged, await withLock(tagLockPath(ctx.session.host, repository), () => tagImages(ctx, repository, unique, changed), 120_000));
  }
  return {
    repository,
    tags,
    digest: own.digest,
    mediaType: own.mediaType,
    tagDigests: Object.fromEntries(tags.map((tag) => [tag, tagged[tag]!.digest])),
    tagged: Object.fromEntries(tags.map((tag) => [tag, tagged[tag]!])),
    platforms: unique.map((i) => platformKey(i.platform)),
    ...stats,
  };
}
