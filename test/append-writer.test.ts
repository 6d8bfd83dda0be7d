// The upload sink: batched appends keep every byte in order, the body waits while a batch is
// written, and the file is always closed.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { AppendWriter } from '../tools/src/storage/append-writer.js';
import { tempDir } from './helpers/tmp.js';
import { openFilesMatching } from './helpers/proc.js';

t.test('pieces of every size, 1 byte to 3 MiB, land in order after what the file held', async (t) => {
  const dir = await tempDir(t, 'cr-append-');
  const path = join(dir, 'data');
  await writeFile(path, 'head:');
  const sizes = [1, 7, 32 * 1024, 64 * 1024, 1024 * 1024 - 3, 3 * 1024 * 1024, 5, 40 * 1024 * 1024, 2];
  const pieces = sizes.map((n) => randomBytes(n));
  const out = await AppendWriter.open(path);
  const seen: number[] = [];
  await out.consume(Readable.from(pieces), (chunk) => seen.push(chunk.length));
  await out.close();
  await out.close();
  t.same(seen, sizes, 'onChunk saw every piece, in order');
  const want = createHash('sha256').update('head:');
  for (const p of pieces) want.update(p);
  const got = await readFile(path);
  t.equal(got.length, 5 + sizes.reduce((a, b) => a + b, 0));
  t.equal(createHash('sha256').update(got).digest('hex'), want.digest('hex'));
  t.equal(
    openFilesMatching('self', (p) => p === path),
    0,
    'closed',
  );
});

t.test('a source that fails midway: all that arrived is kept, the descriptor is closed', async (t) => {
  const dir = await tempDir(t, 'cr-append-');
  const path = join(dir, 'data');
  await writeFile(path, '');
  const out = await AppendWriter.open(path);
  const source = Readable.from(
    (async function* () {
      yield Buffer.alloc(2 * 1024 * 1024, 1);
      yield Buffer.alloc(100, 2);
      throw new Error('client went away');
    })(),
  );
  await t.rejects(
    out.consume(source, () => {}),
    /client went away/,
  );
  await out.close();
  const got = await readFile(path);
  t.equal(got.length, 2 * 1024 * 1024 + 100, 'every byte that arrived is kept, the batched tail too');
  t.ok(got.subarray(0, 2 * 1024 * 1024).every((b) => b === 1) && got.subarray(2 * 1024 * 1024).every((b) => b === 2), 'in order');
  t.equal(
    openFilesMatching('self', (p) => p === path),
    0,
    'closed',
  );
});

t.test('a batch that fills while the one before is still being written pauses the body until it is', async (t) => {
  const dir = await tempDir(t, 'cr-append-');
  const path = join(dir, 'data');
  await writeFile(path, '');
  const out = await AppendWriter.open(path);
  // A slow disk: every write takes 100 ms.
  const handle = (out as unknown as { handle: { writev(buffers: Buffer[]): Promise<unknown> } }).handle;
  const writev = handle.writev.bind(handle);
  handle.writev = async (buffers) => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return writev(buffers);
  };
  const body = new PassThrough();
  const pausedAt: number[] = [];
  let taken = 0;
  const done = out.consume(body, (chunk) => {
    taken += chunk.length;
  });
  body.on('pause', () => pausedAt.push(taken));
  const piece = Buffer.alloc(64 * 1024, 3);
  for (let i = 0; i < 48; i++) {
    if (!body.write(piece)) await once(body, 'drain');
  }
  body.end();
  await done;
  await out.close();
  t.equal((await readFile(path)).length, 48 * 64 * 1024, 'every byte written');
  t.notOk(pausedAt.includes(1024 * 1024), 'the first full batch is written while the next one fills');
  t.ok(pausedAt.includes(2 * 1024 * 1024), `the second waits for it (paused at ${pausedAt.join(', ')})`);
});

t.test('a write that fails rejects with its error and leaves the body to the caller', async (t) => {
  const dir = await tempDir(t, 'cr-append-');
  const path = join(dir, 'data');
  await writeFile(path, '');
  const out = await AppendWriter.open(path);
  // The file closed under the writer: its next write fails with EBADF.
  const handle = (out as unknown as { handle: { close(): Promise<void> } }).handle;
  const body = new PassThrough();
  const done = out.consume(body, () => {});
  body.write(Buffer.alloc(512 * 1024, 1));
  await handle.close();
  body.write(Buffer.alloc(512 * 1024, 2));
  await t.rejects(done, { code: 'EBADF' }, 'consume rejects with the write error');
  // A server answers (507 on a full disk) and drains the rest: the body must still be usable.
  t.notOk(body.destroyed, 'the body is not destroyed');
  t.equal(body.listenerCount('data'), 0, 'and no longer read by the writer');
  body.end(Buffer.alloc(10));
  body.resume();
  await once(body, 'end');
  await out.close().catch(() => {});
});
