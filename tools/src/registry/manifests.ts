// GET, HEAD, PUT and DELETE of manifests.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-manifests
import type { RequestContext } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { formatDigest, parseDigest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { isValidTag } from '../oci/names.js';
import { sendEmpty } from './respond.js';
import { manifestEvent } from './events.js';
import { BodyTooLarge, ByteBudget, readBounded } from '../common/bounded.js';

/** getManifest answers GET and HEAD by tag or digest. */
export async function getManifest(ctx: RequestContext, name: string, reference: string): Promise<void> {
  const { req, res, store } = ctx;
  const m = await store.manifests.read(name, reference);
  const digest = formatDigest(m.digest);
  res.writeHead(200, {
    'Content-Type': m.mediaType,
    'Content-Length': String(m.body.length),
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
  });
  res.end(req.method === 'HEAD' ? undefined : m.body);
  // distribution notifies GETs only: a HEAD is a client checking, not pulling.
  if (req.method === 'GET') {
    const target = { repository: name, digest, mediaType: m.mediaType, size: m.body.length, tag: reference.includes(':') ? undefined : reference };
    ctx.events.publish('manifest', manifestEvent('pull', target, ctx.request, ctx.user));
  }
}

/** Manifest bodies held in memory at once, all requests together (16 of the largest). */
const manifestBodies = new ByteBudget(16 * MAX_MANIFEST_BYTES);

function tooLarge(ctx: RequestContext): RegistryError {
  ctx.req.resume();
  return new RegistryError('SIZE_INVALID', `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`, { status: 413 });
}

/** readBody reads a manifest whole, within its share of the budget; `release` gives the share back. */
async function readBody(ctx: RequestContext): Promise<{ body: Buffer; release: () => void }> {
  const lengthHeader = ctx.req.headers['content-length'];
  const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (declared !== undefined && declared > MAX_MANIFEST_BYTES) throw tooLarge(ctx);
  const release = await manifestBodies.take(declared ?? MAX_MANIFEST_BYTES);
  try {
    return { body: await readBounded(ctx.req as AsyncIterable<Buffer>, MAX_MANIFEST_BYTES), release };
  } catch (err) {
    release();
    throw err instanceof BodyTooLarge ? tooLarge(ctx) : err;
  }
}

/** putManifest stores a manifest; answers 201 with its digest and, for a referrer, OCI-Subject. */
export async function putManifest(ctx: RequestContext, name: string, reference: string): Promise<void> {
  // `?tag=` on a PUT by digest (distribution-spec, after v1.1) tags it in the same request,
  // which is how a sha512 manifest gets a tag.
  const extraTags = ctx.url.searchParams.getAll('tag');
  for (const tag of extraTags) {
    if (!isValidTag(tag)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(tag.slice(0, 140))}`);
  }
  if (extraTags.length > 0 && !reference.includes(':')) {
    throw new RegistryError('TAG_INVALID', 'the tag parameter needs a PUT by digest');
  }
  const { body, release } = await readBody(ctx);
  let result;
  try {
    result = await ctx.store.manifests.put(name, reference, body, ctx.req.headers['content-type']);
    for (const tag of extraTags) await ctx.store.manifests.tag(name, tag, result.digest);
  } finally {
    release();
  }
  const digest = formatDigest(result.digest);
  const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
  if (result.subject) headers['OCI-Subject'] = result.subject;
  if (extraTags.length > 0) headers['OCI-Tag'] = extraTags.join(', ');
  sendEmpty(ctx.res, 201, headers);
  const mediaType = ctx.store.manifests.parse(result.digest, body, ctx.req.headers['content-type']).mediaType;
  // One event per tag, as for separate pushes, so a receiver sees every tag that moved.
  const tags = reference.includes(':') ? (extraTags.length > 0 ? extraTags : [undefined]) : [reference];
  for (const tag of tags) {
    ctx.events.publish('manifest', manifestEvent('push', { repository: name, digest, mediaType, size: body.length, tag }, ctx.request, ctx.user));
  }
}

/** deleteManifest removes a tag (only that tag) or, by digest, the manifest and its tags. */
export async function deleteManifest(ctx: RequestContext, name: string, reference: string): Promise<void> {
  const { store, res } = ctx;
  // Read what is deleted first: the event names its digest and media type.
  const before = await store.manifests.read(name, reference).catch(() => undefined);
  if (reference.includes(':')) {
    const d = parseDigest(reference);
    if (!(await store.manifests.deleteManifest(name, d))) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} unknown in ${name}`);
  } else if (!(await store.manifests.deleteTag(name, reference))) {
    throw new RegistryError('MANIFEST_UNKNOWN', `tag ${reference} unknown in ${name}`);
  }
  sendEmpty(res, 202);
  if (before) {
    const target = {
      repository: name,
      digest: formatDigest(before.digest),
      mediaType: before.mediaType,
      size: before.body.length,
      tag: reference.includes(':') ? undefined : reference,
    };
    ctx.events.publish('manifest', manifestEvent('delete', target, ctx.request, ctx.user));
  }
}
