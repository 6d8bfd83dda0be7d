// What push attaches to each image it pushes: the SBOM and the provenance, per platform (each
// platform's manifest is the subject; an index is not, since what a board pulls and runs is its
// platform's manifest). Everything is read and checked before the push sends anything (an
// explicit file that is missing or not JSON stops the run first); attaching follows the push.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RegistrySession } from '../client/session.js';
import type { Descriptor } from '../oci/manifest.js';
import { platformKey } from '../oci/platform.js';
import type { PlannedImage } from '../push/deploy.js';
import type { Env } from '../settings/values.js';
import type { ArtifactLayer, AttachedArtifact } from './artifact.js';
import { gatherFacts } from './facts.js';
import { summaryFromAnnotations } from './spdx-summary.js';
import { DSSE_MEDIA_TYPE, type DsseSigner, IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, dsseEnvelope, provenanceStatement } from './provenance.js';
import { SPDX_ARTIFACT_TYPE, SbomError, type SbomDocument, type SbomMode, imageStems, findSpdx, readSbom } from './sbom.js';

/** ProvenanceMode is `--provenance`: from the build's facts, skip, or a file (a statement or an envelope). */
export type ProvenanceMode = { kind: 'auto' } | { kind: 'none' } | { kind: 'file'; path: string };

/** parseProvenanceMode reads `--provenance` / CONTAINER_REGISTRY_PROVENANCE like parseSbomMode. */
export function parseProvenanceMode(value: string | undefined): ProvenanceMode {
  const v = (value ?? '').trim();
  if (!v || /^(auto|1|on|yes|true)$/i.test(v)) return { kind: 'auto' };
  if (/^(none|0|off|no|false)$/i.test(v)) return { kind: 'none' };
  return { kind: 'file', path: v };
}

/** SupplyKind names what an artifact is (the --json `kind`): these two, and whatever `more` adds (`trace`). */
export type SupplyKind = 'sbom' | 'provenance' | (string & {});

/** ImageInDeploy is one platform image of a push as planSupply sees it, for `more`. */
export interface ImageInDeploy {
  repository: string;
  /** the platform manifest the artifacts refer to */
  subject: Descriptor;
  platform: string;
  /** its machine folder, and the names its deploy files share (IMAGE_NAME first) */
  folder: string;
  stems: string[];
  machine: string;
}

/** SupplyOptions are what to attach and what the statements need. */
export interface SupplyOptions {
  sbom: SbomMode;
  provenance: ProvenanceMode;
  env: Env;
  deployDir: string;
  /** `host[:port]` of the registry, for the provenance subject's name */
  registry: string;
  toolVersion: string;
  /** signs the provenance envelope (the PKI's key); absent: unsigned, `signatures: []` */
  signDsse?: DsseSigner;
  info: (line: string) => void;
  warn: (line: string) => void;
  /** more artifacts to attach to an image (a build trace), planned with the SBOM and provenance */
  more?: (image: ImageInDeploy) => Promise<PlannedArtifact[]>;
}

/** PlannedArtifact is one artifact ready to attach to one platform manifest. */
export interface PlannedArtifact {
  kind: SupplyKind;
  artifactType: string;
  layers: ArtifactLayer[];
  annotations: Record<string, string>;
  /** the file it came from (SBOM, explicit provenance) */
  path?: string;
  /** the created annotation: the image's build time (or the build's end), so a re-push makes the same artifact */
  created?: Date;
  /** asked for by name (--sbom FILE, --provenance FILE): failing to attach it fails the push; `auto` only warns */
  required: boolean;
}

/** SupplyPlan is what to attach to one pushed manifest. */
export interface SupplyPlan {
  repository: string;
  subject: Descriptor;
  platform: string;
  artifacts: PlannedArtifact[];
}

/** AttachedSupply is the --json record of one attached artifact. */
export interface AttachedSupply {
  repository: string;
  subject: string;
  platform: string;
  kind: SupplyKind;
  artifactType: string;
  digest: string;
  size: number;
  /** the fallback tag kept on a registry without the referrers API */
  fallbackTag?: string;
}

function sbomArtifact(doc: SbomDocument): PlannedArtifact {
  return { kind: 'sbom', artifactType: SPDX_ARTIFACT_TYPE, layers: doc.layers, annotations: doc.annotations, path: doc.path, required: false };
}

/** readProvenanceFile reads an explicit provenance: a DSSE envelope as is, a bare in-toto statement wrapped in one. */
async function readProvenanceFile(path: string, signDsse: DsseSigner | undefined): Promise<PlannedArtifact> {
  let bytes: Buffer;
  try {
    if (!(await stat(path)).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
    bytes = await readFile(path);
  } catch (err) {
    throw new SbomError(`provenance ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new SbomError(`provenance ${path} is not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  if (doc && doc.payloadType === IN_TOTO_PAYLOAD_TYPE && typeof doc.payload === 'string') {
    return {
      kind: 'provenance',
      artifactType: IN_TOTO_PAYLOAD_TYPE,
      layers: [{ mediaType: DSSE_MEDIA_TYPE, content: bytes }],
      annotations: {},
      path,
      required: true,
    };
  }
  if (doc && doc._type === STATEMENT_TYPE) {
    return {
      kind: 'provenance',
      artifactType: IN_TOTO_PAYLOAD_TYPE,
      layers: [{ mediaType: DSSE_MEDIA_TYPE, content: await dsseEnvelope(doc, signDsse) }],
      annotations: {},
      path,
      required: true,
    };
  }
  throw new SbomError(`provenance ${path} is neither a DSSE envelope (payloadType ${IN_TOTO_PAYLOAD_TYPE}) nor an in-toto statement (_type ${STATEMENT_TYPE})`);
}

/** imageCreated reads an image config's `created` (when the image was built); undefined when it has none. */
function imageCreated(config: Buffer): Date | undefined {
  try {
    const created = (JSON.parse(config.toString('utf8')) as { created?: unknown }).created;
    const t = typeof created === 'string' ? Date.parse(created) : Number.NaN;
    return Number.isNaN(t) ? undefined : new Date(t);
  } catch {
    return undefined;
  }
}

/**
 * planSupply reads, for every image of `plans`, the SBOM and builds the provenance to attach. An
 * explicit --sbom/--provenance file that cannot be used throws (nothing was sent yet); an SBOM
 * that `auto` does not find is one info line, one it finds but cannot read a warning.
 */
export async function planSupply(plans: PlannedImage[], opts: SupplyOptions): Promise<SupplyPlan[]> {
  const out: SupplyPlan[] = [];
  const explicitSbom = opts.sbom.kind === 'file' ? await readSbom(opts.sbom.path) : undefined;
  const explicitProvenance = opts.provenance.kind === 'file' ? await readProvenanceFile(opts.provenance.path, opts.signDsse) : undefined;
  const parent = dirname(resolve(opts.deployDir));
  for (const plan of plans) {
    for (const [i, image] of plan.images.entries()) {
      const origin = plan.origins[i]!;
      const folder = join(parent, origin.machine);
      const stems = imageStems(origin.entry, basename(origin.path), origin.name, origin.machine);
      const subject: Descriptor = { mediaType: image.mediaType, digest: image.manifestDigest, size: image.manifest.length };
      const built = imageCreated(image.configBody);
      const platform = platformKey(image.platform);
      const artifacts: PlannedArtifact[] = [];
      let sbom = explicitSbom;
      if (opts.sbom.kind === 'auto') {
        const found = await findSpdx(folder, stems);
        if (found) {
          // One the build left that cannot be read (truncated, no zstd for an archive) costs its SBOM, not the push.
          sbom = await readSbom(found).catch((err: unknown) => {
            if (!(err instanceof SbomError)) throw err;
            opts.warn(`${plan.repository} (${platform}): ${err.message}; no SBOM attached`);
            return undefined;
          });
        } else opts.info(`  ${plan.repository} (${platform}): no SPDX document beside ${origin.machine}/${origin.entry}; no SBOM attached`);
      }
      if (sbom) artifacts.push({ ...sbomArtifact(sbom), created: built, required: opts.sbom.kind === 'file' });
      if (explicitProvenance) artifacts.push({ ...explicitProvenance, created: built });
      else if (opts.provenance.kind === 'auto') {
        const facts = await gatherFacts(opts.env, folder, stems, origin.machine);
        if (facts) {
          const statement = provenanceStatement({
            name: `${opts.registry}/${plan.repository}`,
            digest: image.manifestDigest,
            facts,
            toolVersion: opts.toolVersion,
            sources: sbom?.sources ?? [],
          });
          artifacts.push({
            kind: 'provenance',
            artifactType: IN_TOTO_PAYLOAD_TYPE,
            layers: [{ mediaType: DSSE_MEDIA_TYPE, content: await dsseEnvelope(statement, opts.signDsse) }],
            annotations: {},
            created: facts.finishedOn ?? built,
            required: false,
          });
        }
      }
      if (opts.more) artifacts.push(...(await opts.more({ repository: plan.repository, subject, platform, folder, stems, machine: origin.machine })));
      if (artifacts.length) out.push({ repository: plan.repository, subject, platform, artifacts });
    }
  }
  return out;
}

/** attachSupply attaches what planSupply planned; each artifact is pushed once per subject. */
export async function attachSupply(
  session: RegistrySession,
  plans: SupplyPlan[],
  opts: { toolVersion: string; info: (line: string) => void; warn: (line: string) => void },
): Promise<AttachedSupply[]> {
  const out: AttachedSupply[] = [];
  const done = new Set<string>();
  for (const p of plans) {
    const key = `${p.repository}@${p.subject.digest}`;
    if (done.has(key)) continue;
    done.add(key);
    for (const a of p.artifacts) {
      let attached: AttachedArtifact;
      try {
        // Loaded only when there is something to attach: most pushes outside a build attach nothing.
        const { attachArtifact } = await import('./artifact.js');
        attached = await attachArtifact(session, p.repository, p.subject, {
          artifactType: a.artifactType,
          layers: a.layers,
          annotations: a.annotations,
          created: a.created,
          tool: `meta-container-registry ${opts.toolVersion}`,
        });
      } catch (err) {
        // The images are pushed: an `auto` artifact the registry refuses (one that takes no OCI 1.1
        // artifacts) is a warning; one asked for by name fails the push.
        if (a.required) throw err;
        opts.warn(`${p.repository} (${p.platform}): ${a.kind} not attached: ${(err as Error).message}`);
        continue;
      }
      const d = attached.descriptor;
      const summary = a.kind === 'sbom' ? summaryFromAnnotations(a.annotations) : undefined;
      const what = summary ? `sbom (${summary.version}, ${summary.packages} packages)` : a.kind;
      opts.info(
        `  ${p.repository} (${p.platform}): ${what} ${d.digest.slice(0, 19)} attached${attached.fallbackTag ? ` (fallback tag ${attached.fallbackTag.slice(0, 19)}…)` : ''}`,
      );
      out.push({
        repository: p.repository,
        subject: p.subject.digest,
        platform: p.platform,
        kind: a.kind,
        artifactType: a.artifactType,
        digest: d.digest,
        size: d.size,
        ...(attached.fallbackTag ? { fallbackTag: attached.fallbackTag } : {}),
      });
    }
  }
  return out;
}
