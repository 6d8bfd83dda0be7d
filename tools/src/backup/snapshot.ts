// The metadata pass of a backup: one walk over every repository's tags and manifest revisions,
// reading each manifest's content as it goes, before a single blob is copied. Blobs are immutable
// (content under a digest never changes), so the copy that follows may take its time: what the
// pass saw is what the backup holds.
//
// Against a registry that serves meanwhile (the storage driver is all this reads through):
// - A push writes its blobs, then the manifest's content, its revision link, then the tag. Per
//   repository the pass reads the tags first and the revisions after, so a tag it sees always
//   finds its manifest (its revision was linked before the tag was written), and a manifest pushed
//   during the pass is in the backup, untagged, or not at all: never a tag without its manifest.
//   A push acknowledged before the pass began is in the backup, whole.
// - Blobs a push has uploaded but no manifest names yet are not in the backup (nothing could pull
//   them). A revision folder without its link is a PUT in progress and is left out.
// - gc may set content aside (quarantine.ts) while the pass or the copy reads it: reading it
//   through the store puts it back, as any pull does. Content gc deleted for good before the copy
//   reached it is reported by create, with the manifests and tags that needed it; never dropped
//   silently.
import type { ImageStore } from '../storage/store.js';
import { readLink } from '../storage/links.js';
import { formatDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import type { ParsedManifest } from '../oci/manifest.js';
import { compareLexical } from '../storage/manifests.js';

/**
 * SnapshotManifest is one manifest the pass read. Neither its body nor its parsed form is kept:
 * a storage may hold thousands of manifests of megabytes (bench/hostile-manifests.mjs), and what the
 * pass keeps must stay the size of the unique digests, as gc's marking does. The copy and the index
 * read each manifest again, one at a time (its content under a digest never changes).
 */
export interface SnapshotManifest {
  digest: Digest;
  size: number;
}

/** ReadManifest is a manifest read and parsed, for the moment it is needed. */
export interface ReadManifest {
  digest: Digest;
  body: Buffer;
  parsed: ParsedManifest;
}

/** SnapshotRepository is what the pass found in one repository. */
export interface SnapshotRepository {
  name: string;
  tags: Map<string, string>;
  /** manifest digests of the repository (tagged, untagged, index children) */
  manifests: Set<string>;
}

/** Snapshot is the result of the metadata pass. */
export interface Snapshot {
  startedAt: Date;
  repositories: SnapshotRepository[];
  /** every manifest read, by digest */
  manifests: Map<string, SnapshotManifest>;
  /** every blob (config, layer) those manifests name, once each */
  blobs: Set<string>;
  /** manifests the pass saw but could not read, per repository: digest -> why */
  unreadable: Array<{ repository: string; manifest: string; tags: string[]; reason: string }>;
}

/** blobsOf lists the digests a manifest needs besides its children: config and layers (not foreign layers with URLs). */
export function blobsOf(parsed: ParsedManifest): string[] {
  const out: string[] = [];
  for (const b of parsed.blobs) {
    if (b.urls && b.urls.length > 0) continue;
    const d = tryParseDigest(b.digest);
    if (d) out.push(formatDigest(d));
  }
  return [...new Set(out)];
}

/** childrenOf lists an index's child manifests. */
export function childrenOf(parsed: ParsedManifest): string[] {
  const out: string[] = [];
  for (const m of parsed.manifests) {
    const d = tryParseDigest(m.digest);
    if (d) out.push(formatDigest(d));
  }
  return [...new Set(out)];
}

/** readManifest reads and parses manifest `d`; a string says why it cannot. */
export async function readManifest(store: ImageStore, d: Digest): Promise<ReadManifest | string> {
  let body: Buffer;
  try {
    body = await store.blobs.read(d);
  } catch {
    // Set aside by a gc in flight: asking for its size puts it back (a use, as a pull).
    if ((await store.blobs.size(d)) === undefined) return 'its content is gone (deleted, or gc collected it)';
    try {
      body = await store.blobs.read(d);
    } catch {
      return 'its content is gone (deleted, or gc collected it)';
    }
  }
  try {
    return { digest: d, body, parsed: store.manifests.parse(d, body) };
  } catch (err) {
    return `its content does not parse as a manifest (${(err as Error).message})`;
  }
}

/** takeSnapshot runs the metadata pass over every repository of `store`. */
export async function takeSnapshot(store: ImageStore): Promise<Snapshot> {
  const startedAt = new Date();
  const manifests = new Map<string, SnapshotManifest>();
  const blobs = new Set<string>();
  const repositories: SnapshotRepository[] = [];
  const unreadable: Snapshot['unreadable'] = [];
  for (const name of await store.repositories()) {
    const repo: SnapshotRepository = { name, tags: new Map(), manifests: new Set() };
    // Tags first: each points at a manifest whose revision was linked before the tag was written.
    for (const tag of (await store.driver.list(store.paths.tagsRoot(name))).sort(compareLexical)) {
      const d = await store.manifests.resolve(name, tag).catch(() => undefined);
      if (d) repo.tags.set(tag, formatDigest(d));
    }
    const wanted: Digest[] = [...repo.tags.values()].map((t) => tryParseDigest(t)!);
    for (const d of await store.manifests.revisions(name)) {
      // A folder without its link is a PUT in progress (or a crash's leftover): not a manifest yet.
      const link = await readLink(store.driver, store.paths.manifestRevisionLink(name, d));
      if (link && formatDigest(link) === formatDigest(d)) wanted.push(d);
    }
    const failed = new Map<string, string>();
    while (wanted.length > 0) {
      const d = wanted.shift()!;
      const key = formatDigest(d);
      if (repo.manifests.has(key) || failed.has(key)) continue;
      // Known from another repository: its blobs are counted, but its children belong here too.
      const m = await readManifest(store, d);
      if (typeof m === 'string') {
        failed.set(key, m);
        continue;
      }
      manifests.set(key, { digest: d, size: m.body.length });
      repo.manifests.add(key);
      for (const b of blobsOf(m.parsed)) blobs.add(b);
      // An index's children belong to the repository too (a PUT of the index checked they were).
      for (const child of childrenOf(m.parsed)) {
        const cd = tryParseDigest(child)!;
        if (!repo.manifests.has(child)) wanted.push(cd);
      }
    }
    for (const [manifest, reason] of failed) {
      const tags = [...repo.tags].filter(([, d]) => d === manifest).map(([t]) => t);
      for (const t of tags) repo.tags.delete(t);
      unreadable.push({ repository: name, manifest, tags, reason });
    }
    if (repo.manifests.size > 0 || repo.tags.size > 0) repositories.push(repo);
  }
  return { startedAt, repositories, manifests, blobs, unreadable };
}
