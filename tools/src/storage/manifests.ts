// Manifests and tags of a repository. A manifest is a blob plus a revision link; a tag is a
// `current` link (and an index entry per digest it has had). Writes go blob → revision → tag, each
// atomic, so a crash leaves at worst an unreferenced blob for gc, never a tag pointing at nothing.
import type { StorageDriver } from './driver.js';
import type { StoragePaths } from './paths.js';
import type { BlobStore } from './blobs.js';
import { readLink, writeLink } from './links.js';
import { digestOf, formatDigest, parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { isValidTag } from '../oci/names.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { WeightedLru } from './lru.js';
import { restoreRevision } from './quarantine.js';
import { mapLimited } from '../common/bounded.js';

/** PARSED_CACHE_BYTES bounds the parsed-manifest cache by the manifests' own sizes (parsed, about 2-3x). */
const PARSED_CACHE_BYTES = 16 * 1024 * 1024;
/** Manifests larger than this are parsed each time rather than kept. */
const PARSED_ENTRY_MAX = 512 * 1024;
/** FAN_OUT bounds the file operations one request runs at once (a manifest may name 20,000 blobs). */
export const FAN_OUT = 16;

/** StoredManifest is a manifest as read back. */
export interface StoredManifest {
  digest: Digest;
  body: Buffer;
  parsed: ParsedManifest;
}

/**
 * ManifestSummary is what is remembered of a manifest without its body: its media type (absent when
 * only the subject was looked for), subject digest ('' for none), artifact type and annotations
 * (kept only up to SUMMARY_ANNOTATIONS_MAX; `annotationsInBody` says to read them from the body).
 */
export interface ManifestSummary {
  mediaType?: string;
  subject: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  annotationsInBody?: boolean;
}

/** SUMMARY_ANNOTATIONS_MAX bounds the annotations a summary keeps (JSON characters). */
const SUMMARY_ANNOTATIONS_MAX = 4096;

/** PutResult tells what a manifest PUT stored. */
export interface PutResult {
  digest: Digest;
  subject: string | undefined;
}

/** ManifestStore stores, reads and deletes manifests and tags. */
export class ManifestStore {
  /** parsed manifests by digest; content under a digest never changes, so entries never go stale */
  private readonly parsedCache = new WeightedLru<string, ParsedManifest>({ maxWeight: PARSED_CACHE_BYTES, maxEntryWeight: PARSED_ENTRY_MAX });
  /** what GET and the referrers API need of each manifest read, without its body: a few hundred bytes each */
  private readonly summaries = new WeightedLru<string, ManifestSummary>({ maxWeight: 16 * 1024 * 1024 });

  constructor(
    private readonly paths: StoragePaths,
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
  ) {}

  /** resolve turns a tag or digest reference into the digest of a manifest in `repo`. */
  async resolve(repo: string, reference: string): Promise<Digest | undefined> {
    const asDigest = reference.includes(':') ? parseDigest(reference) : undefined;
    if (asDigest) {
      const link = await this.revisionLink(repo, asDigest);
      return link && formatDigest(link) === formatDigest(asDigest) ? asDigest : undefined;
    }
    if (!isValidTag(reference)) return undefined; // no manifest can be tagged so
    const d = await readLink(this.driver, this.paths.tagCurrentLink(repo, reference));
    if (!d) return undefined;
    // A tag whose revision was deleted behind its back (by distribution's gc, say) is gone.
    const rev = await this.revisionLink(repo, d);
    return rev ? d : undefined;
  }

  /** revisionLink reads a revision's link; a revision gc has set aside is put back first (a use). */
  private async revisionLink(repo: string, d: Digest): Promise<Digest | undefined> {
    return (await this.revisionLinkRestoring(repo, d)).link;
  }

  private async revisionLinkRestoring(repo: string, d: Digest): Promise<{ link: Digest | undefined; restored: boolean }> {
    const link = await readLink(this.driver, this.paths.manifestRevisionLink(repo, d));
    if (link || !(await restoreRevision(this.driver, this.paths, repo, d))) return { link, restored: false };
    return { link: await readLink(this.driver, this.paths.manifestRevisionLink(repo, d)), restored: true };
  }

  /**
   * complete tells whether everything a manifest names is stored in `repo`, putting back what gc set
   * aside on the way: a child revision restored from gc's quarantine takes its blobs back with it,
   * or, when gc deleted one of them first, counts as missing (the PUT naming it then fails).
   */
  private async complete(repo: string, d: Digest, depth = 0): Promise<boolean> {
    if (depth > 8) return false;
    let parsed: ParsedManifest;
    try {
      parsed = this.parse(d, await this.blobs.read(d));
    } catch {
      return false;
    }
    const blobs = [...new Set(parsed.blobs.filter((b) => !(b.urls && b.urls.length > 0)).map((b) => b.digest))];
    const found = await mapLimited(blobs, FAN_OUT, async (text) => (await this.blobs.statInRepo(repo, parseDigest(text))) !== undefined);
    if (found.includes(false)) return false;
    for (const m of parsed.manifests) {
      const child = parseDigest(m.digest);
      if (!(await this.revisionLink(repo, child)) || !(await this.complete(repo, child, depth + 1))) return false;
    }
    return true;
  }

  /** get reads a manifest by tag or digest; MANIFEST_UNKNOWN when absent. */
  async get(repo: string, reference: string): Promise<StoredManifest> {
    const d = await this.resolve(repo, reference);
    if (!d) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${clip(reference)} unknown in ${repo}`);
    const body = await this.body(d);
    return { digest: d, body, parsed: this.parse(d, body) };
  }

  /** parse reads a manifest body, once per digest while the bounded cache keeps it. */
  parse(d: Digest, body: Buffer, contentType?: string): ParsedManifest {
    const key = formatDigest(d);
    let parsed = this.parsedCache.get(key);
    if (!parsed) {
      parsed = parseManifest(body, contentType);
      this.remember(key, body.length, parsed);
    }
    return parsed;
  }

  private remember(key: string, bytes: number, parsed: ParsedManifest): void {
    this.parsedCache.set(key, parsed, bytes);
    const summary: ManifestSummary = { mediaType: parsed.mediaType, subject: parsed.subject?.digest ?? '', artifactType: parsed.artifactType };
    let weight = 160 + key.length + summary.subject.length + (parsed.artifactType?.length ?? 0);
    if (parsed.annotations !== undefined) {
      // Large annotations stay in the body: a referrers answer reads that one manifest again.
      const size = JSON.stringify(parsed.annotations).length;
      if (size <= SUMMARY_ANNOTATIONS_MAX) {
        summary.annotations = parsed.annotations;
        weight += size * 2;
      } else summary.annotationsInBody = true;
    }
    this.summaries.set(key, summary, weight);
  }

  /**
   * summaryOf tells what the referrers API needs of a stored manifest (undefined when its content is
   * gone or does not parse). Remembered per digest, so the referrers API and gc read each manifest
   * once, not once per call; a body without the word "subject" is not even parsed.
   */
  async summaryOf(d: Digest): Promise<ManifestSummary | undefined> {
    const key = formatDigest(d);
    const known = this.summaries.get(key);
    if (known !== undefined) return known;
    let body: Buffer;
    try {
      body = await this.blobs.read(d);
    } catch {
      return undefined;
    }
    if (!body.includes('"subject"')) {
      const none: ManifestSummary = { subject: '' };
      this.summaries.set(key, none, 64 + key.length);
      return none;
    }
    try {
      const parsed = this.parse(d, body);
      return (
        this.summaries.get(key) ?? {
          mediaType: parsed.mediaType,
          subject: parsed.subject?.digest ?? '',
          artifactType: parsed.artifactType,
          annotationsInBody: true,
        }
      );
    } catch {
      return undefined;
    }
  }

  /** subjectOf tells the subject digest of a stored manifest ('' for none; undefined when unreadable). */
  async subjectOf(d: Digest): Promise<string | undefined> {
    return (await this.summaryOf(d))?.subject;
  }

  /**
   * read is a manifest's digest, body and media type by tag or digest, parsed only when its media
   * type is not remembered yet (a GET of a 4 MiB manifest then costs a file read, not a JSON parse).
   */
  async read(repo: string, reference: string): Promise<{ digest: Digest; body: Buffer; mediaType: string }> {
    const d = await this.resolve(repo, reference);
    if (!d) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${clip(reference)} unknown in ${repo}`);
    const body = await this.body(d);
    const mediaType = this.summaries.get(formatDigest(d))?.mediaType ?? this.parse(d, body).mediaType;
    return { digest: d, body, mediaType };
  }

  private async body(d: Digest): Promise<Buffer> {
    try {
      return await this.blobs.read(d);
    } catch {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${formatDigest(d)} content is missing`);
    }
  }

  /**
   * put validates and stores a manifest under `reference` (a tag, or the digest it must have).
   * Every blob and child manifest it names must already be in `repo` (MANIFEST_BLOB_UNKNOWN).
   */
  async put(repo: string, reference: string, body: Buffer, contentType: string | undefined): Promise<PutResult> {
    let digest: Digest;
    let tag: string | undefined;
    if (reference.includes(':')) {
      const wanted = parseDigest(reference);
      const actual = parseDigest(digestOf(body, wanted.algorithm));
      if (actual.hex !== wanted.hex) {
        throw new RegistryError('DIGEST_INVALID', `manifest digest is ${formatDigest(actual)}, not ${reference}`);
      }
      digest = wanted;
    } else {
      if (!isValidTag(reference)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(reference.slice(0, 140))}`);
      tag = reference;
      digest = parseDigest(digestOf(body, 'sha256'));
    }
    const parsed = parseManifest(body, contentType);
    await this.checkReferences(repo, parsed);
    await this.blobs.writeSmall(digest, body);
    await writeLink(this.driver, this.paths.manifestRevisionLink(repo, digest), digest);
    if (tag) await this.tag(repo, tag, digest);
    this.remember(formatDigest(digest), body.length, parsed);
    return { digest, subject: parsed.subject?.digest };
  }

  /** tag points `tag` at manifest `d` (atomic replace). */
  async tag(repo: string, tag: string, d: Digest): Promise<void> {
    await writeLink(this.driver, this.paths.tagIndexLink(repo, tag, d), d);
    await writeLink(this.driver, this.paths.tagCurrentLink(repo, tag), d);
  }

  private async checkReferences(repo: string, parsed: ParsedManifest): Promise<void> {
    const missing: string[] = [];
    // Each digest once, a few at a time: a manifest naming 20,000 layers must not open 20,000 files.
    const blobs = [...new Set(parsed.blobs.filter((b) => !(b.urls && b.urls.length > 0)).map((b) => b.digest))];
    await mapLimited(blobs, FAN_OUT, async (text) => {
      // now referenced: claim it, which keeps it from a concurrent gc's sweep
      if ((await this.blobs.claim(repo, parseDigest(text))) === undefined) missing.push(text);
    });
    const children = [...new Set(parsed.manifests.map((m) => m.digest))];
    await mapLimited(children, FAN_OUT, async (text) => {
      const d = parseDigest(text);
      const { link, restored } = await this.revisionLinkRestoring(repo, d);
      if (!link || (await this.blobs.size(d)) === undefined || (restored && !(await this.complete(repo, d)))) missing.push(text);
      else {
        await this.blobs.touch(d);
        // On S3, a second look after the record (blobs.ts claim): a gc sees the record or set it aside first.
        if (!this.driver.atomicRename && (!(await this.revisionLink(repo, d)) || (await this.blobs.size(d)) === undefined)) missing.push(text);
      }
    });
    if (missing.length > 0) {
      throw new RegistryError(
        'MANIFEST_BLOB_UNKNOWN',
        `manifest references ${missing.length} unknown blob(s) or manifest(s): ${missing.slice(0, 3).join(', ')}`,
        {
          detail: { digests: missing.slice(0, 100) },
        },
      );
    }
  }

  /**
   * deleteTag removes one tag; other tags on the same digest stay. False when there was none. The
   * manifest's revision gets an `untagged` stamp (paths.ts), so gc --delete-untagged knows it was
   * let go by a user rather than pushed by digest moments ago, and frees it without the grace period.
   */
  async deleteTag(repo: string, tag: string): Promise<boolean> {
    if (!isValidTag(tag)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(tag.slice(0, 140))}`);
    const current = await readLink(this.driver, this.paths.tagCurrentLink(repo, tag));
    if (!(await this.driver.deleteIfExists(this.paths.tagDir(repo, tag)))) return false;
    // Only a hint for gc: the tag is gone whatever happens to it (a revision gc set aside has no folder).
    if (current) await this.driver.stamp(this.paths.manifestRevisionUntagged(repo, current)).catch(() => false);
    return true;
  }

  /** deleteManifest removes a manifest by digest, and the tags that point at it (as distribution does). */
  async deleteManifest(repo: string, d: Digest): Promise<boolean> {
    const link = await readLink(this.driver, this.paths.manifestRevisionLink(repo, d));
    if (!link) return false;
    for (const tag of await this.tags(repo)) {
      const current = await readLink(this.driver, this.paths.tagCurrentLink(repo, tag));
      if (current && formatDigest(current) === formatDigest(d)) await this.driver.deleteIfExists(this.paths.tagDir(repo, tag));
    }
    await this.driver.deleteIfExists(this.paths.manifestRevisionDir(repo, d));
    return true;
  }

  /**
   * tags lists a repository's tags in lexical order: only those that resolve, so a tag folder left
   * half-written by a crash (index link written, `current` not yet) or a tag whose revision is gone
   * is never listed only to answer 404. (distribution 2.8 lists every tag folder.)
   */
  async tags(repo: string): Promise<string[]> {
    const names = (await this.driver.list(this.paths.tagsRoot(repo))).filter((n) => isValidTag(n));
    const live = await mapLimited(names, FAN_OUT, async (n) => (await this.resolve(repo, n)) !== undefined);
    return names.filter((_, i) => live[i]).sort(compareLexical);
  }

  /** revisions lists every manifest digest of a repository. */
  async revisions(repo: string): Promise<Digest[]> {
    const out: Digest[] = [];
    const root = this.paths.manifestRevisionsRoot(repo);
    for (const alg of await this.driver.list(root)) {
      for (const hex of await this.driver.list(`${root}/${alg}`)) {
        const d = tryParseDigest(`${alg}:${hex}`);
        if (d) out.push(d);
      }
    }
    return out;
  }

  /** exists tells whether `repo` has any manifest or tag folder (the spec's "known" repository). */
  async exists(repo: string): Promise<boolean> {
    return this.driver.exists(this.paths.manifestsDir(repo));
  }
}

/** compareLexical orders by code unit, as the spec's "lexical order" means. */
export function compareLexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
