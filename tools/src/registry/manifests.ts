// GET, HEAD, PUT and DELETE of manifests.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-manifests
import type { RequestContext } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { formatDigest, parseDigest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { isValidTag } from '../oci/names.js';
import { sendEmpty } from './respond.js';

/** getManifest answers GET and HEAD by tag or digest. */
export async function getManifest(ctx: RequestContext, name: string, reference: string): Promise<void> {
  const { req, res, store } = ctx;
  const m = await store.manifests.get(name, reference);
  const digest = formatDigest(m.digest);
  res.writeHead(200, {
    'Content-Type': m.parsed.mediaType,
    'Content-Length': String(m.body.length),
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
  });
  res.end(req.method === 'HEAD' ? undefined : m.body);
}

async function readBody(ctx: RequestContext): Promise<Buffer> {
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  if (declared > MAX_MANIFEST_BYTES) {
    ctx.req.resume();
    throw new RegistryError('SIZE_INVALID', `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`, { status: 413 });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_MANIFEST_BYTES) {
      ctx.req.resume();
      throw new RegistryError('SIZE_INVALID', `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`, { status: 413 });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
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
  const body = await readBody(ctx);
  const result = await ctx.store.manifests.put(name, reference, body, ctx.req.headers['content-type']);
  for (const tag of extraTags) await ctx.store.manifests.tag(name, tag, result.digest);
  const digest = formatDigest(result.digest);
  const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
  if (result.subject) headers['OCI-Subject'] = result.subject;
  if (extraTags.length > 0) headers['OCI-Tag'] = extraTags.join(', ');
  sendEmpty(ctx.res, 201, headers);
}

/** deleteManifest removes a tag (only that tag) or, by digest, the manifest and its tags. */
export async function deleteManifest(ctx: RequestContext, name: string, reference: string): Promise<void> {
  const { store, res } = ctx;
  if (reference.includes(':')) {
    const d = parseDigest(reference);
    if (!(await store.manifests.deleteManifest(name, d))) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} unknown in ${name}`);
  } else if (!(await store.manifests.deleteTag(name, reference))) {
    throw new RegistryError('MANIFEST_UNKNOWN', `tag ${reference} unknown in ${name}`);
  }
  sendEmpty(res, 202);
}
