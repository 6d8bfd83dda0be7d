// Provenance: an in-toto v1 Statement whose predicate is SLSA provenance v1, in a DSSE envelope.
// The build type, and what each field holds, is docs/provenance.md.
// https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
// https://slsa.dev/spec/v1.0/provenance
// https://github.com/secure-systems-lab/dsse/blob/master/envelope.md
import type { BuildFacts } from './facts.js';

/** STATEMENT_TYPE is in-toto's Statement v1 `_type`. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** SLSA_PROVENANCE is the predicateType of SLSA provenance v1. */
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';
/** BUILD_TYPE names this layer's build type; docs/provenance.md#build-type documents it. */
export const BUILD_TYPE = 'urn:meta-container-registry:buildtype:yocto-image:v1';
/** BUILDER_ID_PREFIX + the helper's version is runDetails.builder.id (a package URL of this layer). */
export const BUILDER_ID_PREFIX = 'pkg:generic/meta-container-registry@';
/** IN_TOTO_PAYLOAD_TYPE is the DSSE payloadType of an in-toto statement, and the artifactType of the provenance artifact. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** DSSE_MEDIA_TYPE is the provenance artifact's layer type: a DSSE envelope in JSON. */
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** ResourceDescriptor is SLSA's/in-toto's reference to an input. */
export interface ResourceDescriptor {
  uri?: string;
  name?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
}

/** ProvenanceInput is what one statement describes: the pushed manifest, the build, the tool. */
export interface ProvenanceInput {
  /** `registry/repository`, the statement's subject name */
  name: string;
  /** the pushed manifest's digest (sha256:...) */
  digest: string;
  facts: BuildFacts;
  /** the helper's version (builder id and version) */
  toolVersion: string;
  /** recipe sources known from elsewhere (the SBOM's download locations) */
  sources?: ResourceDescriptor[];
}

/** gitUri writes a layer's source the way SLSA's examples do: git+<url>@<branch> (or the bare URL). */
function gitUri(url: string, branch: string | undefined): string {
  const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('git+') ? `git+${url}` : url;
  return branch ? `${base}@refs/heads/${branch}` : base;
}

/** layerDependencies are the layers of BBLAYERS as resolved dependencies. */
export function layerDependencies(facts: BuildFacts): ResourceDescriptor[] {
  return facts.layers.map((l) => ({
    name: l.name,
    ...(l.url ? { uri: gitUri(l.url, l.branch) } : {}),
    ...(l.revision ? { digest: { gitCommit: l.revision } } : {}),
    annotations: { layer: l.name, path: l.path, ...(l.branch ? { branch: l.branch } : {}), ...(l.modified ? { modified: true } : {}) },
  }));
}

/** provenanceStatement builds the in-toto statement with the SLSA provenance v1 predicate. */
export function provenanceStatement(input: ProvenanceInput): Record<string, unknown> {
  const f = input.facts;
  const [algorithm, hex] = input.digest.split(':') as [string, string];
  const externalParameters: Record<string, unknown> = {};
  if (f.machine) externalParameters.MACHINE = f.machine;
  if (f.distro) externalParameters.DISTRO = f.distro;
  if (f.image) externalParameters.image = f.image;
  if (f.imageFeatures) externalParameters.IMAGE_FEATURES = f.imageFeatures;
  const internalParameters: Record<string, unknown> = {};
  if (f.distroVersion) internalParameters.DISTRO_VERSION = f.distroVersion;
  if (f.imageName) internalParameters.IMAGE_NAME = f.imageName;
  const metadata: Record<string, string> = {};
  if (f.buildName) metadata.invocationId = f.buildName;
  if (f.startedOn) metadata.startedOn = f.startedOn.toISOString();
  if (f.finishedOn) metadata.finishedOn = f.finishedOn.toISOString();
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.name, digest: { [algorithm]: hex } }],
    predicateType: SLSA_PROVENANCE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters,
        ...(Object.keys(internalParameters).length ? { internalParameters } : {}),
        resolvedDependencies: [...layerDependencies(f), ...(input.sources ?? [])],
      },
      runDetails: {
        builder: { id: `${BUILDER_ID_PREFIX}${input.toolVersion}`, version: { 'meta-container-registry': input.toolVersion } },
        metadata,
      },
    },
  };
}

/** DsseSignature is one signature of an envelope. */
export interface DsseSignature {
  keyid?: string;
  /** base64 */
  sig: string;
}

/**
 * DsseSigner signs the pre-authentication encoding of an envelope (DSSE's PAE). Provenance is
 * unsigned unless a signer is given: the keys are the PKI's (issue 15's signatures part), which
 * passes its own signer here.
 */
export type DsseSigner = (pae: Buffer) => Promise<DsseSignature>;

/** pae is DSSE's pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** dsseEnvelope wraps `statement` in a DSSE envelope, signed by `signDsse` when one is given (else `signatures: []`). */
export async function dsseEnvelope(statement: unknown, signDsse?: DsseSigner): Promise<Buffer> {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const signatures = signDsse ? [await signDsse(pae(IN_TOTO_PAYLOAD_TYPE, payload))] : [];
  return Buffer.from(JSON.stringify({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures }));
}

/** statementOf reads the statement back out of an envelope's bytes; undefined when they are not one. */
export function statementOf(envelope: Buffer): Record<string, unknown> | undefined {
  try {
    const doc = JSON.parse(envelope.toString('utf8')) as { payloadType?: unknown; payload?: unknown };
    if (doc.payloadType !== IN_TOTO_PAYLOAD_TYPE || typeof doc.payload !== 'string') return undefined;
    const statement = JSON.parse(Buffer.from(doc.payload, 'base64').toString('utf8')) as unknown;
    return typeof statement === 'object' && statement !== null && !Array.isArray(statement) ? (statement as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
