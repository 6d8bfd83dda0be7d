// The distribution API against the real server process: every push and pull path of the spec.
import t from 'tap';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { startTestRegistry } from './helpers/registry.js';
import { openFilesMatching } from './helpers/proc.js';
import { makeImage, makeIndex, pushImage, putManifest, sha256, uploadBlob } from './helpers/images.js';

const reg = await startTestRegistry(t);
const base = reg.url;
let n = 0;
const repo = () => `test/repo-${++n}`;

async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: Array<{ code: string }> };
  return body.errors?.[0]?.code;
}

t.test('GET /v2/ answers 200 {} with the API version header', async (t) => {
  const res = await fetch(`${base}/v2/`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  t.same(await res.json(), {});
});

t.test('monolithic POST+PUT upload, then HEAD and GET of the blob', async (t) => {
  const r = repo();
  const data = Buffer.from('monolithic blob');
  const digest = sha256(data);
  const post = await fetch(`${base}/v2/${r}/blobs/uploads/`, { method: 'POST' });
  t.equal(post.status, 202);
  const location = post.headers.get('location')!;
  t.match(location, new RegExp(`^/v2/${r}/blobs/uploads/[0-9a-f-]{36}$`));
  t.ok(post.headers.get('docker-upload-uuid'));
  const put = await fetch(`${base}${location}?digest=${digest}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(data),
  });
  t.equal(put.status, 201);
  t.equal(put.headers.get('location'), `/v2/${r}/blobs/${digest}`);
  t.equal(put.headers.get('docker-content-digest'), digest);
  const head = await fetch(`${base}/v2/${r}/blobs/${digest}`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('content-length'), String(data.length));
  t.equal(head.headers.get('docker-content-digest'), digest);
  const get = await fetch(`${base}/v2/${r}/blobs/${digest}`);
  t.equal(Buffer.from(await get.arrayBuffer()).toString(), 'monolithic blob');
});

t.test('single POST with ?digest= stores the blob at once', async (t) => {
  const r = repo();
  const data = Buffer.from('single post');
  const res = await uploadBlob(base, r, { digest: sha256(data), data });
  t.equal(res.status, 201);
  t.equal(res.headers.get('location'), `/v2/${r}/blobs/${sha256(data)}`);
  t.equal((await fetch(`${base}/v2/${r}/blobs/${sha256(data)}`, { method: 'HEAD' })).status, 200);
});

t.test('chunked PATCH with Content-Range, status GET, out-of-order chunk 416, then PUT', async (t) => {
  const r = repo();
  const data = Buffer.from('0123456789abcdefghij');
  const digest = sha256(data);
  const post = await fetch(`${base}/v2/${r}/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  const p1 = await fetch(`${base}${loc}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-9', 'Content-Length': '10' },
    body: new Uint8Array(data.subarray(0, 10)),
  });
  t.equal(p1.status, 202);
  t.equal(p1.headers.get('range'), '0-9');
  const status = await fetch(`${base}${loc}`);
  t.equal(status.status, 204);
  t.equal(status.headers.get('range'), '0-9');
  const bad = await fetch(`${base}${loc}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '15-19', 'Content-Length': '5' },
    body: new Uint8Array(data.subarray(15)),
  });
  t.equal(bad.status, 416);
  t.equal(await errorCode(bad), 'RANGE_INVALID');
  t.equal(bad.headers.get('range'), '0-9', 'a 416 tells where the upload stands');
  const p2 = await fetch(`${base}${loc}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '10-19', 'Content-Length': '10' },
    body: new Uint8Array(data.subarray(10)),
  });
  t.equal(p2.status, 202);
  t.equal(p2.headers.get('range'), '0-19');
  const put = await fetch(`${base}${loc}?digest=${digest}`, { method: 'PUT' });
  t.equal(put.status, 201);
  const get = await fetch(`${base}/v2/${r}/blobs/${digest}`);
  t.equal(Buffer.from(await get.arrayBuffer()).toString(), data.toString());
});

t.test('streamed PATCH (no Content-Range) and a final chunk on PUT', async (t) => {
  const r = repo();
  const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const digest = sha256(data);
  const post = await fetch(`${base}/v2/${r}/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  const patch = await fetch(`${base}${loc}`, { method: 'PATCH', body: new Uint8Array(data.subarray(0, 3 * 1024 * 1024)) });
  t.equal(patch.status, 202);
  t.equal(patch.headers.get('range'), `0-${3 * 1024 * 1024 - 1}`);
  const put = await fetch(`${base}${loc}?digest=${digest}`, { method: 'PUT', body: new Uint8Array(data.subarray(3 * 1024 * 1024)) });
  t.equal(put.status, 201);
  const head = await fetch(`${base}/v2/${r}/blobs/${digest}`, { method: 'HEAD' });
  t.equal(head.headers.get('content-length'), String(data.length));
});

/** openDataFiles counts the server's descriptors on upload data files (`_uploads/<id>/data`). */
function openDataFiles(): number {
  return openFilesMatching(reg.process.pid!, (path) => path.endsWith('/data'));
}

/** streamPatch sends `total` bytes of `fill` as one streamed PATCH; `cutAfter` drops the connection. */
function streamPatch(location: string, total: number, cutAfter?: number): Promise<number | 'cut'> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${location}`, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', (err) => (cutAfter !== undefined ? resolve('cut') : reject(err)));
    const chunk = Buffer.alloc(1024 * 1024);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        if (cutAfter !== undefined && sent >= cutAfter) {
          setTimeout(() => req.destroy(), 200);
          return;
        }
        chunk.fill(sent / (1024 * 1024));
        sent += chunk.length;
        if (!req.write(Buffer.from(chunk))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

t.test('a streamed PATCH of 100 MiB (flushed to disk while it arrives) is stored exactly, no descriptor left open', async (t) => {
  const r = repo();
  const total = 100 * 1024 * 1024;
  const expected = createHash('sha256');
  for (let i = 0; i < total / (1024 * 1024); i++) expected.update(Buffer.alloc(1024 * 1024, i));
  const digest = `sha256:${expected.digest('hex')}`;
  const post = await fetch(`${base}/v2/${r}/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  t.equal(await streamPatch(loc, total), 202);
  t.equal(openDataFiles(), 0, 'the upload holds no descriptor between requests');
  const put = await fetch(`${base}${loc}?digest=${digest}`, { method: 'PUT' });
  t.equal(put.status, 201);
  const get = await fetch(`${base}/v2/${r}/blobs/${digest}`);
  const got = createHash('sha256');
  for await (const part of get.body!) got.update(part);
  t.equal(`sha256:${got.digest('hex')}`, digest, 'served bytes hash to the digest');
});

t.test('a streamed PATCH cut after 40 MiB keeps what arrived, leaks no descriptor, and can be resumed', async (t) => {
  const r = repo();
  const post = await fetch(`${base}/v2/${r}/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  t.equal(await streamPatch(loc, 100 * 1024 * 1024, 40 * 1024 * 1024), 'cut');
  // The server learns of the cut a moment later; wait for the upload to settle.
  let size = -1;
  for (let i = 0; i < 100; i++) {
    const status = await fetch(`${base}${loc}`);
    const range = status.headers.get('range');
    const now = range ? Number(range.split('-')[1]) + 1 : 0;
    if (now === size && openDataFiles() === 0) break;
    size = now;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(size >= 32 * 1024 * 1024 && size <= 40 * 1024 * 1024, `kept ${size} bytes of the 40 MiB sent`);
  t.equal(openDataFiles(), 0, 'no descriptor left open after the cut');
  // Resume from where it stopped with a Content-Range chunk, then commit.
  const rest = Buffer.alloc(1024, 1);
  const patch = await fetch(`${base}${loc}`, {
    method: 'PATCH',
    headers: { 'Content-Range': `${size}-${size + rest.length - 1}`, 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(rest),
  });
  t.equal(patch.status, 202);
  const expected = createHash('sha256');
  for (let at = 0; at < size; at += 1024 * 1024) expected.update(Buffer.alloc(Math.min(1024 * 1024, size - at), at / (1024 * 1024)));
  expected.update(rest);
  const put = await fetch(`${base}${loc}?digest=sha256:${expected.digest('hex')}`, { method: 'PUT' });
  t.equal(put.status, 201, 'the resumed upload commits with the digest of all its bytes');
});

t.test('sha512 digests are verified and served', async (t) => {
  const r = repo();
  const data = Buffer.from('sha512 content');
  const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
  const res = await uploadBlob(base, r, { digest, data });
  t.equal(res.status, 201);
  const get = await fetch(`${base}/v2/${r}/blobs/${digest}`);
  t.equal(get.status, 200);
  t.equal(get.headers.get('docker-content-digest'), digest);
  t.equal(Buffer.from(await get.arrayBuffer()).toString(), 'sha512 content');
});

t.test('a wrong digest is DIGEST_INVALID and nothing is stored', async (t) => {
  const r = repo();
  const data = Buffer.from('real content');
  const wrong = sha256('other content');
  const res = await uploadBlob(base, r, { digest: wrong, data });
  t.equal(res.status, 400);
  t.equal(await errorCode(res), 'DIGEST_INVALID');
  t.equal((await fetch(`${base}/v2/${r}/blobs/${wrong}`, { method: 'HEAD' })).status, 404);
  t.equal((await fetch(`${base}/v2/${r}/blobs/${sha256(data)}`, { method: 'HEAD' })).status, 404);
  const malformed = await uploadBlob(base, r, { digest: 'sha256:xyz', data });
  t.equal(malformed.status, 400);
  t.equal(await errorCode(malformed), 'DIGEST_INVALID');
});

t.test('Range requests on blobs', async (t) => {
  const r = repo();
  const data = Buffer.from('abcdefghijklmnopqrstuvwxyz');
  const digest = sha256(data);
  await uploadBlob(base, r, { digest, data });
  const part = await fetch(`${base}/v2/${r}/blobs/${digest}`, { headers: { Range: 'bytes=2-5' } });
  t.equal(part.status, 206);
  t.equal(part.headers.get('content-range'), `bytes 2-5/${data.length}`);
  t.equal(await part.text(), 'cdef');
  const suffix = await fetch(`${base}/v2/${r}/blobs/${digest}`, { headers: { Range: 'bytes=-3' } });
  t.equal(await suffix.text(), 'xyz');
  const open = await fetch(`${base}/v2/${r}/blobs/${digest}`, { headers: { Range: 'bytes=24-' } });
  t.equal(await open.text(), 'yz');
  const past = await fetch(`${base}/v2/${r}/blobs/${digest}`, { headers: { Range: 'bytes=100-200' } });
  t.equal(past.status, 416);
  t.equal(past.headers.get('content-range'), `bytes */${data.length}`);
  const garbage = await fetch(`${base}/v2/${r}/blobs/${digest}`, { headers: { Range: 'pages=1-2' } });
  t.equal(garbage.status, 200, 'an unparsable Range is ignored, as RFC 9110 says');
  t.equal(await garbage.text(), data.toString());
});

t.test('GET of a blob larger than one read: whole, ranges across read boundaries, a client that leaves midway', async (t) => {
  const r = repo();
  const MiB = 1024 * 1024;
  const data = Buffer.alloc(3 * MiB + 5);
  // No two reads alike: a chunk served twice or out of place changes the digest.
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 12)) & 0xff;
  const digest = sha256(data);
  t.equal((await uploadBlob(base, r, { digest, data })).status, 201);
  const whole = Buffer.from(await (await fetch(`${base}/v2/${r}/blobs/${digest}`)).arrayBuffer());
  t.equal(sha256(whole), digest, 'the whole blob, every read in place');
  for (const [range, from, to] of [
    [`bytes=${MiB - 6}-${2 * MiB + 9}`, MiB - 6, 2 * MiB + 9],
    [`bytes=${MiB}-`, MiB, data.length - 1],
    ['bytes=-7', data.length - 7, data.length - 1],
  ] as const) {
    const res = await fetch(`${base}/v2/${r}/blobs/${digest}`, { headers: { Range: range } });
    t.equal(res.status, 206, range);
    t.equal(res.headers.get('content-range'), `bytes ${from}-${to}/${data.length}`);
    t.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(from, to + 1)), `${range}: the bytes of the range`);
  }
  // A client that reads a little and goes away: the transfer stops, the blob's descriptor is closed.
  await new Promise<void>((resolve, reject) => {
    const req = request(`${base}/v2/${r}/blobs/${digest}`, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
  let open = -1;
  for (let i = 0; i < 100 && open !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    open = openDataFiles();
  }
  t.equal(open, 0, 'no descriptor left open on the blob');
  const again = await fetch(`${base}/v2/${r}/blobs/${digest}`);
  t.equal(sha256(Buffer.from(await again.arrayBuffer())), digest, 'and it is served whole again');
});

t.test('cross-repository mount, and fallback to an upload when the source lacks the blob', async (t) => {
  const src = repo();
  const dst = repo();
  const data = Buffer.from('mount me');
  const digest = sha256(data);
  await uploadBlob(base, src, { digest, data });
  const mount = await fetch(`${base}/v2/${dst}/blobs/uploads/?mount=${digest}&from=${src}`, { method: 'POST' });
  t.equal(mount.status, 201);
  t.equal(mount.headers.get('location'), `/v2/${dst}/blobs/${digest}`);
  t.equal((await fetch(`${base}/v2/${dst}/blobs/${digest}`, { method: 'HEAD' })).status, 200);
  const missing = sha256('not anywhere');
  const fallback = await fetch(`${base}/v2/${dst}/blobs/uploads/?mount=${missing}&from=${src}`, { method: 'POST' });
  t.equal(fallback.status, 202);
  t.match(fallback.headers.get('location'), /\/blobs\/uploads\//);
});

t.test('upload cancel and unknown uploads', async (t) => {
  const r = repo();
  const post = await fetch(`${base}/v2/${r}/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  t.equal((await fetch(`${base}${loc}`, { method: 'DELETE' })).status, 204);
  const gone = await fetch(`${base}${loc}`);
  t.equal(gone.status, 404);
  t.equal(await errorCode(gone), 'BLOB_UPLOAD_UNKNOWN');
  const bogus = await fetch(`${base}/v2/${r}/blobs/uploads/not-a-uuid`, { method: 'PATCH', body: 'x' });
  t.equal(bogus.status, 404);
  t.equal(await errorCode(bogus), 'BLOB_UPLOAD_UNKNOWN');
});

t.test('manifests by tag and digest, GET and HEAD, with content type and digest headers', async (t) => {
  const r = repo();
  const image = makeImage();
  await pushImage(base, r, 'v1', image);
  for (const ref of ['v1', image.manifest.digest]) {
    const head = await fetch(`${base}/v2/${r}/manifests/${ref}`, { method: 'HEAD' });
    t.equal(head.status, 200);
    t.equal(head.headers.get('docker-content-digest'), image.manifest.digest);
    t.equal(head.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
    t.equal(head.headers.get('content-length'), String(image.manifest.data.length));
    const get = await fetch(`${base}/v2/${r}/manifests/${ref}`);
    t.same(Buffer.from(await get.arrayBuffer()), image.manifest.data, 'the bytes are served as pushed');
  }
  const unknown = await fetch(`${base}/v2/${r}/manifests/nope`);
  t.equal(unknown.status, 404);
  t.equal(await errorCode(unknown), 'MANIFEST_UNKNOWN');
});

t.test('PUT by digest checks the digest', async (t) => {
  const r = repo();
  const image = makeImage();
  for (const b of [image.config, ...image.layers]) await uploadBlob(base, r, b);
  const wrong = await putManifest(base, r, sha256('other'), image.manifest);
  t.equal(wrong.status, 400);
  t.equal(await errorCode(wrong), 'DIGEST_INVALID');
  const right = await putManifest(base, r, image.manifest.digest, image.manifest);
  t.equal(right.status, 201);
  t.equal(right.headers.get('docker-content-digest'), image.manifest.digest);
  t.equal(right.headers.get('location'), `/v2/${r}/manifests/${image.manifest.digest}`);
});

t.test('PUT by digest with ?tag= tags it in the same request (sha512 too)', async (t) => {
  const r = repo();
  const image = makeImage();
  for (const b of [image.config, ...image.layers]) await uploadBlob(base, r, b);
  const d512 = `sha512:${createHash('sha512').update(image.manifest.data).digest('hex')}`;
  const put = await putManifest(base, r, `${d512}?tag=one&tag=two`, image.manifest);
  t.equal(put.status, 201);
  t.equal(put.headers.get('oci-tag'), 'one, two');
  t.equal(put.headers.get('docker-content-digest'), d512);
  for (const tag of ['one', 'two']) {
    const get = await fetch(`${base}/v2/${r}/manifests/${tag}`);
    t.equal(get.headers.get('docker-content-digest'), d512, `${tag} points at the sha512 digest`);
  }
  const bad = await putManifest(base, r, `${image.manifest.digest}?tag=-no`, image.manifest);
  t.equal(bad.status, 400);
  t.equal(await errorCode(bad), 'TAG_INVALID');
});

t.test('Docker schema 2 manifest and manifest list', async (t) => {
  const r = repo();
  const amd = makeImage({ mediaTypes: 'docker', architecture: 'amd64' });
  const arm = makeImage({ mediaTypes: 'docker', architecture: 'arm64', variant: 'v8' });
  await pushImage(base, r, amd.manifest.digest, amd);
  await pushImage(base, r, arm.manifest.digest, arm);
  const list = makeIndex([amd, arm], true);
  const put = await putManifest(base, r, 'multi', list);
  t.equal(put.status, 201);
  const get = await fetch(`${base}/v2/${r}/manifests/multi`);
  t.equal(get.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.list.v2+json');
  t.equal(get.headers.get('docker-content-digest'), list.digest);
});

t.test('a manifest naming a missing blob or child manifest is MANIFEST_BLOB_UNKNOWN', async (t) => {
  const r = repo();
  const image = makeImage();
  await uploadBlob(base, r, image.config); // layers missing
  const res = await putManifest(base, r, 'broken', image.manifest);
  t.equal(res.status, 400);
  t.equal(await errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
  const other = makeImage();
  const index = makeIndex([other]);
  const res2 = await putManifest(base, r, 'broken-index', index);
  t.equal(res2.status, 400);
  t.equal(await errorCode(res2), 'MANIFEST_BLOB_UNKNOWN');
  t.equal((await fetch(`${base}/v2/${r}/manifests/broken`)).status, 404, 'nothing was stored');
});

t.test('invalid manifests are 400 MANIFEST_INVALID, never 5xx', async (t) => {
  const r = repo();
  const cases: Array<[string, string, string]> = [
    ['not JSON', '{"schemaVersion": 2', 'application/vnd.oci.image.manifest.v1+json'],
    ['an array', '[]', 'application/vnd.oci.image.manifest.v1+json'],
    ['schemaVersion 1', '{"schemaVersion":1}', 'application/vnd.oci.image.manifest.v1+json'],
    ['no config', '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}', 'application/vnd.oci.image.manifest.v1+json'],
    [
      'bad descriptor digest',
      '{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:1","size":1},"layers":[]}',
      'application/vnd.oci.image.manifest.v1+json',
    ],
    [
      'negative size',
      `{"schemaVersion":2,"config":{"mediaType":"x","digest":"${sha256('a')}","size":-1},"layers":[]}`,
      'application/vnd.oci.image.manifest.v1+json',
    ],
    ['type mismatch', '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}', 'application/vnd.oci.image.manifest.v1+json'],
    ['index without manifests', '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}', 'application/vnd.oci.image.index.v1+json'],
  ];
  for (const [what, body, type] of cases) {
    const res = await fetch(`${base}/v2/${r}/manifests/x`, { method: 'PUT', headers: { 'Content-Type': type }, body });
    t.equal(res.status, 400, what);
    t.equal(await errorCode(res), 'MANIFEST_INVALID', what);
  }
  const badTag = await fetch(`${base}/v2/${r}/manifests/-bad`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: '{}',
  });
  t.equal(badTag.status, 400);
  t.equal(await errorCode(badTag), 'TAG_INVALID');
});

/** rawGet sends a path exactly as written (fetch would resolve `..`). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: reg.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('repository names are checked against the grammar, as sent', async (t) => {
  for (const name of ['UPPER/case', 'a/../b', '../../../etc', 'a//b', '%2e%2e/x', '-x', `${'a'.repeat(256)}`, 'a/.b', 'a_/b']) {
    const res = await rawGet(`/v2/${name}/tags/list`);
    t.equal(res.status, 400, name.slice(0, 40));
    t.equal(JSON.parse(res.body).errors[0].code, 'NAME_INVALID', name.slice(0, 40));
  }
});

t.test('blob DELETE removes it from the repository', async (t) => {
  const r = repo();
  const data = Buffer.from('delete me');
  const digest = sha256(data);
  await uploadBlob(base, r, { digest, data });
  const del = await fetch(`${base}/v2/${r}/blobs/${digest}`, { method: 'DELETE' });
  t.equal(del.status, 202);
  t.equal((await fetch(`${base}/v2/${r}/blobs/${digest}`)).status, 404);
  const again = await fetch(`${base}/v2/${r}/blobs/${digest}`, { method: 'DELETE' });
  t.equal(again.status, 404);
  t.equal(await errorCode(again), 'BLOB_UNKNOWN');
});

t.test('method not allowed on a route is 405 METHOD_UNKNOWN; unknown paths 404', async (t) => {
  const res = await fetch(`${base}/v2/_catalog`, { method: 'DELETE' });
  t.equal(res.status, 405);
  t.equal(await errorCode(res), 'METHOD_UNKNOWN');
  const nf = await fetch(`${base}/nothing-here`);
  t.equal(nf.status, 404);
});
