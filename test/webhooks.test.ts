// Event notifications against the real server process: a receiver in the test gets one push event
// per pushed tag with the right digest, in distribution's envelope; a failing receiver is retried;
// a receiver that never answers neither blocks a push nor grows memory without bound.
import t from 'tap';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/ports.js';
import { makeImage, pushImage, putManifest } from './helpers/images.js';
import { parseNotifications } from '../tools/src/registry/webhooks.js';

interface Envelope {
  events: Array<{
    id: string;
    timestamp: string;
    action: string;
    target: { mediaType: string; digest: string; repository: string; tag?: string; size: number; url: string };
    request: { id: string; addr: string; host: string; method: string; useragent: string };
    actor: { name?: string };
    source: { addr: string; instanceID: string };
  }>;
}

/** receiver listens on loopback; `answer` decides each response (status, or 'hang'). */
async function receiver(t: { teardown(fn: () => unknown): void }, answer: (n: number) => number | 'hang' = () => 200) {
  const got: Array<{ headers: IncomingHttpHeaders; body: Envelope }> = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = answer(requests++);
      if (a === 'hang') return;
      if (a < 300) got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) as Envelope });
      res.writeHead(a).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/events`, got, requests: () => requests };
}

async function storageWith(t: Parameters<typeof tempDir>[0], toml: string): Promise<string> {
  const dir = await tempDir(t, 'cr-hooks-');
  await writeFile(join(dir, 'config.toml'), toml);
  return dir;
}

t.test('config.toml: endpoints parse with defaults; bad entries are one clear line', async (t) => {
  const [e] = parseNotifications(
    '[[notifications.endpoints]]\nurl = "http://127.0.0.1:1/x"\nheaders = { Authorization = "Bearer a" }\ntimeout = 2\nbackoff = 0.5\nactions = ["push"]\n',
  );
  t.match(e, {
    name: '127.0.0.1:1',
    url: 'http://127.0.0.1:1/x',
    headers: { Authorization: 'Bearer a' },
    timeoutMs: 2000,
    backoffMs: 500,
    retries: 5,
    queue: 1000,
    actions: ['push'],
  });
  t.throws(() => parseNotifications('[[notifications.endpoints]]\nurl = "ftp://x"\n'), /only http and https/);
  t.throws(() => parseNotifications('[[notifications.endpoints]]\nurl = "http://x"\nactions = ["mount"]\n'), /actions must list push, pull and\/or delete/);
  t.throws(() => parseNotifications('notifications = [\n'), /config\.toml/);
  t.same(parseNotifications('# nothing\n'), []);
});

t.test('one push event per pushed tag with the right digest, then pull and delete events', async (t) => {
  const rx = await receiver(t);
  const storage = await storageWith(
    t,
    `[[notifications.endpoints]]\nname = "test"\nurl = "${rx.url}"\nheaders = { "X-Test-Token" = "s3cret" }\ntimeout = 5\nbackoff = 0.1\n`,
  );
  const reg = await startTestRegistry(t, { storage });
  const one = makeImage();
  const two = makeImage({ architecture: 'arm64' });
  await pushImage(reg.url, 'hooks/app', 'v1', one);
  t.equal((await putManifest(reg.url, 'hooks/app', 'latest', one.manifest)).status, 201);
  await pushImage(reg.url, 'hooks/other', 'v2', two);

  await waitFor(async () => rx.got.flatMap((g) => g.body.events).length >= 3, 10_000, 'three push events');
  const pushes = rx.got.flatMap((g) => g.body.events).filter((e) => e.action === 'push');
  t.same(
    pushes.map((e) => [e.target.repository, e.target.tag, e.target.digest]).sort(),
    [
      ['hooks/app', 'latest', one.manifest.digest],
      ['hooks/app', 'v1', one.manifest.digest],
      ['hooks/other', 'v2', two.manifest.digest],
    ],
    'one event per tag, each with its manifest digest',
  );
  const e = pushes[0]!;
  t.equal(e.target.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.equal(e.target.size, one.manifest.data.length);
  t.match(e.target.url, new RegExp(`^http://${reg.host}/v2/hooks/(app|other)/manifests/sha256:`));
  t.match(e.request, { method: 'PUT', host: reg.host, addr: /^127\.0\.0\.1:\d+$/ });
  t.match(e.id, /^[0-9a-f-]{36}$/);
  t.ok(Date.parse(e.timestamp) > 0);
  t.same(e.actor, {}, 'anonymous');
  t.match(e.source, { addr: `127.0.0.1:${reg.port}`, instanceID: /^[0-9a-f]{16}$/ });
  const headers = rx.got[0]!.headers;
  t.equal(headers['content-type'], 'application/vnd.docker.distribution.events.v1+json');
  t.equal(headers['x-test-token'], 's3cret', 'configured headers are sent');

  // A pull (GET, not HEAD) and a tag delete.
  t.equal((await fetch(`${reg.url}/v2/hooks/app/manifests/v1`, { method: 'HEAD' })).status, 200);
  t.equal((await fetch(`${reg.url}/v2/hooks/app/manifests/v1`)).status, 200);
  t.equal((await fetch(`${reg.url}/v2/hooks/app/manifests/latest`, { method: 'DELETE' })).status, 202);
  await waitFor(async () => rx.got.flatMap((g) => g.body.events).length >= 5, 10_000, 'pull and delete events');
  const rest = rx.got.flatMap((g) => g.body.events).slice(3);
  t.same(
    rest.map((x) => [x.action, x.target.tag, x.target.digest]),
    [
      ['pull', 'v1', one.manifest.digest],
      ['delete', 'latest', one.manifest.digest],
    ],
    'HEAD sends nothing; GET is a pull; DELETE of a tag names the tag and its digest',
  );
  const metrics = await (await fetch(`${reg.url}/metrics`)).text();
  t.match(metrics, /registry_notifications_total\{endpoint="test",outcome="sent"\} 5/);
});

t.test('a failing receiver is retried with backoff; the event arrives once it recovers', async (t) => {
  const rx = await receiver(t, (n) => (n < 2 ? 503 : 200));
  const storage = await storageWith(t, `[[notifications.endpoints]]\nname = "flaky"\nurl = "${rx.url}"\nbackoff = 0.1\nretries = 3\n`);
  const reg = await startTestRegistry(t, { storage });
  const image = makeImage();
  await pushImage(reg.url, 'hooks/flaky', 'v1', image);
  await waitFor(async () => rx.got.length >= 1, 10_000, 'the retried delivery');
  t.equal(rx.requests(), 3, 'two 503s, then delivered');
  t.equal(rx.got[0]!.body.events[0]!.target.digest, image.manifest.digest);
});

t.test('a receiver that never answers blocks no push; the bounded queue drops and counts', async (t) => {
  const rx = await receiver(t, () => 'hang');
  const storage = await storageWith(t, `[[notifications.endpoints]]\nname = "stuck"\nurl = "${rx.url}"\ntimeout = 30\nretries = 0\nqueue = 2\nbatch = 1\n`);
  const reg = await startTestRegistry(t, { storage });
  const started = Date.now();
  for (let i = 0; i < 6; i++) await pushImage(reg.url, 'hooks/stuck', `v${i}`, makeImage());
  t.ok(Date.now() - started < 10_000, `six pushes took ${Date.now() - started} ms with a hung receiver`);
  // One event is in flight (hung), two wait, the other three were dropped.
  const metrics = await (await fetch(`${reg.url}/metrics`)).text();
  t.match(metrics, /registry_notifications_total\{endpoint="stuck",outcome="dropped"\} 3/);
  t.match(metrics, /registry_notifications_queue_length\{endpoint="stuck"\} 2/);
  // Stopping does not wait for the hung receiver beyond the short shutdown grace.
  const stopStarted = Date.now();
  await reg.stop();
  t.ok(Date.now() - stopStarted < 8000, `stopped in ${Date.now() - stopStarted} ms`);
  t.match(reg.output(), /notifications: stuck: .*not sent at shutdown|gave up/);
});

t.test('CONTAINER_REGISTRY_NOTIFY adds endpoints without a config file', async (t) => {
  const rx = await receiver(t);
  const reg = await startTestRegistry(t, { env: { CONTAINER_REGISTRY_NOTIFY: rx.url } });
  const image = makeImage();
  await pushImage(reg.url, 'hooks/env', 'v1', image);
  await waitFor(async () => rx.got.length >= 1, 10_000, 'the event');
  t.equal(rx.got[0]!.body.events[0]!.target.digest, image.manifest.digest);
});
