// What an SPDX document says in two numbers: how many packages it lists and under which licences.
// Shared by push (which writes the summary into the SBOM artifact's annotations) and the registry's
// web UI (which reads it back, or computes it from the document when another tool pushed it).
// SPDX 2.x JSON: https://spdx.github.io/spdx-spec/v2.3/ ; SPDX 3.0 JSON-LD: https://spdx.github.io/spdx-spec/v3.0.1/
// Pure functions over parsed JSON: no I/O, so the server imports it without the client's code.

/** SpdxSummary is the display form of an SBOM. */
export interface SpdxSummary {
  /** `SPDX-2.2`, `SPDX-2.3`, `SPDX-3.0` (from the document) */
  version: string;
  /** the document's name */
  name: string | undefined;
  /** packages the SBOM lists (an image's installed packages) */
  packages: number;
  /** licence expression → how many packages declare it (NOASSERTION and NONE left out) */
  licenses: Record<string, number>;
}

/** ANNOTATION_SBOM_PACKAGES and ANNOTATION_SBOM_LICENSES carry the summary on the SBOM artifact's manifest. */
export const ANNOTATION_SBOM_PACKAGES = 'dev.meta-container-registry.sbom.packages';
/** ANNOTATION_SBOM_LICENSES is the licences as `EXPR=count` pairs, comma-separated, most used first. */
export const ANNOTATION_SBOM_LICENSES = 'dev.meta-container-registry.sbom.licenses';
/** ANNOTATION_SBOM_VERSION is the SPDX version of the document. */
export const ANNOTATION_SBOM_VERSION = 'dev.meta-container-registry.sbom.spdx-version';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const NO_LICENSE = new Set(['NOASSERTION', 'NONE', '']);

function count(licenses: Record<string, number>, expression: unknown): void {
  if (typeof expression !== 'string') return;
  const e = expression.trim();
  if (NO_LICENSE.has(e)) return;
  licenses[e] = (licenses[e] ?? 0) + 1;
}

/** spdxVersionOf tells an SPDX JSON document's version, or undefined when it is not SPDX. */
export function spdxVersionOf(doc: unknown): string | undefined {
  if (!isObject(doc)) return undefined;
  if (typeof doc.spdxVersion === 'string' && /^SPDX-2\.\d+$/.test(doc.spdxVersion)) return doc.spdxVersion;
  const context = doc['@context'];
  const contexts = Array.isArray(context) ? context : [context];
  for (const c of contexts) {
    const m = typeof c === 'string' ? /spdx\.org\/rdf\/(3\.\d+)(?:\.\d+)?\//.exec(c) : null;
    if (m) return `SPDX-${m[1]}`;
  }
  return undefined;
}

/**
 * summarizeSpdx2 counts an SPDX 2 document's packages and their declared (else concluded) licences.
 * The package(s) the document describes, or that contain others, are the image, not its content; an image document of
 * oe-core's create-spdx 2.2 lists its packages in other documents (CONTAINS
 * `DocumentRef-x:SPDXRef-y`): `related` gives those documents (the .spdx.tar.zst's) to look in, and
 * without them the count is the CONTAINS relationships and the licences are unknown.
 */
function summarizeSpdx2(doc: Json, version: string, related: unknown[]): SpdxSummary {
  const packages = Array.isArray(doc.packages) ? doc.packages.filter(isObject) : [];
  const relationships = Array.isArray(doc.relationships) ? doc.relationships.filter(isObject) : [];
  const described = new Set<string>(Array.isArray(doc.documentDescribes) ? doc.documentDescribes.filter((x): x is string => typeof x === 'string') : []);
  for (const r of relationships) if (r.relationshipType === 'DESCRIBES' && typeof r.relatedSpdxElement === 'string') described.add(r.relatedSpdxElement);
  // A package that CONTAINS others is their container (oe-core's image package has no DESCRIBES).
  for (const r of relationships) if (r.relationshipType === 'CONTAINS' && typeof r.spdxElementId === 'string') described.add(r.spdxElementId);
  const licenses: Record<string, number> = {};
  const own = packages.filter((p) => !described.has(String(p.SPDXID)));
  for (const p of own) count(licenses, p.licenseDeclared !== undefined && !NO_LICENSE.has(String(p.licenseDeclared)) ? p.licenseDeclared : p.licenseConcluded);
  // External packages an image contains: DocumentRef-<doc>:<SPDXID>.
  const refs = new Map<string, string>();
  for (const r of Array.isArray(doc.externalDocumentRefs) ? doc.externalDocumentRefs.filter(isObject) : [])
    if (typeof r.externalDocumentId === 'string' && typeof r.spdxDocument === 'string') refs.set(r.externalDocumentId, r.spdxDocument);
  const byNamespace = new Map<string, Json>();
  for (const d of related) if (isObject(d) && typeof d.documentNamespace === 'string') byNamespace.set(d.documentNamespace, d);
  let external = 0;
  for (const r of relationships) {
    if (r.relationshipType !== 'CONTAINS' || typeof r.relatedSpdxElement !== 'string') continue;
    const m = /^(DocumentRef-[^:]+):(.+)$/.exec(r.relatedSpdxElement);
    if (!m) continue;
    external++;
    const other = byNamespace.get(refs.get(m[1]!) ?? '');
    const pkg = (Array.isArray(other?.packages) ? other.packages.filter(isObject) : []).find((p) => p.SPDXID === m[2]);
    if (pkg) count(licenses, pkg.licenseDeclared !== undefined && !NO_LICENSE.has(String(pkg.licenseDeclared)) ? pkg.licenseDeclared : pkg.licenseConcluded);
  }
  return { version, name: typeof doc.name === 'string' ? doc.name : undefined, packages: own.length + external, licenses };
}

/**
 * summarizeSpdx3 counts an SPDX 3 JSON-LD document's software_Package elements and the licence
 * expressions their hasDeclaredLicense (else hasConcludedLicense) relationships point at.
 */
function summarizeSpdx3(doc: Json, version: string): SpdxSummary {
  const graph = Array.isArray(doc['@graph']) ? doc['@graph'].filter(isObject) : [];
  const id = (e: Json) => (typeof e.spdxId === 'string' ? e.spdxId : typeof e['@id'] === 'string' ? e['@id'] : undefined);
  const expressions = new Map<string, string>();
  for (const e of graph)
    if (e.type === 'simplelicensing_LicenseExpression' && typeof e.simplelicensing_licenseExpression === 'string' && id(e))
      expressions.set(id(e)!, e.simplelicensing_licenseExpression);
  const packages = graph.filter((e) => e.type === 'software_Package');
  const declared = new Map<string, string>();
  const concluded = new Map<string, string>();
  for (const r of graph) {
    if (r.type !== 'Relationship' || typeof r.from !== 'string' || !Array.isArray(r.to)) continue;
    const target = r.to.find((x): x is string => typeof x === 'string' && expressions.has(x));
    if (!target) continue;
    if (r.relationshipType === 'hasDeclaredLicense') declared.set(r.from, expressions.get(target)!);
    if (r.relationshipType === 'hasConcludedLicense') concluded.set(r.from, expressions.get(target)!);
  }
  const licenses: Record<string, number> = {};
  for (const p of packages) {
    const key = id(p) ?? '';
    count(licenses, declared.get(key) ?? concluded.get(key));
  }
  const sbom = graph.find((e) => e.type === 'software_Sbom' || e.type === 'SpdxDocument');
  return { version, name: typeof sbom?.name === 'string' ? sbom.name : undefined, packages: packages.length, licenses };
}

/** summarizeSpdx summarizes a parsed SPDX 2.x or 3.x JSON document; undefined when it is neither. */
export function summarizeSpdx(doc: unknown, related: unknown[] = []): SpdxSummary | undefined {
  const version = spdxVersionOf(doc);
  if (!version || !isObject(doc)) return undefined;
  return version.startsWith('SPDX-2.') ? summarizeSpdx2(doc, version, related) : summarizeSpdx3(doc, version);
}

/** formatLicenses writes the licence counts as `EXPR=n,EXPR=n`, most used first (the annotation's form). */
export function formatLicenses(licenses: Record<string, number>): string {
  return Object.entries(licenses)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k.replace(/[,=]/g, ' ')}=${v}`)
    .join(',');
}

/** parseLicenses reads formatLicenses' form back (bad pairs are skipped). */
export function parseLicenses(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of (text ?? '').split(',')) {
    const eq = pair.lastIndexOf('=');
    const n = Number(pair.slice(eq + 1));
    if (eq > 0 && Number.isSafeInteger(n) && n > 0) out[pair.slice(0, eq)] = n;
  }
  return out;
}

/** summaryAnnotations gives the annotations push sets on an SBOM artifact. */
export function summaryAnnotations(s: SpdxSummary): Record<string, string> {
  return { [ANNOTATION_SBOM_VERSION]: s.version, [ANNOTATION_SBOM_PACKAGES]: String(s.packages), [ANNOTATION_SBOM_LICENSES]: formatLicenses(s.licenses) };
}

/** summaryFromAnnotations reads them back; undefined when they are not there. */
export function summaryFromAnnotations(a: Record<string, string> | undefined): SpdxSummary | undefined {
  const packages = Number(a?.[ANNOTATION_SBOM_PACKAGES]);
  if (!a || !Number.isSafeInteger(packages) || packages < 0) return undefined;
  return { version: a[ANNOTATION_SBOM_VERSION] ?? 'SPDX', name: undefined, packages, licenses: parseLicenses(a[ANNOTATION_SBOM_LICENSES]) };
}

/** SourceRef is a recipe source an SBOM names: where it was downloaded from. */
export interface SourceRef {
  uri: string;
  name?: string;
}

/** MAX_SOURCES caps the sources taken from SBOMs (an image of thousands of packages names fewer recipes). */
const MAX_SOURCES = 2000;

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * sourcesOfSpdx lists the download locations SPDX documents name, once each: SPDX 2 packages'
 * `downloadLocation` (create-spdx 2.2's recipe documents give each SRC_URI entry so), SPDX 3
 * software_Package's `software_downloadLocation`; NOASSERTION and non-URLs are left out.
 */
export function sourcesOfSpdx(docs: unknown[]): SourceRef[] {
  const out = new Map<string, SourceRef>();
  const add = (uri: unknown, name: unknown) => {
    if (typeof uri !== 'string' || !URL_LIKE.test(uri) || out.has(uri) || out.size >= MAX_SOURCES) return;
    out.set(uri, typeof name === 'string' && name ? { uri, name } : { uri });
  };
  for (const doc of docs) {
    if (!isObject(doc)) continue;
    for (const p of Array.isArray(doc.packages) ? doc.packages.filter(isObject) : []) add(p.downloadLocation, p.name);
    for (const e of Array.isArray(doc['@graph']) ? doc['@graph'].filter(isObject) : [])
      if (e.type === 'software_Package') add(e.software_downloadLocation, e.name);
  }
  return [...out.values()];
}
