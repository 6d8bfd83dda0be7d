// delete <image>:<tag>: remove that tag only. DELETE of a tag is tried first (ours, distribution 3,
// zot and Harbor support it); a registry that can only delete by digest (distribution 2.x answers
// a tag DELETE with 400 DIGEST_INVALID or 405 UNSUPPORTED) would drop every tag sharing the digest,
// so that is refused unless --force, naming those tags.
import { deleteManifest, headManifest } from '../client/manifests.js';
import { listTags } from '../client/listing.js';
import type { RegistrySession } from '../client/session.js';
import { HelperError } from '../errors/helper-error.js';

/** DeleteError is a tag that cannot be deleted as asked. */
export class DeleteError extends HelperError {
  constructor(code: 'not-found' | 'registry' | 'shared-digest' | 'unsupported', message: string) {
    super(code, message);
    this.name = 'DeleteError';
  }
}

/** DeleteResult says what went. */
export interface DeleteResult {
  repository: string;
  tag: string;
  digest: string;
  /** 'tag': only the tag; 'digest': the manifest (and `alsoRemoved` tags) */
  method: 'tag' | 'digest';
  alsoRemoved: string[];
}

/** deleteTag removes `repository:tag`. */
export async function deleteTag(s: RegistrySession, repository: string, tag: string, force = false): Promise<DeleteResult> {
  const head = await headManifest(s, repository, tag);
  if (!head) throw new DeleteError('not-found', `${repository}:${tag} does not exist`);
  if (!head.digest) throw new DeleteError('registry', `${repository}:${tag}: the registry gave no Docker-Content-Digest`);
  const byTag = await deleteManifest(s, repository, tag);
  if (!byTag.error) return { repository, tag, digest: head.digest, method: 'tag', alsoRemoved: [] };
  const refusedTagDelete = [400, 405, 501].includes(byTag.status) || byTag.error.hasCode('UNSUPPORTED') || byTag.error.hasCode('DIGEST_INVALID');
  if (!refusedTagDelete) throw byTag.error;
  const sharing: string[] = [];
  for (const other of (await listTags(s, repository)) ?? []) {
    if (other === tag) continue;
    const h = await headManifest(s, repository, other);
    if (h?.digest === head.digest) sharing.push(other);
  }
  if (sharing.length && !force) {
    throw new DeleteError(
      'shared-digest',
      `this registry deletes by digest only, and ${head.digest.slice(0, 19)} also carries ${sharing.map((t) => `${repository}:${t}`).join(', ')}; deleting would remove those too (--force to do it anyway)`,
    );
  }
  const byDigest = await deleteManifest(s, repository, head.digest);
  if (byDigest.error) {
    if (byDigest.status === 405) throw new DeleteError('unsupported', `the registry does not allow deletes (distribution: storage.delete.enabled is false)`);
    throw byDigest.error;
  }
  return { repository, tag, digest: head.digest, method: 'digest', alsoRemoved: sharing };
}
