// The web UI's JSON API under /ui/api/: one request per page, shaped for display (an image page
// needs the manifest, the config blob and the referrers; the API reads them server-side). Every
// call goes through the same access policy as /v2/; deleting a tag needs the `delete` right.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageStore } from '../storage/store.js';
import type { StatsCache } from '../storage/stats.js';
import type { Descriptor, ParsedManifest } from '../oci/manifest.js';
import { MEDIA_TYPES } from '../oci/mediatypes.js';
import type { AccessCheck } from './dispatch.js';
import type { RequestTarget } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { formatDigest, parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { assertRepositoryName } from '../oci/names.js';
import { namesAfter, tagFolderNames } from '../storage/tags.js';
import { mapLimited, takeInOrder } from '../common/bounded.js';
import { manifestEvent, requestInfo, type RegistryEvents } from './events.js';
import { sendJson } from './respond.js';
import { supplyChainView, type SupplySubject } from './ui-supply.js';

/** UiApiDeps are what the UI API reads and tells. */
export interface UiApiDeps {
  store: ImageStore;
  stats: StatsCache;
  events: RegistryEvents;
}

/** The OCI labels a build sets, shown first on the image page. */
const PROMINENT_LABELS = [
  'org.opencontainers.image.version',
  'org.opencontainers.image.revision',
  'org.opencontainers.image.ref.name',
  'org.opencontainers.image.source',
  'org.opencontainers.image.created',
  'org.opencontainers.image.title',
];

/** MAX_CONFIG_BYTES caps the config blob the API reads for display, whatever its descriptor says. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** MAX_TAGS_EXAMINED caps the tags the image call resolves to find those pointing at the image. */
const MAX_TAGS_EXAMINED = 1000;

/** MAX_TAGS_HERE caps the tags the image call lists as pointing at the image. */
const MAX_TAGS_HERE = 100;

/** MAX_INDEX_CHILDREN caps the child manifests the image call reads to size an index's platforms. */
const MAX_INDEX_CHILDREN = 64;

/** MAX_CHILD_MANIFEST_BYTES caps each child manifest read for that (on disk; an image's is a few KiB). */
const MAX_CHILD_MANIFEST_BYTES = 1024 * 1024;

/** IMAGE_CONFIG_TYPES are the config media types of images (OCI, Docker): no artifact type of their own. */
const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociConfig, MEDIA_TYPES.dockerConfig]);

function param(url: RequestTarget, name: string): string {
  const v = url.searchParams.get(name);
  if (v === null || v === '') throw new RegistryError('UNSUPPORTED', `query parameter ${name} is required`, { status: 400 });
  return v;
}

function repositoryParam(url: RequestTarget): string {
  const name = param(url, 'repository');
  assertRepositoryName(name);
  return name;
}

async function repositories(deps: UiApiDeps, req: IncomingMessage, res: ServerResponse, access: AccessCheck): Promise<void> {
  await access.authorize('catalog');
  // Like _catalog: only what the asker may pull, and only repositories with a tag or a manifest.
  const all = await deps.store.catalog();
  const visible = await takeInOrder(all, undefined, async (name) => ((await access.may('pull', name)) ? name : undefined));
  // Tag folders counted, not resolved: a repository of 13,000 tags costs one readdir here.
  const list = await takeInOrder(visible, undefined, async (name) => ({ name, tags: (await tagFolderNames(deps.store, name)).length }));
  const stats = await deps.stats.get();
  const tags = list.reduce((sum, r) => sum + r.tags, 0);
  sendJson(req, res, 200, { repositories: list, stats: { bytes: stats.bytes, blobs: stats.blobs, tags } }, { 'Cache-Control': 'no-store' });
}

async function tags(deps: UiApiDeps, req: IncomingMessage, res: ServerResponse, url: RequestTarget, access: AccessCheck): Promise<void> {
  const repository = repositoryParam(url);
  await access.authorize('pull', repository);
  if (!(await deps.store.manifests.exists(repository))) throw new RegistryError('NAME_UNKNOWN', `repository ${repository} not known to registry`);
  // Filter and page the tag folder names, then resolve only as many as the page shows (and one
  // more, for `next`); `total` counts folders, so it may include a tag that no longer resolves.
  const all = await tagFolderNames(deps.store, repository);
  const n = Math.min(500, Math.max(1, Number(url.searchParams.get('n')) || 50));
  const filter = (url.searchParams.get('q') ?? '').toLowerCase();
  const matching = filter ? all.filter((t) => t.toLowerCase().includes(filter)) : all;
  const rows = await takeInOrder(namesAfter(matching, url.searchParams.get('last') || undefined), n + 1, async (tag) => {
    const d = await deps.store.manifests.resolve(repository, tag);
    if (!d) return undefined;
    try {
      const m = await deps.store.manifests.get(repository, formatDigest(d));
      return { tag, digest: formatDigest(m.digest), mediaType: m.parsed.mediaType, isIndex: m.parsed.isIndex, size: m.body.length };
    } catch {
      return { tag, digest: '', mediaType: '', isIndex: false, size: 0 };
    }
  });
  const page = rows.slice(0, n);
  sendJson(
    req,
    res,
    200,
    {
      repository,
      total: matching.length,
      tags: page,
      next: rows.length > n ? page[page.length - 1]!.tag : null,
      mayDelete: await access.may('delete', repository),
    },
    { 'Cache-Control': 'no-store' },
  );
}

interface ImageConfigView {
  created?: string;
  architecture?: string;
  os?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  exposedPorts?: string[];
  labels: Record<string, string>;
}

/**
 * readBounded reads blob `d` when it holds at most `max` bytes, and undefined otherwise: the size
 * on disk decides, not what a descriptor claims, and no more than `max` + 1 bytes are ever read.
 */
async function readBounded(store: ImageStore, d: Digest, max: number): Promise<Buffer | undefined> {
  const size = await store.blobs.size(d);
  if (size === undefined || size > max) return undefined;
  const chunks: Buffer[] = [];
  let total = 0;
  // An inclusive range: one byte past the cap tells a blob that grew since the stat.
  for await (const chunk of store.blobs.open(d, { start: 0, end: max })) {
    total += (chunk as Buffer).length;
    if (total > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** stringMap keeps the string values of a JSON object, in an object with no prototype. */
function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

async function readConfig(store: ImageStore, config: Descriptor | undefined): Promise<ImageConfigView | undefined> {
  if (!config || config.size > MAX_CONFIG_BYTES) return undefined;
  try {
    const data = await readBounded(store, parseDigest(config.digest), MAX_CONFIG_BYTES);
    if (!data) return undefined;
    const doc = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    if (!doc || typeof doc !== 'object') return undefined;
    const c = (doc.config && typeof doc.config === 'object' ? doc.config : {}) as Record<string, unknown>;
    const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined);
    return {
      created: typeof doc.created === 'string' ? doc.created : undefined,
      architecture: typeof doc.architecture === 'string' ? doc.architecture : undefined,
      os: typeof doc.os === 'string' ? doc.os : undefined,
      entrypoint: strings(c.Entrypoint),
      cmd: strings(c.Cmd),
      env: strings(c.Env),
      workingDir: typeof c.WorkingDir === 'string' && c.WorkingDir ? c.WorkingDir : undefined,
      user: typeof c.User === 'string' && c.User ? c.User : undefined,
      exposedPorts: c.ExposedPorts && typeof c.ExposedPorts === 'object' ? Object.keys(c.ExposedPorts) : undefined,
      labels: stringMap(c.Labels),
    };
  } catch {
    // Not JSON (an artifact's config), or gone: show the descriptor only.
    return undefined;
  }
}

/**
 * artifactTypeOf is the artifact type the page shows: the manifest's artifactType field, else its
 * config's media type unless that is an image config (an image is no artifact). Undefined for images.
 */
function artifactTypeOf(m: ParsedManifest): string | undefined {
  const t = m.artifactType;
  return t && !IMAGE_CONFIG_TYPES.has(t) ? t : undefined;
}

/** ChildSize is what reading one child manifest of an index tells: its blobs, or nothing (not read). */
type ChildSize = { bytes: number; blobs: Descriptor[] } | undefined;

/**
 * childSizes reads the first MAX_INDEX_CHILDREN child manifests of an index (each at most
 * MAX_CHILD_MANIFEST_BYTES on disk, a few at a time) for their config and layers. A child that is
 * not in the repository, too large, not an image manifest or unreadable gives undefined.
 */
async function childSizes(store: ImageStore, repository: string, children: readonly Descriptor[]): Promise<ChildSize[]> {
  return mapLimited(children.slice(0, MAX_INDEX_CHILDREN), 8, async (child): Promise<ChildSize> => {
    try {
      const d = await store.manifests.resolve(repository, child.digest);
      if (!d) return undefined;
      const body = await readBounded(store, d, MAX_CHILD_MANIFEST_BYTES);
      if (!body) return undefined;
      const parsed = store.manifests.parse(d, body);
      if (parsed.isIndex) return undefined;
      return { bytes: body.length, blobs: parsed.blobs };
    } catch {
      return undefined;
    }
  });
}

/**
 * indexSizes gives each platform's image size (its config and layers) and the index's total: its
 * own bytes, its children's manifests and every blob they name, a blob shared by platforms counted
 * once. `complete` is false when a child could not be sized (then the total is a lower bound).
 */
async function indexSizes(
  store: ImageStore,
  repository: string,
  indexBytes: number,
  children: readonly Descriptor[],
): Promise<{ perChild: Array<number | null>; total: number; complete: boolean }> {
  const read = await childSizes(store, repository, children);
  const blobs = new Map<string, number>();
  let total = indexBytes;
  let complete = true;
  const perChild = children.map((child, i) => {
    const r = read[i];
    total += child.size;
    if (!r) {
      complete = false;
      return null;
    }
    for (const b of r.blobs) blobs.set(b.digest, b.size);
    return r.blobs.reduce((sum, b) => sum + b.size, 0);
  });
  for (const size of blobs.values()) total += size;
  return { perChild, total, complete };
}

/**
 * tagsPointingAt finds the tags of `repository` that point at `digest`: the first
 * MAX_TAGS_EXAMINED tag folders in lexical order are resolved (a few at a time), and at most
 * MAX_TAGS_HERE tags listed; `truncated` says that a cap cut the search short.
 */
async function tagsPointingAt(store: ImageStore, repository: string, digest: string): Promise<{ tags: string[]; truncated: boolean }> {
  const names = await tagFolderNames(store, repository);
  const examined = names.slice(0, MAX_TAGS_EXAMINED);
  const found = await takeInOrder(examined, MAX_TAGS_HERE + 1, async (tag) => {
    const d = await store.manifests.resolve(repository, tag).catch(() => undefined);
    return d && formatDigest(d) === digest ? tag : undefined;
  });
  return { tags: found.slice(0, MAX_TAGS_HERE), truncated: found.length > MAX_TAGS_HERE || names.length > examined.length };
}

async function image(deps: UiApiDeps, req: IncomingMessage, res: ServerResponse, url: RequestTarget, access: AccessCheck): Promise<void> {
  const repository = repositoryParam(url);
  const reference = param(url, 'reference');
  await access.authorize('pull', repository);
  const m = await deps.store.manifests.get(repository, reference);
  const digest = formatDigest(m.digest);
  const config = m.parsed.isIndex ? undefined : await readConfig(deps.store, m.parsed.config);
  const layers = m.parsed.isIndex ? [] : m.parsed.blobs.filter((b) => b !== m.parsed.config);
  // An index's size is its platforms' images (read from the child manifests), not its own bytes.
  const sized = m.parsed.isIndex ? await indexSizes(deps.store, repository, m.body.length, m.parsed.manifests) : undefined;
  const totalSize = sized ? sized.total : m.body.length + m.parsed.blobs.reduce((sum, b) => sum + b.size, 0);
  const labels = config?.labels ?? stringMap(undefined);
  // An index carries its metadata as annotations; show those the same way.
  const annotations = stringMap(m.parsed.annotations);
  const prominent: Record<string, string> = {};
  for (const key of PROMINENT_LABELS) {
    // An empty value (buildah writes some) says nothing: the other source, or nothing.
    const v = labels[key] || annotations[key];
    if (v) prominent[key] = v;
  }
  const referrers = await deps.store.referrers(repository, m.digest).catch(() => [] as Descriptor[]);
  // SBOM and provenance: push attaches them to each platform's manifest, so an index's page reads its platforms' too.
  const subjects: SupplySubject[] = [{ digest, platform: null, referrers }];
  for (const child of m.parsed.manifests.slice(0, MAX_INDEX_CHILDREN)) {
    const d = tryParseDigest(child.digest);
    if (!d) continue;
    const childReferrers = await deps.store.referrers(repository, d).catch(() => [] as Descriptor[]);
    const p = child.platform;
    if (childReferrers.length)
      subjects.push({ digest: child.digest, platform: p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : null, referrers: childReferrers });
  }
  const supplyChain = await supplyChainView(deps.store, repository, subjects, async (blob, max) => {
    const d = tryParseDigest(blob);
    return d ? readBounded(deps.store, d, max) : undefined;
  });
  const { tags: tagsHere, truncated: tagsTruncated } = await tagsPointingAt(deps.store, repository, digest);
  // The tag the page was opened by points here, whether or not the search reached it.
  if (!reference.includes(':') && !tagsHere.includes(reference)) tagsHere.unshift(reference);
  sendJson(
    req,
    res,
    200,
    {
      repository,
      reference,
      digest,
      mediaType: m.parsed.mediaType,
      isIndex: m.parsed.isIndex,
      manifestSize: m.body.length,
      totalSize,
      // false when a platform could not be sized (beyond MAX_INDEX_CHILDREN, missing, an index)
      totalComplete: sized?.complete ?? true,
      platforms: m.parsed.manifests.map((d, i) => ({
        digest: d.digest,
        mediaType: d.mediaType,
        // the child manifest's own bytes
        size: d.size,
        // its image: config and layers; null when not read
        imageSize: sized?.perChild[i] ?? null,
        platform: d.platform ?? null,
        annotations: d.annotations ?? {},
      })),
      configDescriptor: m.parsed.config ?? null,
      layers: layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
      config: config ?? null,
      prominent,
      labels,
      annotations,
      subject: m.parsed.subject ?? null,
      artifactType: artifactTypeOf(m.parsed) ?? null,
      referrers,
      supplyChain,
      tags: tagsHere,
      tagsTruncated,
      mayDelete: await access.may('delete', repository),
    },
    { 'Cache-Control': 'no-store' },
  );
}

async function deleteTag(deps: UiApiDeps, req: IncomingMessage, res: ServerResponse, url: RequestTarget, access: AccessCheck): Promise<void> {
  const repository = repositoryParam(url);
  const tag = param(url, 'tag');
  const user = await access.authorize('delete', repository);
  const before = await deps.store.manifests.get(repository, tag);
  if (!(await deps.store.manifests.deleteTag(repository, tag))) throw new RegistryError('MANIFEST_UNKNOWN', `tag ${tag} unknown in ${repository}`);
  deps.stats.invalidate();
  sendJson(req, res, 200, { deleted: { repository, tag } });
  const target = { repository, tag, digest: formatDigest(before.digest), mediaType: before.parsed.mediaType, size: before.body.length };
  deps.events.publish('manifest', manifestEvent('delete', target, requestInfo(req), user));
}

/** serveUiApi answers one /ui/api/ call; unknown calls are 404. */
export async function serveUiApi(
  deps: UiApiDeps,
  call: string,
  req: IncomingMessage,
  res: ServerResponse,
  url: RequestTarget,
  access: AccessCheck,
): Promise<void> {
  const method = req.method ?? 'GET';
  req.resume();
  const read = method === 'GET' || method === 'HEAD';
  if (call === 'repositories' && read) return repositories(deps, req, res, access);
  if (call === 'tags' && read) return tags(deps, req, res, url, access);
  if (call === 'image' && read) return image(deps, req, res, url, access);
  if (call === 'tag' && method === 'DELETE') return deleteTag(deps, req, res, url, access);
  throw new RegistryError('UNSUPPORTED', `no such UI call: ${method} ${call}`, { status: 404 });
}
