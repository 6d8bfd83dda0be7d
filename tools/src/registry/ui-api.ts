// The web UI's JSON API under /ui/api/: one request per page, shaped for display (an image page
// needs the manifest, the config blob and the referrers; the API reads them server-side). Every
// call goes through the same access policy as /v2/; deleting a tag needs the `delete` right.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageStore } from '../storage/store.js';
import type { StatsCache } from '../storage/stats.js';
import type { Descriptor } from '../oci/manifest.js';
import type { AccessCheck } from './dispatch.js';
import type { RequestTarget } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { formatDigest, parseDigest } from '../oci/digest.js';
import { assertRepositoryName } from '../oci/names.js';
import { compareLexical } from '../storage/manifests.js';
import { manifestEvent, requestInfo, type RegistryEvents } from './events.js';
import { sendJson } from './respond.js';

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

/** MAX_CONFIG_BYTES caps the config blob the API reads for display. */
const MAX_CONFIG_BYTES = 1024 * 1024;

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
  // Like _catalog: only what the asker may pull.
  const all = await deps.store.repositories();
  const visible = (await Promise.all(all.map(async (name) => ((await access.may('pull', name)) ? name : undefined)))).filter((n): n is string => n !== undefined);
  const list = await Promise.all(visible.map(async (name) => ({ name, tags: (await deps.store.manifests.tags(name)).length })));
  const stats = await deps.stats.get();
  const tags = list.reduce((sum, r) => sum + r.tags, 0);
  sendJson(req, res, 200, { repositories: list, stats: { bytes: stats.bytes, blobs: stats.blobs, tags } }, { 'Cache-Control': 'no-store' });
}

async function tags(deps: UiApiDeps, req: IncomingMessage, res: ServerResponse, url: RequestTarget, access: AccessCheck): Promise<void> {
  const repository = repositoryParam(url);
  await access.authorize('pull', repository);
  if (!(await deps.store.manifests.exists(repository))) throw new RegistryError('NAME_UNKNOWN', `repository ${repository} not known to registry`);
  const all = (await deps.store.manifests.tags(repository)).sort(compareLexical);
  const n = Math.min(500, Math.max(1, Number(url.searchParams.get('n')) || 50));
  const last = url.searchParams.get('last');
  const filter = (url.searchParams.get('q') ?? '').toLowerCase();
  const matching = filter ? all.filter((t) => t.toLowerCase().includes(filter)) : all;
  const from = last ? matching.filter((t) => compareLexical(t, last) > 0) : matching;
  const page = from.slice(0, n);
  const rows = await Promise.all(
    page.map(async (tag) => {
      try {
        const m = await deps.store.manifests.get(repository, tag);
        return { tag, digest: formatDigest(m.digest), mediaType: m.parsed.mediaType, isIndex: m.parsed.isIndex, size: m.body.length };
      } catch {
        return { tag, digest: '', mediaType: '', isIndex: false, size: 0 };
      }
    }),
  );
  sendJson(
    req,
    res,
    200,
    { repository, total: matching.length, tags: rows, next: from.length > n ? page[page.length - 1] : null, mayDelete: await access.may('delete', repository) },
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

async function readConfig(store: ImageStore, config: Descriptor | undefined): Promise<ImageConfigView | undefined> {
  if (!config || config.size > MAX_CONFIG_BYTES) return undefined;
  try {
    const doc = JSON.parse((await store.blobs.read(parseDigest(config.digest))).toString('utf8')) as Record<string, unknown>;
    const c = (doc.config ?? {}) as Record<string, unknown>;
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
      labels: c.Labels && typeof c.Labels === 'object' ? (c.Labels as Record<string, string>) : {},
    };
  } catch {
    // Not JSON (an artifact's config): show the descriptor only.
    return undefined;
  }
}

async function image(deps: UiApiDeps, req: IncomingMessage, res: ServerResponse, url: RequestTarget, access: AccessCheck): Promise<void> {
  const repository = repositoryParam(url);
  const reference = param(url, 'reference');
  await access.authorize('pull', repository);
  const m = await deps.store.manifests.get(repository, reference);
  const digest = formatDigest(m.digest);
  const config = m.parsed.isIndex ? undefined : await readConfig(deps.store, m.parsed.config);
  const layers = m.parsed.isIndex ? [] : m.parsed.blobs.filter((b) => b !== m.parsed.config);
  const totalSize = m.body.length + m.parsed.blobs.reduce((sum, b) => sum + b.size, 0);
  const labels = { ...(config?.labels ?? {}) };
  // An index carries its metadata as annotations; show those the same way.
  const annotations = m.parsed.annotations ?? {};
  const prominent: Record<string, string> = {};
  for (const key of PROMINENT_LABELS) {
    const v = labels[key] ?? annotations[key];
    if (v !== undefined) prominent[key] = v;
  }
  const referrers = await deps.store.referrers(repository, m.digest).catch(() => [] as Descriptor[]);
  const tagsHere: string[] = [];
  for (const tag of await deps.store.manifests.tags(repository)) {
    const d = await deps.store.manifests.resolve(repository, tag).catch(() => undefined);
    if (d && formatDigest(d) === digest) tagsHere.push(tag);
  }
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
      platforms: m.parsed.manifests.map((d) => ({ digest: d.digest, mediaType: d.mediaType, size: d.size, platform: d.platform ?? null, annotations: d.annotations ?? {} })),
      configDescriptor: m.parsed.config ?? null,
      layers: layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
      config: config ?? null,
      prominent,
      labels,
      annotations,
      subject: m.parsed.subject ?? null,
      artifactType: m.parsed.artifactType ?? null,
      referrers,
      tags: tagsHere,
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
export async function serveUiApi(deps: UiApiDeps, call: string, req: IncomingMessage, res: ServerResponse, url: RequestTarget, access: AccessCheck): Promise<void> {
  const method = req.method ?? 'GET';
  req.resume();
  const read = method === 'GET' || method === 'HEAD';
  if (call === 'repositories' && read) return repositories(deps, req, res, access);
  if (call === 'tags' && read) return tags(deps, req, res, url, access);
  if (call === 'image' && read) return image(deps, req, res, url, access);
  if (call === 'tag' && method === 'DELETE') return deleteTag(deps, req, res, url, access);
  throw new RegistryError('UNSUPPORTED', `no such UI call: ${method} ${call}`, { status: 404 });
}
