// Reading a tar archive by offsets: one pass over the 512-byte headers (seeking past the data)
// builds an index of entries; a member is then a byte range of the file, streamed on demand.
// An OCI archive of gigabytes is never extracted or held in memory.
import { open } from 'node:fs/promises';
import { posix } from 'node:path';

/** TarEntry is one member of an archive: where its data starts and how long it is. */
export interface TarMember {
  name: string;
  offset: number;
  size: number;
  /** '0' file, '5' directory, '2' symlink, '1' hard link */
  type: string;
  linkname: string;
}

function cstr(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8');
}

function octal(buf: Buffer, start: number, len: number): number {
  // GNU base-256 for sizes above 8 GiB: high bit of the first byte set.
  if (buf[start]! & 0x80) {
    let v = buf[start]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[start + i]!;
    return v;
  }
  const text = cstr(buf, start, len).trim();
  return text ? parseInt(text, 8) : 0;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number(data.subarray(pos, space).toString('ascii'));
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** normalizeMemberName strips `./` and trailing slashes so lookups match layout paths. */
export function normalizeMemberName(name: string): string {
  const n = posix.normalize(name.replace(/^\.\/+/, '')).replace(/\/+$/, '');
  return n === '.' ? '' : n;
}

/** indexTar lists every member of the archive at `path`. */
export async function indexTar(path: string): Promise<Map<string, TarMember>> {
  const fh = await open(path, 'r');
  const members = new Map<string, TarMember>();
  try {
    const { size: fileSize } = await fh.stat();
    const header = Buffer.alloc(512);
    let pos = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Record<string, string> = {};
    while (pos + 512 <= fileSize) {
      const { bytesRead } = await fh.read(header, 0, 512, pos);
      if (bytesRead < 512) break;
      if (header.every((b) => b === 0)) break;
      const size = octal(header, 124, 12);
      const type = String.fromCharCode(header[156] || 0x30);
      const dataOffset = pos + 512;
      const next = dataOffset + Math.ceil(size / 512) * 512;
      if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
        const data = Buffer.alloc(size);
        await fh.read(data, 0, size, dataOffset);
        if (type === 'L') longName = cstr(data, 0, size);
        else if (type === 'K') longLink = cstr(data, 0, size);
        else if (type === 'x') pax = { ...pax, ...parsePax(data) };
        pos = next;
        continue;
      }
      const magic = cstr(header, 257, 6);
      const prefix = magic.startsWith('ustar') ? cstr(header, 345, 155) : '';
      let name = cstr(header, 0, 100);
      if (prefix) name = `${prefix}/${name}`;
      name = pax.path ?? longName ?? name;
      const linkname = pax.linkpath ?? longLink ?? cstr(header, 157, 100);
      const realSize = pax.size !== undefined ? Number(pax.size) : size;
      members.set(normalizeMemberName(name), { name: normalizeMemberName(name), offset: dataOffset, size: realSize, type, linkname });
      longName = undefined;
      longLink = undefined;
      pax = {};
      pos = dataOffset + Math.ceil(realSize / 512) * 512;
      if (pos < next) pos = next;
    }
  } finally {
    await fh.close();
  }
  return members;
}
