// /metrics, /healthz, /readyz and the UI's endpoints against the real server process: counters
// scraped before and after a push move by exactly what was pushed and pulled; gc's runs show up.
import t from 'tap';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { makeImage, pushImage } from './helpers/images.js';

/** scrape reads /metrics into `name{labels}` → value (comments dropped). */
async function scrape(base: string): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const get = (m: Map<string, number>, key: string) => m.get(key) ?? 0;

t.test('a push and a pull move the counters by the right amounts', async (t) => {
  const reg = await startTestRegistry(t);
  const image = makeImage({ layers: [[{ name: 'a.txt', content: 'a'.repeat(5000) }], [{ name: 'b.txt', content: 'b' }]] });
  const blobBytes = image.config.data.length + image.layers.reduce((s, l) => s + l.data.length, 0);

  const before = await scrape(reg.url);
  t.equal(get(before, 'registry_storage_blob_upload_total'), 0);
  t.equal(get(before, 'registry_repositories'), 0);
  t.equal(get(before, 'registry_storage_size_bytes'), 0);

  await pushImage(reg.url, 'metrics/app', 'v1', image);
  const afterPush = await scrape(reg.url);
  t.equal(get(afterPush, 'registry_storage_blob_upload_total') - get(before, 'registry_storage_blob_upload_total'), 3, 'config + 2 layers uploaded');
  t.equal(get(afterPush, 'registry_storage_blob_upload_bytes_total') - get(before, 'registry_storage_blob_upload_bytes_total'), blobBytes, 'their bytes');
  t.equal(get(afterPush, 'registry_manifest_events_total{action="push"}'), 1);
  t.equal(get(afterPush, 'registry_repositories'), 1);
  t.equal(get(afterPush, 'registry_tags'), 1);
  t.equal(get(afterPush, 'registry_storage_blobs'), 4, 'config, 2 layers, manifest');
  t.equal(get(afterPush, 'registry_storage_size_bytes'), blobBytes + image.manifest.data.length);
  t.equal(get(afterPush, 'registry_http_requests_total{method="POST",route="uploads",status="201"}'), 3);
  t.equal(get(afterPush, 'registry_http_requests_total{method="PUT",route="manifest",status="201"}'), 1);
  t.equal(get(afterPush, 'registry_http_request_duration_seconds_count{method="PUT",route="manifest",status="201"}'), 1, 'the histogram counts by route kind');
  t.notOk(
    [...afterPush.keys()].some((k) => k.includes('metrics/app')),
    'no raw path becomes a label',
  );

  // Pull: the manifest by tag, then one layer in full and one in part.
  t.equal((await fetch(`${reg.url}/v2/metrics/app/manifests/v1`, { headers: { Accept: image.manifest.mediaType } })).status, 200);
  const full = await fetch(`${reg.url}/v2/metrics/app/blobs/${image.layers[0]!.digest}`);
  t.equal((await full.arrayBuffer()).byteLength, image.layers[0]!.data.length);
  const part = await fetch(`${reg.url}/v2/metrics/app/blobs/${image.layers[0]!.digest}`, { headers: { Range: 'bytes=0-9' } });
  t.equal(part.status, 206);
  await part.arrayBuffer();
  const afterPull = await scrape(reg.url);
  t.equal(get(afterPull, 'registry_manifest_events_total{action="pull"}'), 1);
  t.equal(get(afterPull, 'registry_storage_blob_download_total') - get(afterPush, 'registry_storage_blob_download_total'), 2);
  t.equal(
    get(afterPull, 'registry_storage_blob_download_bytes_total') - get(afterPush, 'registry_storage_blob_download_bytes_total'),
    image.layers[0]!.data.length + 10,
  );
  t.equal(get(afterPull, 'registry_storage_blob_upload_total'), get(afterPush, 'registry_storage_blob_upload_total'), 'a pull uploads nothing');

  // gc runs in its own process; the server reads its totals from the storage directory.
  t.equal(get(afterPull, 'registry_gc_runs_total'), 0);
  t.equal((await fetch(`${reg.url}/v2/metrics/app/manifests/v1`, { method: 'DELETE' })).status, 202);
  const gc = await runCli(['gc', '--storage', reg.storage, '--delete-untagged', '--grace', '0', '--settle', '0', '--json']);
  t.equal(gc.code, 0, gc.stderr);
  const report = JSON.parse(gc.stdout) as { bytesFreed: number };
  t.ok(report.bytesFreed > 0);
  const afterGc = await scrape(reg.url);
  t.equal(get(afterGc, 'registry_gc_runs_total'), 1);
  t.equal(get(afterGc, 'registry_gc_bytes_freed_total'), report.bytesFreed);
  t.ok(get(afterGc, 'registry_gc_last_run_timestamp_seconds') > Date.now() / 1000 - 120);
  t.equal(get(afterGc, 'registry_manifest_events_total{action="delete"}'), 1);
});

t.test('/healthz, /readyz and status show the checks', async (t) => {
  const reg = await startTestRegistry(t);
  const health = await fetch(`${reg.url}/healthz`);
  t.equal(health.status, 200);
  const ready = await fetch(`${reg.url}/readyz`);
  t.equal(ready.status, 200);
  const body = (await ready.json()) as { status: string; checks: Array<{ name: string; ok: boolean }> };
  t.equal(body.status, 'ready');
  t.same(
    body.checks.map((c) => [c.name, c.ok]),
    [
      ['storage-writable', true],
      ['disk-free', true],
    ],
  );
  const status = await runCli(['status', '--storage', reg.storage]);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /Ready: yes/);
  t.match(status.stdout, /ok {3}storage-writable/);
  t.match(status.stdout, /ok {3}disk-free: \d+ MiB free, 256 MiB required/);
});

t.test('/readyz fails when the free-disk threshold is not met', async (t) => {
  // A threshold no disk meets: the check's failure path, without filling a disk.
  const reg = await startTestRegistry(t, { args: ['--min-free-disk', String(1024 * 1024 * 1024)] });
  const ready = await fetch(`${reg.url}/readyz`);
  t.equal(ready.status, 503);
  const body = (await ready.json()) as { status: string; checks: Array<{ name: string; ok: boolean }> };
  t.equal(body.status, 'not-ready');
  t.equal(body.checks.find((c) => c.name === 'disk-free')?.ok, false);
  const status = await runCli(['status', '--storage', reg.storage]);
  t.equal(status.code, 4);
  t.match(status.stdout, /FAIL disk-free/);
});

t.test('UI and metrics settings: --no-ui, --metrics-access off, the UI page and its headers', async (t) => {
  const on = await startTestRegistry(t);
  const page = await fetch(`${on.url}/ui/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'/);
  t.match(await page.text(), /<script src="app\.js" defer><\/script>/);
  for (const asset of ['app.js', 'app.css', 'favicon.svg']) t.equal((await fetch(`${on.url}/ui/${asset}`)).status, 200, asset);
  const redirect = await fetch(`${on.url}/`, { redirect: 'manual' });
  t.equal(redirect.status, 302);
  t.equal(redirect.headers.get('location'), '/ui/');
  t.equal((await fetch(`${on.url}/ui/api/repositories`)).status, 200);

  const off = await startTestRegistry(t, { args: ['--no-ui', '--metrics-access', 'off'] });
  t.equal((await fetch(`${off.url}/ui/`)).status, 404);
  t.equal((await fetch(`${off.url}/metrics`)).status, 404);
  t.equal((await fetch(`${off.url}/healthz`)).status, 200, 'health stays');
  t.equal((await fetch(`${off.url}/v2/`)).status, 200, 'the API is untouched');

  const envOff = await startTestRegistry(t, { env: { CONTAINER_REGISTRY_UI: '0' } });
  t.equal((await fetch(`${envOff.url}/ui/`)).status, 404, 'CONTAINER_REGISTRY_UI=0');
});
