// The load a crash test kills the registry under: workers upload blobs in chunked PATCHes while
// others push small images; the registry is killed once enough blobs are acknowledged. What was
// acknowledged before the kill is what the test then expects to find whole.
import { randomBytes } from 'node:crypto';
import { makeImage, pushImage } from './images.js';

/** chunkedUpload pushes `data` as POST, PATCHes of `chunk` bytes with Content-Range, PUT ?digest; resolves to the PUT's status. */
export async function chunkedUpload(base: string, repo: string, data: Buffer, digest: string, chunk = 256 * 1024): Promise<number> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`POST ${start.status}`);
  let location = new URL(start.headers.get('location')!, base);
  for (let off = 0; off < data.length; off += chunk) {
    const part = data.subarray(off, Math.min(off + chunk, data.length));
    const res = await fetch(location, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${off}-${off + part.length - 1}` },
      body: new Uint8Array(part),
    });
    if (res.status !== 202) throw new Error(`PATCH ${res.status} ${await res.text()}`);
    location = new URL(res.headers.get('location')!, base);
  }
  location.searchParams.set('digest', digest);
  const res = await fetch(location, { method: 'PUT' });
  await res.arrayBuffer();
  return res.status;
}

/** CrashLoadOptions says what to push and when to kill. */
export interface CrashLoadOptions {
  base: string;
  blobs: Array<{ data: Buffer; digest: string }>;
  /** the repository the n-th blob goes to */
  blobRepo: (n: number) => string;
  blobWorkers: number;
  imageWorkers: number;
  /** PATCH size */
  chunk: number;
  /** kill once this many blobs are acknowledged (or at the timeout) */
  killAfterBlobs: number;
  timeoutMs: number;
  kill: () => Promise<void>;
}

/** CrashLoadResult is what the registry acknowledged before it was killed. */
export interface CrashLoadResult {
  acknowledged: Set<string>;
  /** tag → manifest digest of every image push that completed */
  ackTags: Map<string, string>;
}

/** pushUntilKilled runs the load, kills the registry mid-push and waits for every worker to give up. */
export async function pushUntilKilled(o: CrashLoadOptions): Promise<CrashLoadResult> {
  const acknowledged = new Set<string>();
  const ackTags = new Map<string, string>();
  let killed = false;
  let killNow: () => void = () => {};
  const enough = new Promise<void>((r) => (killNow = r));
  let next = 0;
  const blobWorker = async () => {
    while (next < o.blobs.length && !killed) {
      const b = o.blobs[next++]!;
      try {
        if ((await chunkedUpload(o.base, o.blobRepo(next), b.data, b.digest, o.chunk)) === 201) acknowledged.add(b.digest);
        if (acknowledged.size >= o.killAfterBlobs) killNow();
      } catch {
        // the server went away under us
      }
    }
  };
  let imageNo = 0;
  const imageWorker = async () => {
    while (!killed) {
      const tag = `t${imageNo++}`;
      const img = makeImage({ layers: [[{ name: 'f', content: randomBytes(64 * 1024) }]] });
      try {
        await pushImage(o.base, 'crash/images', tag, img);
        ackTags.set(tag, img.manifest.digest);
      } catch {
        // the server went away under us
      }
    }
  };
  const workers = [...Array.from({ length: o.blobWorkers }, blobWorker), ...Array.from({ length: o.imageWorkers }, imageWorker)];
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([enough, new Promise((r) => (timer = setTimeout(r, o.timeoutMs)))]);
  clearTimeout(timer);
  await o.kill();
  killed = true;
  await Promise.allSettled(workers);
  return { acknowledged, ackTags };
}
