// The image page's supply chain: what an image's SBOM and provenance referrers say, read server-side
// and bounded (a referrer is whatever a client pushed: hostile until parsed). The SBOM's package
// count and licences come from the summary push wrote into its annotations, else from the document;
// the provenance's builder, times and layers with their revisions from the DSSE envelope's
// statement; `signed` whether the image has a sigstore signature (signing/stored.ts; not checked
// against a key: `verify` does that).
import type { Descriptor } from '../oci/manifest.js';
import { parseDigest } from '../oci/digest.js';
import { mapLimited } from '../common/bounded.js';
import { summarizeSpdx, summaryFromAnnotations } from '../supply/spdx-summary.js';
import { IN_TOTO_PAYLOAD_TYPE, SLSA_PROVENANCE, statementOf } from '../supply/provenance.js';
import type { ImageStore } from '../storage/store.js';
import { isSignedInStore } from '../signing/stored.js';

/** SPDX_TYPE is the SBOM artifactType push uses (SPDX's registered media type). */
const SPDX_TYPE = 'application/spdx+json';

/** MAX_SBOM_BYTES caps an SBOM document the page parses when its manifest carries no summary. */
const MAX_SBOM_BYTES = 32 * 1024 * 1024;

/** MAX_ENVELOPE_BYTES caps a provenance envelope read. */
const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

/** MAX_ARTIFACTS caps the referrers read for one page. */
const MAX_ARTIFACTS = 32;

/** MAX_LICENSES caps the licences listed per SBOM (the most used). */
const MAX_LICENSES = 20;

/** SupplySubject is a manifest whose referrers the page shows: the image itself, or one platform of an index. */
export interface SupplySubject {
  digest: string;
  platform: string | null;
  referrers: Descriptor[];
}

/** SbomView is one SBOM's summary. */
export interface SbomView {
  subject: string;
  platform: string | null;
  digest: string;
  version: string;
  packages: number;
  /** [expression, packages] pairs, most used first */
  licenses: Array<[string, number]>;
  licensesTruncated: boolean;
}

/** ProvenanceView is one provenance statement's summary. */
export interface ProvenanceView {
  subject: string;
  platform: string | null;
  digest: string;
  builder: string | null;
  buildType: string | null;
  startedOn: string | null;
  finishedOn: string | null;
  parameters: Record<string, string>;
  layers: Array<{ name: string; uri: string | null; revision: string | null }>;
  /** signatures the envelope carries (not verified here) */
  signatures: number;
}

/** SupplyChainView is the page's supply-chain section. */
export interface SupplyChainView {
  sboms: SbomView[];
  provenance: ProvenanceView[];
  /** whether the image (its first subject: the manifest or index the page shows) has a sigstore signature */
  signed: boolean;
}

/** ReadBlob reads a blob of at most `max` bytes (undefined: missing or larger). */
export type ReadBlob = (digest: string, max: number) => Promise<Buffer | undefined>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function firstLayer(store: ImageStore, repository: string, digest: string, read: ReadBlob, max: number): Promise<Buffer | undefined> {
  const m = await store.manifests.get(repository, digest);
  const layer = m.parsed.isIndex ? undefined : m.parsed.blobs.find((b) => b !== m.parsed.config);
  if (!layer || layer.size > max) return undefined;
  parseDigest(layer.digest);
  return read(layer.digest, max);
}

async function sbomView(store: ImageStore, repository: string, s: SupplySubject, r: Descriptor, read: ReadBlob): Promise<SbomView | undefined> {
  let summary = summaryFromAnnotations(r.annotations);
  if (!summary) {
    const doc = await firstLayer(store, repository, r.digest, read, MAX_SBOM_BYTES);
    if (!doc) return undefined;
    summary = summarizeSpdx(JSON.parse(doc.toString('utf8')));
  }
  if (!summary) return undefined;
  const licenses = Object.entries(summary.licenses).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return {
    subject: s.digest,
    platform: s.platform,
    digest: r.digest,
    version: summary.version,
    packages: summary.packages,
    licenses: licenses.slice(0, MAX_LICENSES),
    licensesTruncated: licenses.length > MAX_LICENSES,
  };
}

async function provenanceView(store: ImageStore, repository: string, s: SupplySubject, r: Descriptor, read: ReadBlob): Promise<ProvenanceView | undefined> {
  const bytes = await firstLayer(store, repository, r.digest, read, MAX_ENVELOPE_BYTES);
  if (!bytes) return undefined;
  const statement = statementOf(bytes);
  if (!statement || statement.predicateType !== SLSA_PROVENANCE || !isObject(statement.predicate)) return undefined;
  const envelope = JSON.parse(bytes.toString('utf8')) as { signatures?: unknown };
  const p = statement.predicate;
  const def = isObject(p.buildDefinition) ? p.buildDefinition : {};
  const run = isObject(p.runDetails) ? p.runDetails : {};
  const meta = isObject(run.metadata) ? run.metadata : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const parameters: Record<string, string> = {};
  if (isObject(def.externalParameters))
    for (const [k, v] of Object.entries(def.externalParameters)) parameters[k] = Array.isArray(v) ? v.map(String).join(' ') : String(v);
  const layers = (Array.isArray(def.resolvedDependencies) ? def.resolvedDependencies : [])
    .filter(isObject)
    .filter((d) => isObject(d.digest) && typeof d.digest.gitCommit === 'string')
    .map((d) => ({ name: str(d.name) ?? '', uri: str(d.uri), revision: str((d.digest as Record<string, unknown>).gitCommit) }));
  return {
    subject: s.digest,
    platform: s.platform,
    digest: r.digest,
    builder: isObject(run.builder) ? str(run.builder.id) : null,
    buildType: str(def.buildType),
    startedOn: str(meta.startedOn),
    finishedOn: str(meta.finishedOn),
    parameters,
    layers,
    signatures: Array.isArray(envelope.signatures) ? envelope.signatures.length : 0,
  };
}

/** supplyChainView reads the SBOM and provenance referrers of `subjects` (a bad or missing one is left out). */
export async function supplyChainView(store: ImageStore, repository: string, subjects: SupplySubject[], read: ReadBlob): Promise<SupplyChainView> {
  const work: Array<{ s: SupplySubject; r: Descriptor }> = [];
  for (const s of subjects) for (const r of s.referrers) if (r.artifactType === SPDX_TYPE || r.artifactType === IN_TOTO_PAYLOAD_TYPE) work.push({ s, r });
  const views = await mapLimited(work.slice(0, MAX_ARTIFACTS), 4, async ({ s, r }) => {
    try {
      return r.artifactType === SPDX_TYPE ? await sbomView(store, repository, s, r, read) : await provenanceView(store, repository, s, r, read);
    } catch {
      // Gone, not JSON, not what its type says: not shown.
      return undefined;
    }
  });
  const signed = subjects[0] ? await isSignedInStore(store, repository, subjects[0].digest) : false;
  const view: SupplyChainView = { sboms: [], provenance: [], signed };
  for (const v of views) {
    if (!v) continue;
    if ('packages' in v) view.sboms.push(v);
    else view.provenance.push(v);
  }
  return view;
}
