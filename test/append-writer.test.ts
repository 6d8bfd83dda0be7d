// The upload sink: batched appends keep every byte in order, and the file is always closed.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  await pipeline(Readable.from(pieces), out);
  await out.close();
  await out.close();
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
  await t.rejects(pipeline(source, out), /client went away/);
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
