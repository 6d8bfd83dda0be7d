// Bad input against the real process, much of it over a raw socket so nothing normalises it first:
// malformed manifests, bad names and ranges, wrong digests, garbage Content-Range, Content-Length
// lies and aborted uploads. Every answer is a 4xx (the spec's error JSON whenever the request
// reached the registry), never a 5xx; the process survives and logs no internal error; an upload
// cut off mid-body can be resumed, and nothing half-sent ever shows up as a blob.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestRegistry } from './helpers/registry.js';
import { makeImage, makeIndex, pushImage, putManifest, sha256, uploadBlob } from './helpers/images.js';
import { waitFor } from './helpers/ports.js';
import { errorCode, raw, req } from './helpers/raw-http.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

t.test('bad input never gets a 5xx', async (t) => {
  const reg = await startTestRegistry(t);
  const image = makeImage();
  await pushImage(reg.url, 'ok/app', 'v1', image);
  const small = randomBytes(1000);
  t.equal((await uploadBlob(reg.url, 'ok/app', { digest: sha256(small), data: small })).status, 201);
  const blobPath = `/v2/ok/app/blobs/${sha256(small)}`;
  const unknown = `sha256:${'0'.repeat(64)}`;

  const layer = image.layers[0]!;
  const manifestWith = (extra: Record<string, unknown>) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: image.config.digest, size: image.config.data.length },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.data.length }],
      ...extra,
    });
  const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;

  // [what, raw request, expected status (or a test), expected spec code ('' = Node's own parser answer)]
  const table: Array<[string, string | Buffer, number | ((s: number) => boolean), string?]> = [
    // names
    // the URL parser folds dot segments first, so these reach no repository at all
    ['name with ..', req('GET', '/v2/../etc/passwd/tags/list'), (s) => s === 400 || s === 404],
    ['name a/../b', req('GET', '/v2/a/../b/manifests/latest'), (s) => s === 400 || s === 404],
    ['name %2e%2e (URL-normalised away)', req('GET', '/v2/%2e%2e/%2e%2e/etc/tags/list'), (s) => s === 400 || s === 404],
    ['name %2e%2e inside', req('GET', '/v2/ok/%2e%2e/%2e%2e/x/blobs/uploads/', {}), (s) => s >= 400 && s < 500],
    ['name %2F', req('GET', '/v2/ok%2Fapp/tags/list'), 400, 'NAME_INVALID'],
    ['name uppercase', req('GET', '/v2/Ok/App/tags/list'), 400, 'NAME_INVALID'],
    ['name over 255', req('GET', `/v2/${'a'.repeat(256)}/tags/list`), 400, 'NAME_INVALID'],
    ['name of 255 is fine but unknown', req('GET', `/v2/${'a'.repeat(255)}/tags/list`), 404, 'NAME_UNKNOWN'],
    ['name with NUL', req('GET', '/v2/ok%00app/tags/list'), 400, 'NAME_INVALID'],
    ['name with backslash', req('GET', '/v2/ok\\..\\app/tags/list'), (s) => s >= 400 && s < 500],
    ['upload id traversal', req('GET', '/v2/ok/app/blobs/uploads/..%2F..%2F..%2Fblobs'), 404, 'BLOB_UPLOAD_UNKNOWN'],
    ['upload id not a uuid', req('PATCH', '/v2/ok/app/blobs/uploads/nope', { 'Content-Length': 3 }, 'abc'), 404, 'BLOB_UPLOAD_UNKNOWN'],
    // digests
    ['blob digest garbage', req('GET', '/v2/ok/app/blobs/sha256:xyz'), 400, 'DIGEST_INVALID'],
    ['blob digest md5', req('GET', '/v2/ok/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e'), 400, 'DIGEST_INVALID'],
    ['blob digest uppercase hex', req('HEAD', `/v2/ok/app/blobs/sha256:${'A'.repeat(64)}`), 400],
    ['blob unknown', req('GET', `/v2/ok/app/blobs/${unknown}`), 404, 'BLOB_UNKNOWN'],
    ['monolithic upload, wrong digest', req('POST', `/v2/ok/app/blobs/uploads/?digest=${unknown}`, { 'Content-Length': 5 }, 'hello'), 400, 'DIGEST_INVALID'],
    ['monolithic upload, digest sha256:', req('POST', '/v2/ok/app/blobs/uploads/?digest=sha256:', { 'Content-Length': 5 }, 'hello'), 400, 'DIGEST_INVALID'],
    [
      'monolithic upload, sha512 of other bytes',
      req('POST', `/v2/ok/app/blobs/uploads/?digest=sha512:${'1'.repeat(128)}`, { 'Content-Length': 5 }, 'hello'),
      400,
      'DIGEST_INVALID',
    ],
    ['mount of a bad digest', req('POST', '/v2/ok/app/blobs/uploads/?mount=sha256:zz&from=ok/app'), 400, 'DIGEST_INVALID'],
    // ranges on GET
    ['range past the end', req('GET', blobPath, { Range: 'bytes=2000-' }), 416, 'RANGE_INVALID'],
    ['range suffix 0', req('GET', blobPath, { Range: 'bytes=-0' }), 416, 'RANGE_INVALID'],
    ['range reversed (ignored)', req('GET', blobPath, { Range: 'bytes=500-100' }), 200],
    ['range garbage (ignored)', req('GET', blobPath, { Range: 'bytes=abc' }), 200],
    ['multi-range (ignored)', req('GET', blobPath, { Range: 'bytes=0-1,5-6' }), 200],
    ['range end huge', req('GET', blobPath, { Range: 'bytes=10-99999999999999999999999' }), 206],
    ['range start huge', req('GET', blobPath, { Range: 'bytes=99999999999999999999999-' }), 416, 'RANGE_INVALID'],
    // manifests
    [
      'manifest invalid JSON',
      req('PUT', '/v2/ok/app/manifests/bad', { 'Content-Type': OCI_MANIFEST, 'Content-Length': 8 }, '{"schema'),
      400,
      'MANIFEST_INVALID',
    ],
    [
      'manifest not UTF-8',
      Buffer.concat([
        Buffer.from(req('PUT', '/v2/ok/app/manifests/bad', { 'Content-Type': OCI_MANIFEST, 'Content-Length': 4 })),
        Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
      ]),
      400,
      'MANIFEST_INVALID',
    ],
    ['manifest null', req('PUT', '/v2/ok/app/manifests/bad', { 'Content-Type': OCI_MANIFEST, 'Content-Length': 4 }, 'null'), 400, 'MANIFEST_INVALID'],
    ['manifest array', req('PUT', '/v2/ok/app/manifests/bad', { 'Content-Type': OCI_MANIFEST, 'Content-Length': 2 }, '[]'), 400, 'MANIFEST_INVALID'],
    [
      'manifest nested 200k deep',
      req('PUT', '/v2/ok/app/manifests/bad', { 'Content-Type': OCI_MANIFEST, 'Content-Length': deep.length }, deep),
      400,
      'MANIFEST_INVALID',
    ],
    [
      'manifest schemaVersion 1',
      req(
        'PUT',
        '/v2/ok/app/manifests/bad',
        { 'Content-Type': OCI_MANIFEST, 'Content-Length': Buffer.byteLength(manifestWith({ schemaVersion: 1 })) },
        manifestWith({ schemaVersion: 1 }),
      ),
      400,
      'MANIFEST_INVALID',
    ],
    [
      'manifest schemaVersion "2"',
      req(
        'PUT',
        '/v2/ok/app/manifests/bad',
        { 'Content-Type': OCI_MANIFEST, 'Content-Length': Buffer.byteLength(manifestWith({ schemaVersion: '2' })) },
        manifestWith({ schemaVersion: '2' }),
      ),
      400,
      'MANIFEST_INVALID',
    ],
    [
      'manifest layers null',
      req(
        'PUT',
        '/v2/ok/app/manifests/bad',
        { 'Content-Type': OCI_MANIFEST, 'Content-Length': Buffer.byteLength(manifestWith({ layers: null })) },
        manifestWith({ layers: null }),
      ),
      400,
      'MANIFEST_INVALID',
    ],
    [
      'manifest size -1',
      req(
        'PUT',
        '/v2/ok/app/manifests/bad',
        {
          'Content-Type': OCI_MANIFEST,
          'Content-Length': Buffer.byteLength(manifestWith({ layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: -1 }] })),
        },
        manifestWith({ layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: -1 }] }),
      ),
      400,
      'MANIFEST_INVALID',
    ],
    [
      'manifest descriptor digest bad',
      req(
        'PUT',
        '/v2/ok/app/manifests/bad',
        {
          'Content-Type': OCI_MANIFEST,
          'Content-Length': Buffer.byteLength(manifestWith({ layers: [{ mediaType: layer.mediaType, digest: 'sha256:../../x', size: 1 }] })),
        },
        manifestWith({ layers: [{ mediaType: layer.mediaType, digest: 'sha256:../../x', size: 1 }] }),
      ),
      400,
      'MANIFEST_INVALID',
    ],
    [
      'manifest names a missing blob',
      req(
        'PUT',
        '/v2/ok/app/manifests/bad',
        {
          'Content-Type': OCI_MANIFEST,
          'Content-Length': Buffer.byteLength(manifestWith({ layers: [{ mediaType: layer.mediaType, digest: unknown, size: 1 }] })),
        },
        manifestWith({ layers: [{ mediaType: layer.mediaType, digest: unknown, size: 1 }] }),
      ),
      400,
      'MANIFEST_BLOB_UNKNOWN',
    ],
    [
      'index names a missing child',
      req(
        'PUT',
        '/v2/ok/app/manifests/bad',
        { 'Content-Type': 'application/vnd.oci.image.index.v1+json', 'Content-Length': makeIndex([makeImage()]).data.length },
        makeIndex([makeImage()]).data.toString(),
      ),
      400,
      'MANIFEST_BLOB_UNKNOWN',
    ],
    [
      'manifest by a digest it does not have',
      req(
        'PUT',
        `/v2/ok/app/manifests/${unknown}`,
        { 'Content-Type': OCI_MANIFEST, 'Content-Length': image.manifest.data.length },
        image.manifest.data.toString(),
      ),
      400,
      'DIGEST_INVALID',
    ],
    [
      'manifest invalid tag',
      req('PUT', '/v2/ok/app/manifests/-bad', { 'Content-Type': OCI_MANIFEST, 'Content-Length': image.manifest.data.length }, image.manifest.data.toString()),
      400,
      'TAG_INVALID',
    ],
    [
      'manifest tag of 129 chars',
      req(
        'PUT',
        `/v2/ok/app/manifests/${'t'.repeat(129)}`,
        { 'Content-Type': OCI_MANIFEST, 'Content-Length': image.manifest.data.length },
        image.manifest.data.toString(),
      ),
      400,
      'TAG_INVALID',
    ],
    [
      'manifest Content-Length over 4 MiB',
      req('PUT', '/v2/ok/app/manifests/big', { 'Content-Type': OCI_MANIFEST, 'Content-Length': 5 * 1024 * 1024 }, '{'),
      413,
      'SIZE_INVALID',
    ],
    ['manifest GET unknown tag', req('GET', '/v2/ok/app/manifests/nope'), 404, 'MANIFEST_UNKNOWN'],
    ['manifest GET bad digest', req('GET', '/v2/ok/app/manifests/sha256:nothex'), (s) => s === 400 || s === 404],
    // methods and pagination
    ['DELETE /v2/_catalog', req('DELETE', '/v2/_catalog'), 405, 'METHOD_UNKNOWN'],
    ['PATCH a manifest', req('PATCH', '/v2/ok/app/manifests/v1', { 'Content-Length': 0 }), 405, 'METHOD_UNKNOWN'],
    ['tags/list n=-1', req('GET', '/v2/ok/app/tags/list?n=-1'), 400, 'PAGINATION_NUMBER_INVALID'],
    ['tags/list n=1e99', req('GET', '/v2/ok/app/tags/list?n=1e99'), 400, 'PAGINATION_NUMBER_INVALID'],
    // malformed HTTP: Node's parser answers 400 itself, before the registry sees anything
    ['request line garbage', 'GARBAGE\r\n\r\n', 400, ''],
    ['Content-Length not a number', req('PATCH', '/v2/ok/app/blobs/uploads/x', { 'Content-Length': 'abc' }), 400, ''],
    ['Content-Length negative', req('PATCH', '/v2/ok/app/blobs/uploads/x', { 'Content-Length': -1 }), 400, ''],
    [
      'Content-Length and chunked together',
      req('POST', '/v2/ok/app/blobs/uploads/', { 'Content-Length': 5, 'Transfer-Encoding': 'chunked' }, '0\r\n\r\n'),
      400,
      '',
    ],
    ['header of 100 KB', req('GET', '/v2/', { 'X-Big': 'x'.repeat(100_000) }), 431, ''],
    ['URL of 100 KB', req('GET', `/v2/${'a/'.repeat(50_000)}tags/list`), 431, ''],
  ];

  for (const [what, request, expected, code] of table) {
    const r = await raw(reg, request, { endInput: false });
    const ok = typeof expected === 'number' ? r.status === expected : r.status !== undefined && expected(r.status);
    t.ok(ok, `${what}: ${r.status}`, { found: r.status, body: r.body.slice(0, 200) });
    if (r.status !== undefined && r.status >= 500) t.fail(`${what}: 5xx ${r.body.slice(0, 200)}`);
    if (code) t.equal(errorCode(r.body), code, `${what}: ${code}`);
    else if (code === undefined && r.status !== undefined && r.status >= 400 && !request.toString().startsWith('HEAD ')) {
      t.ok(errorCode(r.body), `${what}: spec error JSON`);
    }
  }
  t.equal(reg.process.exitCode, null, 'the server is still running');
  t.equal((await fetch(`${reg.url}/v2/ok/app/manifests/v1`, { method: 'HEAD' })).status, 200, 'and still serves');
  t.notMatch(reg.output(), /container-registry: [A-Z]+ \//, 'no internal error was logged');
});

t.test('PATCH Content-Range garbage is a 416 with the spec error', async (t) => {
  const reg = await startTestRegistry(t);
  const post = await fetch(`${reg.url}/v2/cr/app/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  for (const range of ['bytes=abc', 'abc-def', '5-2', '-5', '0-', '0-4/x', '1-5', '0-99999999999999999999999', ' ', '0-4,5-9']) {
    const r = await raw(reg, req('PATCH', loc, { 'Content-Range': range, 'Content-Length': 5 }, 'hello'));
    t.equal(r.status, 416, `Content-Range ${JSON.stringify(range)}: 416`);
    t.equal(errorCode(r.body), 'RANGE_INVALID', `Content-Range ${JSON.stringify(range)}: RANGE_INVALID`);
  }
  const status = await fetch(new URL(loc, reg.url));
  t.equal(status.status, 204);
  // "0-99999..." carried a real body that was written before the length check; the session tells so.
  const size = Number(status.headers.get('range')!.split('-')[1]) + 1;
  t.ok(size === 1 || size === 5, `the upload reports what it holds (Range ${status.headers.get('range')})`);
  t.notMatch(reg.output(), /container-registry: [A-Z]+ \//, 'no internal error was logged');
});

t.test('Content-Length lies and aborted uploads', async (t) => {
  const reg = await startTestRegistry(t);
  const data = randomBytes(2 * 1024 * 1024);
  const digest = sha256(data);

  // 1. A PATCH that promises 2 MiB and sends 700 KiB, then the client dies.
  const post = await fetch(`${reg.url}/v2/abort/app/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  const cut = 700 * 1024;
  const head = Buffer.from(req('PATCH', loc, { 'Content-Length': data.length, 'Content-Type': 'application/octet-stream' }));
  const r1 = await raw(reg, Buffer.concat([head, data.subarray(0, cut)]), { abortAfterMs: 300 });
  t.equal(r1.status, undefined, 'no answer before the client went away');
  let have = -1;
  await waitFor(
    async () => {
      const s = await fetch(new URL(loc, reg.url));
      have = Number(s.headers.get('range')!.split('-')[1]) + 1;
      return s.status === 204 && have === cut;
    },
    5000,
    'the upload to settle at what arrived',
  );
  t.equal(have, cut, 'upload status tells the bytes that arrived before the abort');
  // The client resumes from there, as the spec's chunked upload allows.
  const rest = await fetch(new URL(loc, reg.url), {
    method: 'PATCH',
    headers: { 'Content-Range': `${have}-${data.length - 1}`, 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(data.subarray(have)),
  });
  t.equal(rest.status, 202, 'resumed PATCH accepted');
  const put = new URL(rest.headers.get('location')!, reg.url);
  put.searchParams.set('digest', digest);
  const done = await fetch(put, { method: 'PUT' });
  t.equal(done.status, 201, 'commit after an aborted chunk');
  const back = Buffer.from(await (await fetch(`${reg.url}/v2/abort/app/blobs/${digest}`)).arrayBuffer());
  t.equal(sha256(back), digest, 'blob intact');

  // 2. A monolithic POST ?digest that promises 1 TB and sends a little: nothing becomes visible.
  const other = randomBytes(64 * 1024);
  const otherDigest = sha256(other);
  const r2 = await raw(
    reg,
    Buffer.concat([Buffer.from(req('POST', `/v2/abort/app/blobs/uploads/?digest=${otherDigest}`, { 'Content-Length': 1e12 })), other]),
    { abortAfterMs: 300 },
  );
  t.equal(r2.status, undefined, 'no answer to a body that never finished');
  t.equal((await fetch(`${reg.url}/v2/abort/app/blobs/${otherDigest}`, { method: 'HEAD' })).status, 404, 'the partial blob is not visible');

  // 3. A PUT with the whole content sent but a longer Content-Length: still not visible.
  const loc3 = (await fetch(`${reg.url}/v2/abort/app/blobs/uploads/`, { method: 'POST' })).headers.get('location')!;
  const r3 = await raw(reg, Buffer.concat([Buffer.from(req('PUT', `${loc3}?digest=${otherDigest}`, { 'Content-Length': other.length + 10 })), other]), {
    abortAfterMs: 300,
  });
  t.equal(r3.status, undefined, 'no answer to a PUT whose body never finished');
  t.equal(
    (await fetch(`${reg.url}/v2/abort/app/blobs/${otherDigest}`, { method: 'HEAD' })).status,
    404,
    'bytes short of the announced length are not committed',
  );

  // 4. A Content-Length shorter than the body: the rest is a malformed next request. Node's parser
  // answers that one 400 and closes the socket, possibly before the first request is answered, so
  // the 5 bytes may or may not have been taken; either way the session stays consistent.
  const post4 = await fetch(`${reg.url}/v2/abort/app/blobs/uploads/`, { method: 'POST' });
  const loc4 = post4.headers.get('location')!;
  const r4 = await raw(reg, `PATCH ${loc4} HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\n\r\nhelloTHIS IS NOT HTTP\r\n\r\n`);
  t.ok(r4.status === 202 || r4.status === 400, `short Content-Length: ${r4.status}`);
  const s4 = await fetch(new URL(loc4, reg.url));
  t.equal(s4.status, 204, 'the session survives');
  t.ok(['0-4', '0-0'].includes(s4.headers.get('range') ?? ''), `it holds the 5 declared bytes or none (Range ${s4.headers.get('range')})`);

  // 5. A chunked body with a broken chunk size: the upload keeps what was valid, no 5xx.
  const post5 = await fetch(`${reg.url}/v2/abort/app/blobs/uploads/`, { method: 'POST' });
  const loc5 = post5.headers.get('location')!;
  const r5 = await raw(reg, `PATCH ${loc5} HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\nZZZ\r\nxx\r\n0\r\n\r\n`);
  t.ok(r5.status === undefined || (r5.status >= 400 && r5.status < 500), `broken chunked body: ${r5.status}`);
  const s5 = await fetch(new URL(loc5, reg.url));
  t.equal(s5.status, 204, 'the upload session is still there');

  // 6. A manifest PUT cut off halfway: no tag appears.
  const m = makeImage();
  await pushImage(reg.url, 'abort/m', 'seed', m);
  const half = m.manifest.data.subarray(0, Math.floor(m.manifest.data.length / 2));
  await raw(
    reg,
    Buffer.concat([Buffer.from(req('PUT', '/v2/abort/m/manifests/cut', { 'Content-Type': OCI_MANIFEST, 'Content-Length': m.manifest.data.length })), half]),
    { abortAfterMs: 300 },
  );
  t.equal((await fetch(`${reg.url}/v2/abort/m/manifests/cut`, { method: 'HEAD' })).status, 404, 'no tag from a cut-off manifest');
  const tags = (await (await fetch(`${reg.url}/v2/abort/m/tags/list`)).json()) as { tags: string[] };
  t.same(tags.tags, ['seed']);
  t.equal((await putManifest(reg.url, 'abort/m', 'cut', m.manifest)).status, 201, 'the same PUT whole succeeds');

  t.equal(reg.process.exitCode, null, 'the server is still running');
  t.notMatch(reg.output(), /container-registry: [A-Z]+ \//, 'no internal error was logged');
});
