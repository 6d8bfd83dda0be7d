// Garbage collection that runs while the registry serves (no downtime, no prompt).
//
// Mark: every tag's manifest, and (unless deleteUntagged) every manifest revision, with what it
// references: config and layers, an index's children, and manifests whose subject is kept. A
// revision folder without its link yet is a PUT in progress and is kept like a fresh one.
// Released content: an untagged manifest whose tag a user deleted (the `untagged` stamp deleteTag
// leaves, newer than its link) is no index's child on its way, so with deleteUntagged it goes
// without waiting for the grace period, with its children, its referrers and the blobs nothing
// else keeps and nothing touched since the manifest was pushed (a HEAD, an upload or a mount of a
// push in flight touches a blob). While any push may be in flight (an upload session, a blob or
// untagged manifest no manifest reaches yet, used within the grace period) released content waits
// for the grace period like everything else.
// Sweep, in two phases (quarantine.ts): what is neither marked nor used within the grace period is
// first set aside (untagged revisions, then blobs), so readers see it gone; after a settle delay
// the mark runs again and whatever became reachable is put back. Any use meanwhile (a manifest PUT
// naming it, a pull, a HEAD) also puts it back, and gc's final delete races that use atomically, so
// nothing a client was told is stored is ever deleted, at any grace. Blobs are touched when pushed,
// mounted or referenced by a manifest PUT, so the grace period counts from their last use.
// Memory: manifests are read one at a time (parsed through the store's bounded cache), never all.
// Cache limits (options.cache) run first: cached manifests past them lose their tags, revisions and
// records (cache-expiry.ts), so this mark no longer reaches the blobs only they used.
import { join } from 'node:path';
import type { ImageStore } from './store.js';
import type { PendingMultipart } from './driver.js';
import { formatDigest, parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { readLink, writeLink } from './links.js';
import { TEMP_FILE } from '../common/atomic-write.js';
import { expireCache, type CacheLimits, type ExpiredRecord, type SkippedRecord } from './cache-expiry.js';
import { deleteQuarantinedBlob, deleteQuarantinedRevision, restoreBlob, restoreRevision, setBlobAside, setRevisionAside } from './quarantine.js';
import { takeGcLease, type GcLease } from './gc-lease.js';
import { mapLimited } from '../common/bounded.js';

/** GcOptions tunes one run. */
export interface GcOptions {
  /** also remove manifests no tag reaches (and the blobs only they used) */
  deleteUntagged?: boolean;
  /** report, change nothing */
  dryRun?: boolean;
  /** content touched this recently is never collected (default 10 minutes) */
  graceMs?: number;
  /** pause between setting content aside and the second mark (default 5 s) */
  settleMs?: number;
  /** upload sessions idle this long are removed (default 7 days, as distribution) */
  uploadMaxAgeMs?: number;
  /** expire the pull-through cache's content first (cache-expiry.ts); absent: cached content is kept like pushed */
  cache?: CacheLimits;
  /** progress lines */
  log?: (line: string) => void;
}

/** GcReport tells what a run found and removed. */
export interface GcReport {
  dryRun: boolean;
  blobsKept: number;
  blobsDeleted: Array<{ digest: string; size: number }>;
  bytesFreed: number;
  manifestsDeleted: Array<{ repository: string; digest: string }>;
  uploadsDeleted: Array<{ repository: string; id: string }>;
  /** set aside, then put back because a push or pull used it meanwhile */
  blobsRestored: number;
  manifestsRestored: number;
  /** temp files of writes a crash interrupted */
  tempFilesDeleted: number;
  /** an object store's multipart uploads no session will finish, aborted (with their parts) */
  multipartAborted: number;
  /** blobs of deleted tags kept for the grace period because a push may be in flight */
  releasedKept: number;
  /** cached manifests expired by the cache limits (their blobs are among blobsDeleted once nothing else uses them) */
  cacheExpired: ExpiredRecord[];
  /** cache records that could not be used (reported, left alone), and expired ones kept */
  cacheSkipped: SkippedRecord[];
}

/**
 * IN_PROGRESS_MS: a revision folder without its link, an upload folder without its files, or a temp
 * file younger than this is a write in progress, whatever the grace period; older ones are a
 * crash's leftovers.
 */
const IN_PROGRESS_MS = 60 * 60_000;

/**
 * RELEASE_SLACK_MS: a blob touched this long after its manifest's link was written still counts as
 * last used by that push (a PUT touches the blobs just before writing the link, and the kernel's
 * file times are coarser than the clock utimes is given).
 */
const RELEASE_SLACK_MS = 1000;

/**
 * USE_SLACK_MS: on an object store, content whose touch record is this close to the run's start or
 * later was used during the run (the store's times have one-second steps) and is kept.
 */
const USE_SLACK_MS = 1000;

/**
 * fanOut: how many reads or moves gc keeps in flight. A filesystem answers in microseconds and
 * keeps its one-at-a-time walk; an object store answers in milliseconds, so there gc asks many at once.
 */
function fanOut(store: ImageStore): number {
  return store.driver.atomicRename ? 1 : 16;
}

interface Marks {
  marked: Set<string>;
  untagged: Array<{ repository: string; digest: Digest }>;
  /** digests of released manifests and of what they name, with the newest such manifest's PUT time */
  released: Map<string, number>;
  /** untagged manifests kept only because they are recent or being written: a push may be in flight */
  recentKept: number;
}

/** Released is an untagged manifest a tag delete let go: when its link was written (its PUT) and when it was untagged. */
interface Released {
  digest: Digest;
  putAt: number;
  untaggedAt: number;
}

/** untaggedAt is when a tag delete left `d` untagged, if one did after its last PUT. */
async function untaggedAt(store: ImageStore, repo: string, d: Digest, putAt: number): Promise<number | undefined> {
  const stamp = await store.driver.stat(store.paths.manifestRevisionUntagged(repo, d)).catch(() => undefined);
  return stamp && stamp.mtimeMs >= putAt ? stamp.mtimeMs : undefined;
}

/** manifestBody reads a manifest's content, also while it is set aside (the second mark must see through the quarantine). */
async function manifestBody(store: ImageStore, d: Digest): Promise<Buffer | undefined> {
  try {
    return await store.blobs.read(d);
  } catch {
    return store.driver.readFile(store.paths.blobQuarantine(d)).catch(() => undefined);
  }
}

/**
 * mark returns every digest reachable from the roots of every repository. With `release`, untagged
 * manifests a tag delete let go (and what comes with them) are not kept for being recent.
 */
async function mark(store: ImageStore, deleteUntagged: boolean, keepNewerThan: number, now: number, release: boolean): Promise<Marks> {
  const marked = new Set<string>();
  const untagged: Marks['untagged'] = [];
  const released = new Map<string, number>();
  let recentKept = 0;
  const fan = fanOut(store);
  for (const repo of await store.repositories()) {
    const revisions = await store.manifests.revisions(repo);
    const reached = new Set<string>();
    const visit = async (d: Digest): Promise<void> => {
      const key = formatDigest(d);
      if (reached.has(key)) return;
      reached.add(key);
      marked.add(key);
      const body = await manifestBody(store, d);
      if (!body) return; // content already gone: nothing below it to keep
      const parsed = parseOrUndefined(store, d, body);
      if (!parsed) return;
      for (const b of parsed.blobs) {
        const bd = tryParseDigest(b.digest);
        if (bd) marked.add(formatDigest(bd));
      }
      for (const m of parsed.manifests) {
        const md = tryParseDigest(m.digest);
        if (md) await visit(md);
      }
    };
    await mapLimited(await store.manifests.tags(repo), fan, async (tag) => {
      const d = await readLink(store.driver, store.paths.tagCurrentLink(repo, tag));
      if (d) await visit(d);
    });
    if (!deleteUntagged) {
      await mapLimited(revisions, fan, visit);
      continue;
    }
    const recent: Digest[] = [];
    const linkTimes = new Map<string, number>();
    const letGo = new Map<string, Released>();
    await mapLimited(revisions, fan, async (d) => {
      const key = formatDigest(d);
      if (reached.has(key)) return;
      const link = await store.driver.stat(store.paths.manifestRevisionLink(repo, d)).catch(() => undefined);
      if (link) {
        linkTimes.set(key, link.mtimeMs);
        const at = release ? await untaggedAt(store, repo, d, link.mtimeMs) : undefined;
        if (at !== undefined) letGo.set(key, { digest: d, putAt: link.mtimeMs, untaggedAt: at });
        // A manifest pushed within the grace period may be a child whose index is still on its way.
        else if (link.mtimeMs > keepNewerThan) recent.push(d);
        return;
      }
      // No link: a PUT between creating the folder and renaming its link in (keep), or a crash's leftover.
      const dir = await store.driver.stat(store.paths.manifestRevisionDir(repo, d)).catch(() => undefined);
      if (dir && now - dir.mtimeMs < IN_PROGRESS_MS) recent.push(d);
    });
    if (letGo.size) await releaseWith(store, letGo, recent, linkTimes);
    for (const d of recent) {
      if (letGo.has(formatDigest(d)) || reached.has(formatDigest(d))) continue;
      // A new referrer (SBOM, provenance, signature) of a tagged manifest is no push in flight: it
      // is kept with its subject below, and does not hold back what a deleted tag released.
      const subject = await store.manifests.subjectOf(d);
      if (subject && reached.has(subject)) continue;
      recentKept++;
      await visit(d);
    }
    // Referrers (signatures, SBOMs) live as long as their subject: repeat until nothing changes.
    let changed = true;
    while (changed) {
      changed = false;
      for (const d of revisions) {
        if (reached.has(formatDigest(d))) continue;
        const subject = await store.manifests.subjectOf(d);
        if (subject && reached.has(subject)) {
          await visit(d);
          changed = true;
        }
      }
    }
    for (const d of revisions) if (!reached.has(formatDigest(d))) untagged.push({ repository: repo, digest: d });
    // What released manifests that stay unreached name, with the newest PUT among them.
    for (const r of letGo.values()) {
      if (reached.has(formatDigest(r.digest))) continue;
      const names = [formatDigest(r.digest)];
      const body = await manifestBody(store, r.digest);
      const parsed = body && parseOrUndefined(store, r.digest, body);
      for (const b of parsed ? parsed.blobs : []) {
        const bd = tryParseDigest(b.digest);
        if (bd) names.push(formatDigest(bd));
      }
      for (const n of names) released.set(n, Math.max(released.get(n) ?? 0, r.putAt));
    }
  }
  return { marked, untagged, released, recentKept };
}

function parseOrUndefined(store: ImageStore, d: Digest, body: Buffer): ReturnType<ImageStore['manifests']['parse']> | undefined {
  try {
    return store.manifests.parse(d, body);
  } catch {
    return undefined;
  }
}

/**
 * releaseWith adds to `letGo` what goes with a released manifest: an index's children not pushed
 * again since the index (a later PUT may be another index's push in flight), and referrers pushed
 * before their subject was untagged (`recent` holds the candidates; the caller keeps none in `letGo`).
 */
async function releaseWith(store: ImageStore, letGo: Map<string, Released>, recent: Digest[], linkTimes: Map<string, number>): Promise<void> {
  let changed = true;
  while (changed) {
    changed = false;
    for (const r of [...letGo.values()]) {
      const body = await manifestBody(store, r.digest);
      const parsed = body && parseOrUndefined(store, r.digest, body);
      for (const m of parsed ? parsed.manifests : []) {
        const key = m.digest;
        const putAt = linkTimes.get(key);
        const child = tryParseDigest(key);
        if (!child || letGo.has(key) || putAt === undefined || putAt > r.putAt) continue;
        letGo.set(key, { digest: child, putAt, untaggedAt: r.untaggedAt });
        changed = true;
      }
    }
    for (const d of recent) {
      const key = formatDigest(d);
      const putAt = linkTimes.get(key);
      if (letGo.has(key) || putAt === undefined) continue;
      const subject = await store.manifests.subjectOf(d);
      const of = subject === undefined ? undefined : letGo.get(subject);
      if (!of || putAt > of.untaggedAt) continue;
      letGo.set(key, { digest: d, putAt, untaggedAt: of.untaggedAt });
      changed = true;
    }
  }
}

/** allBlobs lists every stored blob with its size and mtime (one walk of the blobs: a listing per 1000 on S3). */
async function allBlobs(store: ImageStore): Promise<Array<{ digest: Digest; size: number; mtimeMs: number }>> {
  const out: Array<{ digest: Digest; size: number; mtimeMs: number }> = [];
  const root = store.paths.blobsRoot();
  for await (const f of store.driver.walk(root, (name) => name === 'data')) {
    // <root>/<alg>/<prefix>/<hex>/data
    const parts = f.path.slice(root.length + 1).split('/');
    if (parts.length !== 4) continue;
    const d = tryParseDigest(`${parts[0]}:${parts[2]}`);
    if (d && store.paths.blobData(d) === f.path) out.push({ digest: d, size: f.size, mtimeMs: f.mtimeMs });
  }
  return out;
}

/** staleUploads lists upload sessions with no activity for `maxAgeMs` (a session being created is active). */
async function staleUploads(store: ImageStore, now: number, maxAgeMs: number): Promise<Array<{ repository: string; id: string }>> {
  const out: Array<{ repository: string; id: string }> = [];
  for (const repo of await store.repositoryFolders()) {
    for (const id of await store.driver.list(store.paths.uploadsRoot(repo))) {
      const times = await Promise.all(
        [store.paths.uploadDir(repo, id), store.paths.uploadData(repo, id), store.paths.uploadStartedAt(repo, id)].map((p) =>
          store.driver.stat(p).then(
            (s) => s.mtimeMs,
            () => 0,
          ),
        ),
      );
      // The folder's own mtime counts: POST makes it before writing `startedat` and `data`.
      if (now - Math.max(...times) > maxAgeMs) out.push({ repository: repo, id });
    }
  }
  return out;
}

/** activeUploads counts upload sessions used since `since` (a push streaming a blob now). */
async function activeUploads(store: ImageStore, since: number): Promise<number> {
  let n = 0;
  for (const repo of await store.repositoryFolders()) {
    for (const id of await store.driver.list(store.paths.uploadsRoot(repo))) {
      const times = await Promise.all(
        [store.paths.uploadDir(repo, id), store.paths.uploadData(repo, id)].map((p) =>
          store.driver.stat(p).then(
            (s) => s.mtimeMs,
            () => 0,
          ),
        ),
      );
      if (Math.max(...times) >= since) n++;
    }
  }
  return n;
}

const UPLOAD_DATA = /\/_uploads\/[^/]+\/data$/;

/**
 * sweepMultipart aborts an object store's multipart uploads under the storage that nothing will
 * complete: on an upload session's data, one whose session is gone, or that is not the session's
 * own (the oldest on the key: s3-driver.ts appendState; a younger one is a racing PATCH's),
 * once started before the grace period; elsewhere (a large copy) once older than IN_PROGRESS_MS.
 * The session's own goes with its session (staleUploads).
 */
async function sweepMultipart(store: ImageStore, now: number, graceMs: number, dryRun: boolean): Promise<number> {
  const { driver } = store;
  if (!driver.pendingMultipart || !driver.abortMultipart) return 0;
  const byPath = new Map<string, PendingMultipart[]>();
  for (const u of await driver.pendingMultipart(store.paths.root)) byPath.set(u.path, [...(byPath.get(u.path) ?? []), u]);
  const doomed: PendingMultipart[] = [];
  for (const [path, uploads] of byPath) {
    if (!UPLOAD_DATA.test(path)) {
      doomed.push(...uploads.filter((u) => now - u.startedAt > Math.max(graceMs, IN_PROGRESS_MS)));
      continue;
    }
    const own = (await driver.exists(path)) ? [...uploads].sort((a, b) => a.startedAt - b.startedAt)[0] : undefined;
    doomed.push(...uploads.filter((u) => u !== own && now - u.startedAt > graceMs));
  }
  if (!dryRun) await mapLimited(doomed, fanOut(store), (u) => driver.abortMultipart!(u).catch(() => {}));
  return doomed.length;
}

/** sweepTempFiles deletes temp files (common/atomic-write.ts tempPath names) older than `maxAgeMs` under `dir`. */
async function sweepTempFiles(store: ImageStore, dir: string, now: number, maxAgeMs: number, dryRun: boolean): Promise<number> {
  let n = 0;
  for await (const f of store.driver.walk(dir, (name) => TEMP_FILE.test(name))) {
    if (now - f.mtimeMs <= maxAgeMs) continue;
    n++;
    if (!dryRun) await store.driver.deleteIfExists(f.path).catch(() => {});
  }
  return n;
}

/**
 * collectGarbage runs one mark and sweep over `store`. On an object store (no atomic rename) it holds
 * the storage's gc lease for the run (gc-lease.ts), counts time by the store's clock, and keeps what
 * a use recorded during the run (docs/storage-s3.md "Several replicas").
 */
export async function collectGarbage(store: ImageStore, options: GcOptions = {}): Promise<GcReport> {
  const log = options.log ?? (() => {});
  const lease = store.driver.atomicRename || options.dryRun ? undefined : await takeGcLease(store.driver, store.paths, log);
  try {
    return await collect(store, options, lease);
  } finally {
    await lease?.release();
  }
}

async function collect(store: ImageStore, options: GcOptions, lease: GcLease | undefined): Promise<GcReport> {
  const graceMs = options.graceMs ?? 10 * 60_000;
  const settleMs = options.settleMs ?? 5000;
  const log = options.log ?? (() => {});
  const started = lease?.startedAt ?? Date.now();
  const cutoff = started - graceMs;
  const deleteUntagged = options.deleteUntagged ?? false;
  const dryRun = options.dryRun ?? false;
  const report: GcReport = {
    dryRun,
    blobsKept: 0,
    blobsDeleted: [],
    bytesFreed: 0,
    manifestsDeleted: [],
    uploadsDeleted: [],
    blobsRestored: 0,
    manifestsRestored: 0,
    tempFilesDeleted: 0,
    multipartAborted: 0,
    releasedKept: 0,
    cacheExpired: [],
    cacheSkipped: [],
  };

  // Cached content past its limits loses its tags and revisions first; the mark below then no longer
  // reaches the blobs only it used. A dry run reports the expiry and leaves the cache's blobs counted as kept.
  if (options.cache && (options.cache.maxAgeMs !== undefined || options.cache.maxBytes !== undefined)) {
    const expiry = await expireCache(store, options.cache, { now: started, dryRun, log });
    report.cacheExpired = expiry.expired;
    report.cacheSkipped = expiry.skipped;
  }

  let release = deleteUntagged;
  let first = await mark(store, deleteUntagged, cutoff, started, release);
  const blobs = await allBlobs(store);
  // A blob may go once unreferenced and unused for the grace period, or, when released by a tag
  // delete, once unused since its manifest was pushed.
  const limit = (m: Marks, d: Digest) => Math.max(cutoff, (m.released.get(formatDigest(d)) ?? Number.NEGATIVE_INFINITY) + RELEASE_SLACK_MS);
  const collectible = (m: Marks) => blobs.filter((b) => !m.marked.has(formatDigest(b.digest)) && b.mtimeMs < limit(m, b.digest));
  if (first.released.size) {
    const recentOrphans = blobs.filter((b) => !first.marked.has(formatDigest(b.digest)) && b.mtimeMs >= limit(first, b.digest)).length;
    const uploading = await activeUploads(store, cutoff);
    if (first.recentKept || recentOrphans || uploading) {
      const early = collectible(first).filter((b) => b.mtimeMs >= cutoff).length;
      release = false;
      first = await mark(store, deleteUntagged, cutoff, started, release);
      report.releasedKept = early;
      log(
        `a push may be in flight (${uploading} upload(s), ${recentOrphans} blob(s) and ${first.recentKept} manifest(s) no tag reaches yet, used within the grace period): what deleted tags released waits for the grace period`,
      );
    }
  }
  const candidates = collectible(first);
  report.blobsKept = blobs.length - candidates.length;
  log(`marked ${first.marked.size} digests; ${candidates.length} blob(s) unreferenced and older than the grace period or released by a tag delete`);

  report.uploadsDeleted = await staleUploads(store, started, options.uploadMaxAgeMs ?? 7 * 24 * 3600_000);
  if (!dryRun) for (const u of report.uploadsDeleted) await store.driver.deleteIfExists(store.paths.uploadDir(u.repository, u.id));
  report.tempFilesDeleted = await sweepTempFiles(store, store.paths.root, started, Math.max(graceMs, IN_PROGRESS_MS), dryRun);
  report.multipartAborted = await sweepMultipart(store, started, graceMs, dryRun);

  if (dryRun) {
    for (const u of first.untagged) report.manifestsDeleted.push({ repository: u.repository, digest: formatDigest(u.digest) });
    for (const c of candidates) {
      report.blobsDeleted.push({ digest: formatDigest(c.digest), size: c.size });
      report.bytesFreed += c.size;
    }
    return report;
  }

  // Phase 1: set aside; readers now see it as absent, and any use puts it back.
  lease?.check();
  const fan = fanOut(store);
  const asideRevisions: Marks['untagged'] = [];
  await mapLimited(first.untagged, fan, async (u) => {
    if (await setRevisionAside(store.driver, store.paths, u.repository, u.digest)) asideRevisions.push(u);
  });
  const asideBlobs: typeof candidates = [];
  await mapLimited(candidates, fan, async (c) => {
    const now = await store.driver.stat(store.paths.blobData(c.digest)).catch(() => undefined);
    if (!now || now.mtimeMs >= limit(first, c.digest)) return; // gone, or used since the scan
    if (await setBlobAside(store.driver, store.paths, c.digest)) asideBlobs.push(c);
  });

  // Phase 2: let in-flight pushes land, then see what is reachable now.
  const anyAside = asideRevisions.length > 0 || asideBlobs.length > 0;
  if (anyAside) await new Promise((r) => setTimeout(r, settleMs));
  const second = anyAside ? await mark(store, deleteUntagged, cutoff, started, release) : first;
  // On an object store, also what a use recorded since the run began (or within the settle period
  // before: a request that looked then may still be writing): every use writes its record before it
  // looks (blobs.ts claim), and everything is set aside by now, so a use this read misses looks
  // after the set-aside and finds the content gone (or puts it back itself).
  const usedSince = started - settleMs - USE_SLACK_MS;
  const usedDuringRun = async (d: Digest): Promise<boolean> =>
    lease !== undefined && ((await store.driver.usedAt(store.paths.blobData(d))) ?? Number.NEGATIVE_INFINITY) >= usedSince;
  const keep = async (d: Digest): Promise<boolean> => {
    if (second.marked.has(formatDigest(d)) || (await usedDuringRun(d))) return true;
    lease?.check();
    return false;
  };

  // Revisions before blobs: a revision a push puts back takes its blobs back with it (manifests.ts).
  await mapLimited(asideRevisions, fan, async (u) => {
    const key = formatDigest(u.digest);
    if (await keep(u.digest)) {
      if (!(await restoreRevision(store.driver, store.paths, u.repository, u.digest)))
        await deleteQuarantinedRevision(store.driver, store.paths, u.repository, u.digest);
      report.manifestsRestored++;
    } else if (await deleteQuarantinedRevision(store.driver, store.paths, u.repository, u.digest)) {
      report.manifestsDeleted.push({ repository: u.repository, digest: key });
    } else {
      report.manifestsRestored++; // used meanwhile
    }
  });
  await mapLimited(asideBlobs, fan, async (c) => {
    if (await keep(c.digest)) {
      // Reachable again; a fresh upload may already have put `data` back.
      if (!(await restoreBlob(store.driver, store.paths, c.digest))) await deleteQuarantinedBlob(store.driver, store.paths, c.digest);
      report.blobsRestored++;
    } else if (await deleteQuarantinedBlob(store.driver, store.paths, c.digest)) {
      await store.driver.removeEmptyFolder(store.paths.blobDir(c.digest)); // a new upload of the same digest keeps the folder
      report.blobsDeleted.push({ digest: formatDigest(c.digest), size: c.size });
      report.bytesFreed += c.size;
    } else {
      report.blobsRestored++; // used meanwhile
    }
  });

  await unlinkDeleted(
    store,
    report.blobsDeleted.map((b) => parseDigest(b.digest)),
  );
  log(
    `deleted ${report.manifestsDeleted.length} manifest(s), ${report.blobsDeleted.length} blob(s), ${report.bytesFreed} bytes; restored ${report.blobsRestored} blob(s), ${report.manifestsRestored} manifest(s)`,
  );
  return report;
}

/** unlinkDeleted removes repositories' links to deleted blobs, unless the blob was uploaded again meanwhile. */
async function unlinkDeleted(store: ImageStore, deleted: Digest[]): Promise<void> {
  if (deleted.length === 0) return;
  const fan = fanOut(store);
  for (const repo of await store.repositoryFolders()) {
    // One listing per repository on an object store, where a look per blob is a round trip each.
    const linked = fan === 1 ? undefined : await linkedBlobs(store, repo);
    await mapLimited(deleted, fan, async (d) => {
      if (linked && !linked.has(`${d.algorithm}/${d.hex}`)) return;
      if (await store.driver.exists(store.paths.blobData(d))) return;
      if (!(await store.driver.deleteIfExists(store.paths.layerDir(repo, d)))) return;
      // An upload of the same content may have committed between the check and the delete: its link stays.
      if (await store.driver.exists(store.paths.blobData(d))) await writeLink(store.driver, store.paths.layerLink(repo, d), d);
    });
  }
}

/** linkedBlobs lists a repository's blob links as `<alg>/<hex>`. */
async function linkedBlobs(store: ImageStore, repo: string): Promise<Set<string>> {
  const root = store.paths.layersRoot(repo);
  const out = new Set<string>();
  for (const alg of await store.driver.list(root)) for (const hex of await store.driver.list(join(root, alg))) out.add(`${alg}/${hex}`);
  return out;
}
