// backup verify: re-hash every blob of a backup (each digest once, however many backups name it)
// and check every manifest's references (config, layers, an index's children) are in the backup.
// A problem names the images that use the blob (`repo:tag`, or `repo@digest` untagged), so the
// operator knows what a restore of that backup would lose.
import { parseDigest, newHasher } from '../oci/digest.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import type { BackupSource } from './destination.js';
import type { BackupIndex } from './format.js';
import { blobsOf, childrenOf } from './snapshot.js';

/** BlobProblem is a blob of a backup that is missing, of the wrong size, or not the digest's bytes. */
export interface BlobProblem {
  backup: string;
  digest: string;
  problem: 'missing' | 'size' | 'corrupt' | 'reference' | 'manifest';
  detail: string;
  /** images that use it: `repo:tag`, or `repo@digest` for an untagged manifest */
  usedBy: string[];
}

/** VerifyReport is what verify found over the backups it checked. */
export interface VerifyReport {
  backups: Array<{ id: string; blobs: number; bytes: number; ok: boolean }>;
  /** distinct blobs hashed */
  hashed: number;
  hashedBytes: number;
  problems: BlobProblem[];
}

type BlobState = { ok: true } | { ok: false; problem: 'missing' | 'size' | 'corrupt'; detail: string };

async function checkBlob(src: BackupSource, digest: string, size: number): Promise<BlobState> {
  const d = parseDigest(digest);
  const have = await src.blobSize(d);
  if (have === undefined) return { ok: false, problem: 'missing', detail: 'not in the backup destination' };
  if (have !== size) return { ok: false, problem: 'size', detail: `${have} bytes, the index says ${size}` };
  const hash = newHasher(d.algorithm);
  for await (const chunk of src.openBlob(d)) hash.update(chunk as Buffer);
  const hex = hash.digest('hex');
  return hex === d.hex ? { ok: true } : { ok: false, problem: 'corrupt', detail: `its content hashes to ${d.algorithm}:${hex}` };
}

async function readBody(src: BackupSource, digest: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of src.openBlob(parseDigest(digest))) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** usersOf maps every digest of a backup to the images that reach it (tags through indexes, else the untagged manifest). */
export function usersOf(index: BackupIndex, parsed: Map<string, ParsedManifest>): Map<string, string[]> {
  const users = new Map<string, Set<string>>();
  const add = (digest: string, user: string) => {
    let s = users.get(digest);
    if (!s) users.set(digest, (s = new Set()));
    s.add(user);
  };
  const walk = (digest: string, user: string, seen: Set<string>) => {
    if (seen.has(digest)) return;
    seen.add(digest);
    add(digest, user);
    const p = parsed.get(digest);
    if (!p) return;
    for (const b of blobsOf(p)) add(b, user);
    for (const c of childrenOf(p)) walk(c, user, seen);
  };
  for (const r of index.repositories) {
    const tagged = new Set<string>();
    for (const [tag, d] of Object.entries(r.tags)) {
      const seen = new Set<string>();
      walk(d, `${r.name}:${tag}`, seen);
      for (const s of seen) tagged.add(s);
    }
    for (const m of r.manifests) if (!tagged.has(m)) walk(m, `${r.name}@${m}`, new Set());
  }
  return new Map([...users].map(([k, v]) => [k, [...v].sort()]));
}

/** verifyBackups checks the backups `ids` of `src`. */
export async function verifyBackups(src: BackupSource, ids: string[], log: (line: string) => void = () => {}): Promise<VerifyReport> {
  const states = new Map<string, BlobState>();
  const report: VerifyReport = { backups: [], hashed: 0, hashedBytes: 0, problems: [] };
  for (const id of ids) {
    const index = await src.readIndex(id);
    const before = report.problems.length;
    log(`verifying ${id}: ${Object.keys(index.blobs).length} blob(s)`);
    const bad: Array<{ digest: string; problem: BlobProblem['problem']; detail: string }> = [];
    for (const [digest, size] of Object.entries(index.blobs)) {
      let state = states.get(digest);
      if (!state) {
        state = await checkBlob(src, digest, size);
        states.set(digest, state);
        report.hashed++;
        if (state.ok) report.hashedBytes += size;
      }
      if (!state.ok) bad.push({ digest, problem: state.problem, detail: state.detail });
    }
    // Every manifest's references must be in this backup; a manifest that does not parse is a problem too.
    const parsed = new Map<string, ParsedManifest>();
    for (const r of index.repositories) {
      for (const m of r.manifests) {
        if (parsed.has(m) || !states.get(m)?.ok) continue;
        try {
          parsed.set(m, parseManifest(await readBody(src, m)));
        } catch (err) {
          bad.push({ digest: m, problem: 'manifest', detail: `does not parse: ${(err as Error).message}` });
        }
      }
      for (const m of r.manifests) {
        const p = parsed.get(m);
        if (!p) continue;
        for (const b of blobsOf(p))
          if (!(b in index.blobs)) bad.push({ digest: b, problem: 'reference', detail: `named by manifest ${m} but not in the backup` });
        for (const c of childrenOf(p)) {
          if (!r.manifests.includes(c))
            bad.push({ digest: c, problem: 'reference', detail: `child of index ${m} but not a manifest of ${r.name} in the backup` });
        }
      }
    }
    const users = usersOf(index, parsed);
    for (const b of bad) report.problems.push({ backup: id, ...b, usedBy: users.get(b.digest) ?? [] });
    report.backups.push({ id, blobs: Object.keys(index.blobs).length, bytes: index.bytes, ok: report.problems.length === before });
  }
  return report;
}
