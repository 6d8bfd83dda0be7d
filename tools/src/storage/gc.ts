// Garbage collection that runs while the registry serves (no downtime, no prompt).
//
// Mark: every tag's manifest, and (unless deleteUntagged) every manifest revision, with what it
// references: config and layers, an index's children, and manifests whose subject is kept.
// Sweep: a blob not marked and not touched within the grace period is first moved aside (readers
// see it gone), then, after a settle delay, the mark is run again; anything a push made reachable
// meanwhile is put back, the rest deleted. Blobs are touched when pushed, mounted, HEAD-checked or
// referenced by a manifest PUT, so content a client is about to use is never collected.
import { join } from 'node:path';
import { rename, rmdir, unlink } from 'node:fs/promises';
import type { ImageStore } from './store.js';
import { formatDigest, parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { readLink } from './links.js';

/** GcOptions tunes one run. */
export interface GcOptions {
  /** also remove manifests no tag reaches (and the blobs only they used) */
  deleteUntagged?: boolean;
  /** report, change nothing */
  dryRun?: boolean;
  /** content touched this recently is never collected (default 10 minutes) */
  graceMs?: number;
  /** pause between moving blobs aside and the second mark (default 5 s) */
  settleMs?: number;
  /** upload sessions idle this long are removed (default 7 days, as distribution) */
  uploadMaxAgeMs?: number;
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
  blobsRestored: number;
}

const QUARANTINE = '.gc-quarantine';

/** mark returns every digest reachable from the roots of every repository. */
async function mark(store: ImageStore, deleteUntagged: boolean, keepNewerThan: number): Promise<{ marked: Set<string>; untagged: Array<{ repository: string; digest: Digest }> }> {
  const marked = new Set<string>();
  const untagged: Array<{ repository: string; digest: Digest }> = [];
  for (const repo of await store.repositories()) {
    const revisions = await store.manifests.revisions(repo);
    const reached = new Set<string>();
    const visit = async (d: Digest): Promise<void> => {
      const key = formatDigest(d);
      if (reached.has(key)) return;
      reached.add(key);
      marked.add(key);
      let body: Buffer;
      try {
        body = await store.blobs.read(d);
      } catch {
        return; // content already gone: nothing below it to keep
      }
      let parsed;
      try {
        parsed = store.manifests.parse(d, body);
      } catch {
        return;
      }
      for (const b of parsed.blobs) {
        const bd = tryParseDigest(b.digest);
        if (bd) marked.add(formatDigest(bd));
      }
      for (const m of parsed.manifests) {
        const md = tryParseDigest(m.digest);
        if (md) await visit(md);
      }
    };
    for (const tag of await store.manifests.tags(repo)) {
      const d = await readLink(store.driver, store.paths.tagCurrentLink(repo, tag));
      if (d) await visit(d);
    }
    for (const d of revisions) {
      if (!deleteUntagged) {
        await visit(d);
        continue;
      }
      // A manifest pushed within the grace period may be a child whose index is still on its way.
      const info = await store.driver.stat(store.paths.manifestRevisionLink(repo, d)).catch(() => undefined);
      if (info && info.mtimeMs > keepNewerThan) await visit(d);
    }
    if (deleteUntagged) {
      // Referrers (signatures, SBOMs) live as long as their subject: repeat until nothing changes.
      let changed = true;
      while (changed) {
        changed = false;
        for (const d of revisions) {
          const key = formatDigest(d);
          if (reached.has(key)) continue;
          try {
            const parsed = store.manifests.parse(d, await store.blobs.read(d));
            if (parsed.subject && reached.has(parsed.subject.digest)) {
              await visit(d);
              changed = true;
            }
          } catch {
            // unreadable: not a referrer we can keep
          }
        }
      }
      for (const d of revisions) if (!reached.has(formatDigest(d))) untagged.push({ repository: repo, digest: d });
    }
  }
  return { marked, untagged };
}

/** allBlobs lists every stored blob with its size and mtime. */
async function allBlobs(store: ImageStore): Promise<Array<{ digest: Digest; size: number; mtimeMs: number }>> {
  const out: Array<{ digest: Digest; size: number; mtimeMs: number }> = [];
  const root = store.paths.blobsRoot();
  for (const alg of await store.driver.list(root)) {
    for (const prefix of await store.driver.list(join(root, alg))) {
      for (const hex of await store.driver.list(join(root, alg, prefix))) {
        const d = tryParseDigest(`${alg}:${hex}`);
        if (!d) continue;
        const info = await store.driver.stat(store.paths.blobData(d)).catch(() => undefined);
        if (info) out.push({ digest: d, size: info.size, mtimeMs: info.mtimeMs });
      }
    }
  }
  return out;
}

/** collectGarbage runs one mark and sweep over `store`. */
export async function collectGarbage(store: ImageStore, options: GcOptions = {}): Promise<GcReport> {
  const graceMs = options.graceMs ?? 10 * 60_000;
  const settleMs = options.settleMs ?? 5000;
  const log = options.log ?? (() => {});
  const started = Date.now();
  const cutoff = started - graceMs;
  const deleteUntagged = options.deleteUntagged ?? false;
  const report: GcReport = {
    dryRun: options.dryRun ?? false,
    blobsKept: 0,
    blobsDeleted: [],
    bytesFreed: 0,
    manifestsDeleted: [],
    uploadsDeleted: [],
    blobsRestored: 0,
  };

  const first = await mark(store, deleteUntagged, cutoff);
  for (const u of first.untagged) report.manifestsDeleted.push({ repository: u.repository, digest: formatDigest(u.digest) });
  const blobs = await allBlobs(store);
  const candidates = blobs.filter((b) => !first.marked.has(formatDigest(b.digest)) && b.mtimeMs < cutoff);
  report.blobsKept = blobs.length - candidates.length;
  log(`marked ${first.marked.size} digests; ${candidates.length} blob(s) unreferenced and older than the grace period`);

  // Stale upload sessions.
  const uploadMaxAge = options.uploadMaxAgeMs ?? 7 * 24 * 3600_000;
  for (const repo of await store.repositories()) {
    for (const id of await store.driver.list(store.paths.uploadsRoot(repo))) {
      const data = await store.driver.stat(store.paths.uploadData(repo, id)).catch(() => undefined);
      const begun = await store.driver.stat(store.paths.uploadStartedAt(repo, id)).catch(() => undefined);
      const lastActivity = Math.max(data?.mtimeMs ?? 0, begun?.mtimeMs ?? 0);
      if (started - lastActivity > uploadMaxAge) {
        report.uploadsDeleted.push({ repository: repo, id });
        if (!report.dryRun) await store.driver.deleteIfExists(store.paths.uploadDir(repo, id));
      }
    }
  }

  if (report.dryRun) {
    for (const c of candidates) {
      report.blobsDeleted.push({ digest: formatDigest(c.digest), size: c.size });
      report.bytesFreed += c.size;
    }
    return report;
  }

  for (const u of first.untagged) await store.driver.deleteIfExists(store.paths.manifestRevisionDir(u.repository, u.digest));

  // Phase 1: move candidates aside; a reader now sees them as absent.
  const quarantined: typeof candidates = [];
  for (const c of candidates) {
    const data = store.paths.blobData(c.digest);
    try {
      const now = await store.driver.stat(data);
      if (now.mtimeMs >= cutoff) continue; // touched since the scan
      await rename(data, join(store.paths.blobDir(c.digest), QUARANTINE));
      quarantined.push(c);
    } catch {
      // gone or busy: leave it
    }
  }
  // Phase 2: let in-flight manifest PUTs land, then see what is reachable now.
  if (quarantined.length > 0) await new Promise((r) => setTimeout(r, settleMs));
  const second = quarantined.length > 0 ? await mark(store, deleteUntagged, cutoff) : first;
  for (const c of quarantined) {
    const dir = store.paths.blobDir(c.digest);
    const aside = join(dir, QUARANTINE);
    if (second.marked.has(formatDigest(c.digest))) {
      // A push made it reachable again; a fresh upload may already have put `data` back.
      if (!(await store.driver.exists(store.paths.blobData(c.digest)))) await rename(aside, store.paths.blobData(c.digest));
      else await unlink(aside);
      report.blobsRestored++;
      continue;
    }
    await unlink(aside);
    await rmdir(dir).catch(() => {}); // a new upload of the same digest keeps the folder
    report.blobsDeleted.push({ digest: formatDigest(c.digest), size: c.size });
    report.bytesFreed += c.size;
  }

  // Links to content that is gone.
  const deleted = new Set(report.blobsDeleted.map((b) => b.digest));
  if (deleted.size > 0) {
    for (const repo of await store.repositories()) {
      for (const text of deleted) {
        const d = parseDigest(text);
        const link = store.paths.layerDir(repo, d);
        if (await store.driver.exists(store.paths.blobData(d))) continue;
        await store.driver.deleteIfExists(link);
      }
    }
  }
  log(`deleted ${report.blobsDeleted.length} blob(s), ${report.bytesFreed} bytes; restored ${report.blobsRestored}`);
  return report;
}
