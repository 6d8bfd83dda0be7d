// Client pieces without a registry: error shaping and redaction, retries, the limiter, Link headers,
// registry spellings, and an in-process server that answers exactly what a test wants.
import t from 'tap';
import { createServer } from 'node:http';
import { RegistryHttpError, NetworkError, isRetryable, parseDiagnostics, redactUrl } from '../tools/src/client/errors.js';
import { Limiter, withRetry } from '../tools/src/client/retry.js';
import { nextLink } from '../tools/src/client/listing.js';
import { RegistrySession } from '../tools/src/client/session.js';
import { pushBlob } from '../tools/src/client/blobs.js';
import { repositoryOf, resolveRegistry } from '../tools/src/cli/registry-options.js';
import { isLoopbackHost } from '../tools/src/oci/reference.js';
import { digestOf } from '../tools/src/oci/digest.js';
import { newPushContext, pushImageSet } from '../tools/src/push/push.js';
import { SilentReporter } from '../tools/src/push/progress.js';
import type { ImageContent } from '../tools/src/layout/layout.js';
import { Readable } from 'node:stream';

t.test('errors: status, diagnostics, method, redacted URL, retryable', async (t) => {
  const e = new RegistryHttpError({
    status: 400,
    method: 'PUT',
    url: 'https://user:pw@reg.example/v2/a/blobs/uploads/1?_state=SECRETSTATE&digest=sha256:abc',
    diagnostics: parseDiagnostics('{"errors":[{"code":"DIGEST_INVALID","message":"digest did not match"}]}'),
  });
  t.equal(e.message, 'PUT https://reg.example/v2/a/blobs/uploads/1?_state=REDACTED&digest=sha256%3Aabc: 400 DIGEST_INVALID: digest did not match');
  t.notMatch(e.message, /SECRETSTATE|pw/);
  t.equal(e.retryable, false);
  t.ok(e.hasCode('DIGEST_INVALID'));
  t.equal(new RegistryHttpError({ status: 503, method: 'GET', url: 'http://x/v2/' }).retryable, true);
  t.equal(new RegistryHttpError({ status: 429, method: 'GET', url: 'http://x/v2/' }).retryable, true);
  t.equal(new NetworkError('GET', 'http://x/', Object.assign(new Error('reset'), { code: 'ECONNRESET' })).retryable, true);
  t.equal(
    new NetworkError('GET', 'https://x/', Object.assign(new Error('self signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })).retryable,
    false,
    'a certificate problem is not retried',
  );
  t.same(parseDiagnostics('<html>'), []);
  t.equal(redactUrl('http://h/v2/_catalog?n=10&last=b'), 'http://h/v2/_catalog?n=10&last=b');
});

t.test('withRetry: retries what may pass, not what cannot', async (t) => {
  let n = 0;
  const v = await withRetry(
    async () => {
      if (++n < 3) throw new RegistryHttpError({ status: 502, method: 'GET', url: 'http://x/' });
      return 'ok';
    },
    { baseDelayMs: 1 },
  );
  t.equal(v, 'ok');
  t.equal(n, 3);
  n = 0;
  await t.rejects(
    withRetry(
      async () => {
        n++;
        throw new RegistryHttpError({ status: 404, method: 'GET', url: 'http://x/' });
      },
      { baseDelayMs: 1 },
    ),
    { message: /404/ },
  );
  t.equal(n, 1, 'a 404 is not retried');
  n = 0;
  await t.rejects(
    withRetry(
      async () => {
        n++;
        throw new RegistryHttpError({ status: 500, method: 'GET', url: 'http://x/' });
      },
      { baseDelayMs: 1, attempts: 3 },
    ),
    { message: /500/ },
  );
  t.equal(n, 3, 'bounded');
  t.ok(isRetryable(new NetworkError('GET', 'http://x', new Error('x'))));
});

t.test('Limiter bounds parallel work', async (t) => {
  const l = new Limiter(2);
  let running = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 8 }, () =>
      l.run(async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      }),
    ),
  );
  t.equal(peak, 2);
});

t.test('Link headers, registry spellings, namespaces', async (t) => {
  t.equal(nextLink('</v2/_catalog?last=b&n=2>; rel="next"'), '/v2/_catalog?last=b&n=2');
  t.equal(nextLink('<https://h/v2/x/tags/list?last=t2&n=2>; rel=next'), 'https://h/v2/x/tags/list?last=t2&n=2');
  t.equal(nextLink('</a>; rel="prev", </b>; rel="next"'), '/b');
  t.equal(nextLink(undefined), undefined);
  t.equal(new RegistrySession({ registry: 'http://127.0.0.1:5000' }).host, '127.0.0.1:5000');
  t.equal(new RegistrySession({ registry: 'ghcr.io' }).host, 'ghcr.io');
  const pick = (r: ReturnType<typeof resolveRegistry>) => ({ registry: r.registry, namespace: r.namespace });
  t.same(pick(resolveRegistry('localhost:5000/team', 'yocto')), { registry: 'localhost:5000', namespace: 'team/yocto' });
  t.same(pick(resolveRegistry('https://reg.example', '')), { registry: 'https://reg.example', namespace: '' });
  t.throws(() => resolveRegistry('ho st:5000', 'yocto'), { code: 'usage', message: /invalid registry/ });
  t.equal(repositoryOf('app', 'yocto'), 'yocto/app');
  t.equal(repositoryOf('yocto/app', 'yocto'), 'yocto/app');
  t.equal(repositoryOf('app', ''), 'app');
  for (const h of ['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000']) t.ok(isLoopbackHost(h), h);
  for (const h of ['localhost.example:5000', '10.0.2.2:5000', 'ghcr.io']) t.notOk(isLoopbackHost(h), h);
});

t.test('a failed mount falls back to the upload session the registry opened; a large blob streams in PATCH', async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['content-length'] ?? ''}`);
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v2/') return res.writeHead(200).end('{}');
      if (req.method === 'HEAD') return res.writeHead(404).end();
      if (req.method === 'POST') return res.writeHead(202, { Location: '/v2/dst/blobs/uploads/u1?_state=s' }).end();
      if (req.method === 'PATCH') return res.writeHead(202, { Location: '/v2/dst/blobs/uploads/u1?_state=s2' }).end();
      if (req.method === 'PUT') return res.writeHead(201).end();
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const s = new RegistrySession({ registry: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
  t.teardown(() => s.close());
  const data = Buffer.alloc(3000, 1);
  const r = await pushBlob(
    s,
    'dst',
    { digest: `sha256:${'a'.repeat(64)}`, size: data.length, open: () => Readable.from([data]) },
    { mountFrom: ['src'], monolithicMax: 1000 },
  );
  t.same(r, { how: 'uploaded', bytesSent: 3000 });
  t.same(seen.slice(1), [
    `HEAD /v2/dst/blobs/sha256:${'a'.repeat(64)} `,
    `POST /v2/dst/blobs/uploads/?mount=sha256%3A${'a'.repeat(64)}&from=src 0`,
    'PATCH /v2/dst/blobs/uploads/u1?_state=s 3000',
    `PUT /v2/dst/blobs/uploads/u1?_state=s2&digest=sha256%3A${'a'.repeat(64)} 0`,
  ]);
});

t.test('credentials never follow an upload Location to another origin', async (t) => {
  const seenByOther: Array<string | undefined> = [];
  const other = createServer((req, res) => {
    seenByOther.push(req.headers.authorization);
    req.resume();
    req.on('end', () => res.writeHead(201).end());
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  t.teardown(() => other.close());
  const otherPort = (other.address() as { port: number }).port;
  const seenByRegistry: Array<string | undefined> = [];
  const registry = createServer((req, res) => {
    seenByRegistry.push(req.headers.authorization);
    req.resume();
    req.on('end', () => {
      if (!req.headers.authorization) return res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="r"' }).end();
      if (req.method === 'HEAD') return res.writeHead(404).end();
      if (req.method === 'POST') return res.writeHead(202, { Location: `http://localhost:${otherPort}/upload/1` }).end();
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  t.teardown(() => registry.close());
  const s = new RegistrySession({
    registry: `http://127.0.0.1:${(registry.address() as { port: number }).port}`,
    credentials: async () => ({ kind: 'basic', username: 'u', password: 'p' }),
  });
  t.teardown(() => s.close());
  const data = Buffer.from('x');
  await pushBlob(s, 'r', { digest: `sha256:${'b'.repeat(64)}`, size: 1, open: () => Readable.from([data]) });
  t.ok(
    seenByRegistry.some((a) => a?.startsWith('Basic ')),
    'the registry got Basic credentials',
  );
  t.same(seenByOther, [undefined], 'the other origin got none');
});

t.test('a registry known to serve plain HTTP is asked on http:// first, with no TLS handshake before', async (t) => {
  let handshakes = 0;
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200).end('{}');
  });
  // A TLS ClientHello sent to a plain-HTTP server is a client error there.
  server.on('clientError', (_err, socket) => {
    handshakes++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const registry = `127.0.0.1:${(server.address() as { port: number }).port}`;
  for (const servesHttp of [false, true]) {
    handshakes = 0;
    seen.length = 0;
    const s = new RegistrySession({ registry, tls: { allowHttp: true }, servesHttp });
    t.equal((await s.baseUrl()).protocol, 'http:');
    s.close();
    t.same(seen, ['GET /v2/'], `servesHttp ${servesHttp}: one ping`);
    t.equal(handshakes, servesHttp ? 0 : 1, servesHttp ? 'no TLS handshake first' : 'https:// first without the hint');
  }
  // The hint never widens what is allowed: without --insecure or loopback's allowHttp, https:// only.
  const strict = new RegistrySession({ registry, servesHttp: true });
  t.teardown(() => strict.close());
  await t.rejects(strict.baseUrl(), /does not speak HTTPS/);
});

t.test('a tag that already holds the pushed manifest: one HEAD, no manifest or config read, nothing put', async (t) => {
  const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
  const manifestDigest = digestOf(manifest);
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 2 };
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'1'.repeat(64)}`, size: 10 };
  const image: ImageContent = {
    manifest,
    manifestDigest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    configBody: Buffer.from('{}'),
    layers: [layer],
    platform: { os: 'linux', architecture: 'amd64' },
    blob: (d) => ({ digest: d.digest, size: d.size, open: () => Readable.from([Buffer.alloc(d.size)]) }),
  };
  let tagDigest = manifestDigest;
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.url === '/v2/') return res.writeHead(200).end('{}');
    if (req.method === 'HEAD' && req.url?.includes('/blobs/')) return res.writeHead(200).end();
    if (req.method === 'HEAD' && req.url === '/v2/yocto/app/manifests/latest') {
      return res.writeHead(200, { 'Docker-Content-Digest': tagDigest, 'Content-Type': image.mediaType }).end();
    }
    if (req.method === 'GET' && req.url === '/v2/yocto/app/manifests/latest') {
      return res.writeHead(200, { 'Content-Type': image.mediaType }).end('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","x":1}');
    }
    if (req.method === 'PUT') return res.writeHead(201).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const s = new RegistrySession({ registry: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
  t.teardown(() => s.close());
  const ctx = newPushContext(s, new SilentReporter(), 4, undefined);
  const r = await pushImageSet(ctx, 'yocto/app', [image], ['latest']);
  t.same(r.tagged, { latest: { digest: manifestDigest, mediaType: image.mediaType, platforms: ['linux/amd64'] } });
  t.equal(r.bytesSent, 0);
  t.equal(r.blobsSkipped, 2);
  t.same(
    seen.filter((l) => l.includes('/manifests/')),
    ['HEAD /v2/yocto/app/manifests/latest'],
    'the tag is asked once: no GET of its manifest or config, no PUT',
  );

  // The tag holds something else: the full path reads it and points it at ours.
  tagDigest = `sha256:${'9'.repeat(64)}`;
  seen.length = 0;
  await pushImageSet(newPushContext(s, new SilentReporter(), 4, undefined), 'yocto/app', [image], ['latest']);
  t.ok(seen.includes('GET /v2/yocto/app/manifests/latest'), 'a changed tag is read');
  t.ok(seen.includes('PUT /v2/yocto/app/manifests/latest'), 'and put');
});
