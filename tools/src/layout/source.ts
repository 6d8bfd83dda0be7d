// Where a layout's files live: a folder, or members of an OCI archive (.tar) read by offset.
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { indexTar, normalizeMemberName, type TarMember } from './tar.js';

/** LayoutFiles reads files of a layout by their path inside it (`index.json`, `blobs/sha256/<hex>`). */
export interface LayoutFiles {
  /** where the layout is (for messages) */
  readonly location: string;
  /** size of a file, or undefined when it is absent */
  size(rel: string): Promise<number | undefined>;
  /** readSmall reads a (small) file whole: index.json, manifests, configs */
  readSmall(rel: string, max?: number): Promise<Buffer>;
  /** open streams a file from the start; every call opens afresh (retries) */
  open(rel: string): Readable;
  /** locate gives the file (and offset) holding `rel`, for uploads that read it directly */
  locate(rel: string): { path: string; offset: number } | undefined;
}

const SMALL_MAX = 8 * 1024 * 1024;

/** DirectoryFiles reads an OCI layout folder. */
export class DirectoryFiles implements LayoutFiles {
  constructor(readonly location: string) {}

  async size(rel: string): Promise<number | undefined> {
    try {
      const s = await stat(join(this.location, rel));
      return s.isFile() ? s.size : undefined;
    } catch {
      return undefined;
    }
  }

  async readSmall(rel: string, max = SMALL_MAX): Promise<Buffer> {
    const size = await this.size(rel);
    if (size === undefined) throw new Error(`${this.location}: ${rel} is missing`);
    if (size > max) throw new Error(`${this.location}: ${rel} is larger than ${max} bytes`);
    return readFile(join(this.location, rel));
  }

  open(rel: string): Readable {
    return createReadStream(join(this.location, rel), { highWaterMark: 1024 * 1024 });
  }

  locate(rel: string): { path: string; offset: number } {
    return { path: join(this.location, rel), offset: 0 };
  }
}

/** ArchiveFiles reads an OCI archive (a tar of a layout) without extracting it. */
export class ArchiveFiles implements LayoutFiles {
  private constructor(
    readonly location: string,
    private readonly members: Map<string, TarMember>,
  ) {}

  /** load indexes the archive's members (one pass over the headers). */
  static async load(path: string): Promise<ArchiveFiles> {
    return new ArchiveFiles(path, await indexTar(path));
  }

  private member(rel: string): TarMember | undefined {
    let m = this.members.get(normalizeMemberName(rel));
    for (let hops = 0; m && (m.type === '1' || m.type === '2') && hops < 8; hops++) {
      const target = m.type === '1' ? m.linkname : posix.join(posix.dirname(m.name), m.linkname);
      m = this.members.get(normalizeMemberName(target));
    }
    return m && (m.type === '0' || m.type === '\0' || m.type === '7') ? m : undefined;
  }

  async size(rel: string): Promise<number | undefined> {
    return this.member(rel)?.size;
  }

  async readSmall(rel: string, max = SMALL_MAX): Promise<Buffer> {
    const m = this.member(rel);
    if (!m) throw new Error(`${this.location}: ${rel} is missing from the archive`);
    if (m.size > max) throw new Error(`${this.location}: ${rel} is larger than ${max} bytes`);
    const fh = await open(this.location, 'r');
    try {
      const buf = Buffer.alloc(m.size);
      await fh.read(buf, 0, m.size, m.offset);
      return buf;
    } finally {
      await fh.close();
    }
  }

  locate(rel: string): { path: string; offset: number } | undefined {
    const m = this.member(rel);
    return m ? { path: this.location, offset: m.offset } : undefined;
  }

  open(rel: string): Readable {
    const m = this.member(rel);
    if (!m) throw new Error(`${this.location}: ${rel} is missing from the archive`);
    if (m.size === 0) return Readable.from([]);
    return createReadStream(this.location, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1024 * 1024 });
  }
}

/** openLayoutFiles picks the reader for a folder or an archive. */
export async function openLayoutFiles(path: string): Promise<LayoutFiles> {
  const s = await stat(path);
  return s.isDirectory() ? new DirectoryFiles(path) : ArchiveFiles.load(path);
}
