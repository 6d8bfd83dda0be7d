// Writing a tar archive member by member (POSIX ustar), for `backup create --to FILE.tar`; the
// reader is layout/tar.ts. Names here are short (`blobs/sha256/ab/<64 hex>` is 77 characters), so
// no pax or GNU long-name records are needed; sizes of 8 GiB and more use GNU's base-256 field,
// which layout/tar.ts and GNU tar read.
import type { FileHandle } from 'node:fs/promises';

const BLOCK = 512;

function putString(buf: Buffer, offset: number, length: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > length) throw new Error(`tar field too long: ${text}`);
  bytes.copy(buf, offset);
}

function putOctal(buf: Buffer, offset: number, length: number, value: number): void {
  const text = value.toString(8);
  if (text.length < length) {
    putString(buf, offset, length, `${text.padStart(length - 1, '0')}\0`);
    return;
  }
  // GNU base-256: the high bit of the first byte set, the value big-endian in the rest.
  let v = value;
  for (let i = length - 1; i > 0; i--) {
    buf[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
  buf[offset] = 0x80;
}

/** tarHeader is the 512-byte ustar header of a regular file. */
export function tarHeader(name: string, size: number, mtimeSec: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar member name too long: ${name}`);
  const h = Buffer.alloc(BLOCK);
  putString(h, 0, 100, name);
  putOctal(h, 100, 8, 0o644);
  putOctal(h, 108, 8, 0);
  putOctal(h, 116, 8, 0);
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, mtimeSec);
  h.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  h[156] = 0x30; // '0': a regular file
  putString(h, 257, 6, 'ustar\0');
  putString(h, 263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  putString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** TarWriter appends members to an open file; `end` writes the two zero blocks that close the archive. */
export class TarWriter {
  private position = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly mtimeSec: number,
  ) {}

  private async write(data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }

  /** add writes a member held in memory. */
  async add(name: string, data: Buffer): Promise<void> {
    await this.begin(name, data.length);
    await this.write(data);
    await this.pad(data.length);
  }

  /** begin writes a member's header; its `size` bytes follow through `chunk`, then `pad`. */
  async begin(name: string, size: number): Promise<void> {
    await this.write(tarHeader(name, size, this.mtimeSec));
  }

  /** chunk writes part of the current member's data. */
  chunk(data: Uint8Array): Promise<void> {
    return this.write(data);
  }

  /** pad fills the current member's last block. */
  async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.write(Buffer.alloc(BLOCK - rest));
  }

  /** end closes the archive (two zero blocks). */
  async end(): Promise<void> {
    await this.write(Buffer.alloc(2 * BLOCK));
  }
}
