// The pull-through cache as the registry's dispatch sees it: `repositoryFor` maps a requested name
// (names.ts) before the access check, and `intercept` runs before the route's own handler for
// repositories under an upstream's prefix. Those repositories are read-only. For them:
//   - a manifest by tag is served from storage while it was checked within the upstream's TTL;
//     after that a HEAD asks the upstream, and a GET fetches it only when the digest moved;
//   - a manifest by digest is served from storage, else fetched (content by digest never changes);
//   - a blob is served from storage, else fetched once however many clients ask (blob-fill.ts);
//   - an upstream that cannot be reached leaves what is cached served, tags past their TTL too.
// What is fetched is stored in distribution's layout like a push, and marked by a record (records.ts).
import type { RequestContext } from '../registry/context.js';
import type { RouteParams } from '../registry/router.js';
import type { ImageStore } from '../storage/store.js';
import { writeLink } from '../storage/links.js';
import { RegistryError } from '../oci/errors.js';
import { digestOf, formatDigest, parseDigest, type Digest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { isValidTag } from '../oci/names.js';
import { RegistryHttpError } from '../client/errors.js';
import type { UpstreamConfig } from './config.js';
import { Upstream, UpstreamUnreachable, type UpstreamState } from './upstream.js';
import { isDockerEngine, isPullRequest, repositoryFor } from './names.js';
import { CacheRecords } from './records.js';
import { BlobFill } from './blob-fill.js';

/** CacheCounters is where the cache counts (the metrics module provides them). */
export interface CacheCounters {
  hit(kind: 'manifest' | 'blob'): void;
  miss(kind: 'manifest' | 'blob'): void;
  /** bytes received from an upstream */
  fetched(bytes: number): void;
}

/**
 * MAX_FILLS bounds the blobs fetched at once; with what each may hold (blob-fill.ts: its clients'
 * share, the join window, the storage write's buffer) the cache's memory stays under about 1.2 GiB
 * however many clients wait, and a few MiB per fill when they keep up.
 */
export const MAX_FILLS = 32;
/** MAX_CHECKED bounds the remembered tag checks (a forgotten one is only checked again). */
const MAX_CHECKED = 100_000;

/** WRITE_ROUTES are the routes a cached repository refuses anything but GET and HEAD on. */
const WRITE_ROUTES = new Set(['manifest', 'blob', 'uploads', 'upload']);

interface Mapped {
  upstream: Upstream;
  /** the repository's name upstream */
  remote: string;
}

/** PullThroughCache serves the repositories of the mirrored upstreams. */
export class PullThroughCache {
  readonly upstreams: Upstream[];
  private readonly records: CacheRecords;
  private readonly flights = new Map<string, Promise<unknown>>();
  private readonly fills = new Map<string, Promise<BlobFill>>();
  /** when each cached tag was last found current upstream */
  private readonly checked = new Map<string, number>();

  constructor(
    private readonly store: ImageStore,
    configs: readonly UpstreamConfig[],
    private readonly log: (line: string) => void,
    private readonly counters: CacheCounters = { hit() {}, miss() {}, fetched() {} },
  ) {
    this.upstreams = configs.map((c) => new Upstream(c, log));
    this.records = new CacheRecords(store.driver, store.paths.storageDir);
  }

  /** states tells each upstream's state (/readyz). */
  states(): UpstreamState[] {
    return this.upstreams.map((u) => u.state());
  }

  /** repositoryFor is the repository a request names (names.ts). */
  repositoryFor(name: string, request: { params: URLSearchParams; method: string; kind: string; userAgent: string | undefined }): Promise<string> {
    return repositoryFor(name, {
      ns: request.params.get('ns'),
      upstreams: this.upstreams.map((u) => u.config),
      pull: isPullRequest(request.kind, request.method) && isDockerEngine(request.userAgent),
      existsLocally: (n) => this.store.manifests.exists(n),
    });
  }

  private mapped(name: string): Mapped | undefined {
    const upstream = this.upstreams.find((u) => name.startsWith(`${u.config.prefix}/`));
    return upstream ? { upstream, remote: name.slice(upstream.config.prefix.length + 1) } : undefined;
  }

  /**
   * intercept runs before a route's handler: it refuses writes to a cached repository, and brings
   * what a read needs into storage. True when it answered the request itself.
   */
  async intercept(kind: string, ctx: RequestContext, params: RouteParams): Promise<boolean> {
    const name = params.name;
    if (name === undefined) return false;
    const m = this.mapped(name);
    if (!m) return false;
    const method = ctx.req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      if (!WRITE_ROUTES.has(kind)) return false;
      ctx.req.resume();
      throw new RegistryError(
        'DENIED',
        `${name} is a cache of ${m.upstream.host}: it is read-only (push to a repository outside ${m.upstream.config.prefix}/)`,
        {
          status: 405,
        },
      );
    }
    if (kind === 'manifest') {
      const d = await this.prepareManifest(name, m, params.reference!);
      if (method === 'GET') await this.records.pulled(name, d).catch((err) => this.log(`cache: record of ${name}: ${(err as Error).message}`));
      return false;
    }
    if (kind === 'blob') return this.serveBlob(ctx, name, m, params.digest!);
    return false;
  }

  /** once runs `work` for `key` once however many requests ask meanwhile. */
  private once<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = work().finally(() => this.flights.delete(key));
    this.flights.set(key, p);
    return p;
  }

  /** prepareManifest makes the manifest a GET/HEAD names present and current enough; resolves its digest. */
  private async prepareManifest(name: string, m: Mapped, reference: string): Promise<Digest> {
    if (reference.includes(':')) {
      const wanted = parseDigest(reference);
      const local = await this.store.manifests.resolve(name, reference);
      if (local) {
        this.counters.hit('manifest');
        return local;
      }
      this.counters.miss('manifest');
      return this.once(`m ${name}@${reference}`, () => this.fetchManifest(name, m, formatDigest(wanted)));
    }
    if (!isValidTag(reference)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(reference.slice(0, 140))}`);
    const key = `${name}:${reference}`;
    const local = await this.store.manifests.resolve(name, reference);
    const checkedAt = this.checked.get(key);
    if (local && checkedAt !== undefined && Date.now() - checkedAt < m.upstream.config.ttlMs) {
      this.counters.hit('manifest');
      return local;
    }
    if (local && m.upstream.state().state === 'down') {
      // Offline: served at once; whether the upstream is back is asked behind the answer (at most
      // every DOWN_RETRY_MS), so no pull waits on an upstream known to be down.
      if (!m.upstream.isDown()) void this.once(`t ${key}`, () => this.refreshTag(name, m, reference, local)).catch(() => {});
      this.counters.hit('manifest');
      return local;
    }
    return this.once(`t ${key}`, () => this.refreshTag(name, m, reference, local));
  }

  private markChecked(key: string): void {
    this.checked.delete(key);
    this.checked.set(key, Date.now());
    if (this.checked.size > MAX_CHECKED) this.checked.delete(this.checked.keys().next().value!);
  }

  /** refreshTag asks the upstream where a tag points (HEAD) and fetches the manifest when it moved. */
  private async refreshTag(name: string, m: Mapped, tag: string, local: Digest | undefined): Promise<Digest> {
    const key = `${name}:${tag}`;
    let head;
    try {
      head = await m.upstream.headManifest(m.remote, tag);
    } catch (err) {
      if (local) {
        this.counters.hit('manifest');
        return local;
      }
      throw upstreamError(name, m, err);
    }
    if (!head) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${tag} unknown in ${name} (the upstream ${m.upstream.host} has no such tag)`);
    if (local && head.digest === formatDigest(local)) {
      this.markChecked(key);
      this.counters.hit('manifest');
      await this.records.tagged(name, local, tag).catch(() => {});
      return local;
    }
    this.counters.miss('manifest');
    const d = await this.fetchManifest(name, m, head.digest && /^sha(256|512):/.test(head.digest) ? head.digest : tag, tag);
    this.markChecked(key);
    if (local && formatDigest(local) !== formatDigest(d)) await this.records.untagged(name, local, tag).catch(() => {});
    return d;
  }

  /** fetchManifest GETs a manifest upstream, checks it, and stores it as a push would (tagged when `tag`). */
  private async fetchManifest(name: string, m: Mapped, reference: string, tag?: string): Promise<Digest> {
    let fetched;
    try {
      fetched = await m.upstream.getManifest(m.remote, reference);
    } catch (err) {
      throw upstreamError(name, m, err);
    }
    if (!fetched) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} unknown in ${name} (not at the upstream ${m.upstream.host})`);
    const { body } = fetched;
    this.counters.fetched(body.length);
    if (body.length > MAX_MANIFEST_BYTES) throw badUpstream(m, `a manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    const byDigest = reference.includes(':') ? parseDigest(reference) : undefined;
    const d = parseDigest(digestOf(body, byDigest?.algorithm ?? 'sha256'));
    if (byDigest && byDigest.hex !== d.hex) throw badUpstream(m, `manifest content that is ${formatDigest(d)}, not ${reference}`);
    let parsed;
    try {
      parsed = this.store.manifests.parse(d, body, fetched.mediaType);
    } catch (err) {
      throw badUpstream(m, `a manifest that is not valid (${(err as Error).message.slice(0, 200)})`);
    }
    await this.store.blobs.writeSmall(d, body);
    await writeLink(this.store.driver, this.store.paths.manifestRevisionLink(name, d), d);
    if (tag) await this.store.manifests.tag(name, tag, d);
    const size = body.length + (parsed.isIndex ? 0 : parsed.blobs.reduce((sum, b) => sum + (Number.isSafeInteger(b.size) && b.size > 0 ? b.size : 0), 0));
    await this.records.fetched({ upstream: m.upstream.host, repository: name, digest: d, size, tag });
    return d;
  }

  /** upstreamBlobSize asks the upstream (HEAD) for a blob's size: BLOB_UNKNOWN when it lacks it, its failure as the upstream's. */
  private async upstreamBlobSize(name: string, m: Mapped, digest: string): Promise<number> {
    let size;
    try {
      size = await m.upstream.headBlob(m.remote, digest);
    } catch (err) {
      throw upstreamError(name, m, err);
    }
    if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown in ${name}`);
    return size;
  }

  /** serveBlob answers a blob the repository does not hold yet; false leaves a stored one to the route's handler. */
  private async serveBlob(ctx: RequestContext, name: string, m: Mapped, digestText: string): Promise<boolean> {
    const d = parseDigest(digestText);
    const digest = formatDigest(d);
    if ((await this.store.blobs.statInRepo(name, d)) !== undefined) {
      this.counters.hit('blob');
      return false;
    }
    // Stored already for another repository: linked here once the upstream says this one has it too.
    if ((await this.store.blobs.size(d)) !== undefined) {
      await this.upstreamBlobSize(name, m, digest);
      await this.store.blobs.link(name, d);
      this.counters.hit('blob');
      return false;
    }
    ctx.req.resume();
    this.counters.miss('blob');
    const headers = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest, ETag: `"${digest}"` };
    if (ctx.req.method === 'HEAD') {
      const size = await this.upstreamBlobSize(name, m, digest);
      ctx.res.writeHead(200, { ...headers, 'Content-Length': String(size) });
      ctx.res.end();
      return true;
    }
    // A Range on a blob not stored yet is answered whole (RFC 9110 lets a server ignore Range).
    const fill = await this.fillOf(name, m, d);
    await fill.attach(ctx.res, headers, (bytes) => ctx.events.publish('blobDownload', { repository: name, bytes }));
    return true;
  }

  /** fillOf joins the fill of a blob in progress, or starts one (one upstream GET per blob at a time). */
  private fillOf(name: string, m: Mapped, d: Digest): Promise<BlobFill> {
    const key = `${name}@${formatDigest(d)}`;
    const running = this.fills.get(key);
    if (running) return running;
    if (this.fills.size >= MAX_FILLS) {
      throw new RegistryError('TOOMANYREQUESTS', `the cache fetches ${MAX_FILLS} blobs already; retry shortly`, { headers: { 'Retry-After': '1' } });
    }
    const starting = (async () => {
      let response;
      try {
        response = await m.upstream.openBlob(m.remote, formatDigest(d));
      } catch (err) {
        throw upstreamError(name, m, err);
      }
      if (!response) throw new RegistryError('BLOB_UNKNOWN', `blob ${formatDigest(d)} unknown in ${name} (not at the upstream ${m.upstream.host})`);
      return new BlobFill({
        store: this.store,
        repository: name,
        digest: d,
        response,
        onBytes: (n) => this.counters.fetched(n),
        onUpstreamError: (err) => m.upstream.failed(err),
        log: this.log,
      });
    })();
    this.fills.set(key, starting);
    starting.then(
      (fill) => fill.finished.finally(() => this.fills.delete(key)),
      () => this.fills.delete(key),
    );
    return starting;
  }

  /** close drops the upstreams' pooled connections. */
  close(): void {
    for (const u of this.upstreams) u.close();
  }
}

/** upstreamError is the answer when the upstream could not give what is not cached. */
function upstreamError(name: string, m: Mapped, err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  if (err instanceof UpstreamUnreachable || !(err instanceof RegistryHttpError) || err.status >= 500) {
    const why = err instanceof UpstreamUnreachable ? err.message : `upstream ${m.upstream.host} is unreachable`;
    return new RegistryError('UNKNOWN', `${name}: ${why}, and this is not cached`, { status: 503, headers: { 'Retry-After': '5' } });
  }
  // The upstream answered but refused (401/403: its credentials in config.toml; 429: its limit).
  return new RegistryError('UNKNOWN', `${name}: the upstream ${m.upstream.host} refused (HTTP ${err.status})`, { status: 502 });
}

function badUpstream(m: Mapped, what: string): RegistryError {
  return new RegistryError('UNKNOWN', `the upstream ${m.upstream.host} sent ${what}; nothing was stored`, { status: 502 });
}
