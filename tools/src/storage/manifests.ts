// Manifests and tags of a repository. A manifest is a blob plus a revision link; a tag is a
// `current` link (and an index entry per digest it has had). Writes go blob → revision → tag, each
// atomic, so a crash leaves at worst an unreferenced blob for gc, never a tag pointing at nothing.
import type { FsDriver } from './driver.js';
import type { StoragePaths } from './paths.js';
import type { BlobStore } from './blobs.js';
import { readLink, writeLink } from './links.js';
import { digestOf, formatDigest, parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { isValidTag } from '../oci/names.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';

/** StoredManifest is a manifest as read back. */
export interface StoredManifest {
  digest: Digest;
  body: Buffer;
  parsed: ParsedManifest;
}

/** PutResult tells what a manifest PUT stored. */
export interface PutResult {
  digest: Digest;
  subject: string | undefined;
}

/** ManifestStore stores, reads and deletes manifests and tags. */
export class ManifestStore {
  /** parsed manifests by digest; content under a digest never changes, so entries never go stale */
  private readonly parsedCache = new Map<string, ParsedManifest>();

  constructor(
    private readonly paths: StoragePaths,
    private readonly driver: FsDriver,
    private readonly blobs: BlobStore,
  ) {}

  /** resolve turns a tag or digest reference into the digest of a manifest in `repo`. */
  async resolve(repo: string, reference: string): Promise<Digest | undefined> {
    const asDigest = reference.includes(':') ? parseDigest(reference) : undefined;
    if (asDigest) {
      const link = await readLink(this.driver, this.paths.manifestRevisionLink(repo, asDigest));
      return link && formatDigest(link) === formatDigest(asDigest) ? asDigest : undefined;
    }
    if (!isValidTag(reference)) return undefined; // no manifest can be tagged so
    const d = await readLink(this.driver, this.paths.tagCurrentLink(repo, reference));
    if (!d) return undefined;
    // A tag whose revision was deleted behind its back (by distribution's gc, say) is gone.
    const rev = await readLink(this.driver, this.paths.manifestRevisionLink(repo, d));
    return rev ? d : undefined;
  }

  /** get reads a manifest by tag or digest; MANIFEST_UNKNOWN when absent. */
  async get(repo: string, reference: string): Promise<StoredManifest> {
    const d = await this.resolve(repo, reference);
    if (!d) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${clip(reference)} unknown in ${repo}`);
    let body: Buffer;
    try {
      body = await this.blobs.read(d);
    } catch {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${formatDigest(d)} content is missing`);
    }
    return { digest: d, body, parsed: this.parse(d, body) };
  }

  /** parse reads a manifest body once per digest. */
  parse(d: Digest, body: Buffer, contentType?: string): ParsedManifest {
    const key = formatDigest(d);
    let parsed = this.parsedCache.get(key);
    if (!parsed) {
      parsed = parseManifest(body, contentType);
      if (this.parsedCache.size > 10000) this.parsedCache.clear();
      this.parsedCache.set(key, parsed);
    }
    return parsed;
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
    this.parsedCache.set(formatDigest(digest), parsed);
    return { digest, subject: parsed.subject?.digest };
  }

  /** tag points `tag` at manifest `d` (atomic replace). */
  async tag(repo: string, tag: string, d: Digest): Promise<void> {
    await writeLink(this.driver, this.paths.tagIndexLink(repo, tag, d), d);
    await writeLink(this.driver, this.paths.tagCurrentLink(repo, tag), d);
  }

  private async checkReferences(repo: string, parsed: ParsedManifest): Promise<void> {
    const missing: string[] = [];
    await Promise.all(
      parsed.blobs.map(async (b) => {
        if (b.urls && b.urls.length > 0) return; // foreign layers live elsewhere by design
        const d = parseDigest(b.digest);
        if ((await this.blobs.statInRepo(repo, d)) === undefined) missing.push(b.digest);
        else await this.blobs.touch(d); // now referenced: keep it from a concurrent gc's sweep
      }),
    );
    await Promise.all(
      parsed.manifests.map(async (m) => {
        const d = parseDigest(m.digest);
        const link = await readLink(this.driver, this.paths.manifestRevisionLink(repo, d));
        if (!link || (await this.blobs.size(d)) === undefined) missing.push(m.digest);
        else await this.blobs.touch(d);
      }),
    );
    if (missing.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown blob(s) or manifest(s): ${missing.slice(0, 3).join(', ')}`, {
        detail: { digests: missing },
      });
    }
  }

  /** deleteTag removes one tag; other tags on the same digest stay. False when there was none. */
  async deleteTag(repo: string, tag: string): Promise<boolean> {
    if (!isValidTag(tag)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(tag.slice(0, 140))}`);
    return this.driver.deleteIfExists(this.paths.tagDir(repo, tag));
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

  /** tags lists a repository's tags in lexical order. */
  async tags(repo: string): Promise<string[]> {
    const names = await this.driver.list(this.paths.tagsRoot(repo));
    return names.filter((n) => isValidTag(n)).sort(compareLexical);
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
    return this.driver.exists(`${this.paths.repository(repo)}/_manifests`);
  }
}

/** compareLexical orders by code unit, as the spec's "lexical order" means. */
export function compareLexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
