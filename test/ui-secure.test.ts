// The web UI, /metrics and /readyz in secure mode (HTTPS, Basic logins): the browser's login is
// enough for the UI; the delete button shows only for a user who may push, and the API refuses
// the others; refused requests are counted; readiness checks the certificate and the users file.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage } from './helpers/images.js';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP } from './helpers/browser.js';

const skip = CHROMIUM_SKIP;

t.test('secure mode: login, delete only for pushers, auth failures counted, TLS and htpasswd checked', { skip, timeout: 180_000 }, async (t) => {
  const { chromium, request } = await import('playwright-core');
  const storage = join(await tempDir(t, 'cr-uisec-'), 'storage');
  // First start creates the PKI and the default user; then a reader who may only pull.
  const reg = await startTestRegistry(t, { storage, args: ['--tls', '--auth'] });
  const added = await runCli(['auth', 'add', 'reader', '--storage', storage, '--password-stdin'], { input: 'reader-password-1\n' });
  t.equal(added.code, 0, added.stderr);
  await writeFile(join(storage, 'auth', 'access.toml'), 'pull = "authenticated"\npush = "authenticated"\n\n[[repository]]\nmatch = "**"\npush = ["yocto"]\n');
  const password = (await readFile(join(storage, 'auth', 'password'), 'utf8')).trim();
  const base = `https://localhost:${reg.port}`;

  // Push over HTTPS as the default user (the request context trusts the test's own CA by skipping checks).
  const admin = await request.newContext({ baseURL: base, ignoreHTTPSErrors: true, httpCredentials: { username: 'yocto', password, send: 'always' } });
  t.teardown(() => admin.dispose());
  const image = makeImage({ labels: { 'org.opencontainers.image.version': '9.9.9' } });
  for (const b of [image.config, ...image.layers]) {
    const r = await admin.post(`/v2/secure/app/blobs/uploads/?digest=${b.digest}`, { data: b.data, headers: { 'Content-Type': 'application/octet-stream' } });
    t.equal(r.status(), 201, `blob ${b.digest}`);
  }
  for (const tag of ['v1', 'v2']) {
    const r = await admin.put(`/v2/secure/app/manifests/${tag}`, { data: image.manifest.data, headers: { 'Content-Type': image.manifest.mediaType } });
    t.equal(r.status(), 201, `manifest ${tag}`);
  }

  // No credentials: the UI asks for them the way a browser prompts (401 + Basic challenge).
  const anon = await request.newContext({ baseURL: base, ignoreHTTPSErrors: true });
  t.teardown(() => anon.dispose());
  const challenge = await anon.get('/ui/');
  t.equal(challenge.status(), 401);
  t.match(challenge.headers()['www-authenticate'], /^Basic realm=/);

  const browse = async (username: string, pw: string) => {
    const profile = await tempDir(t, 'cr-chromium-');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      ignoreHTTPSErrors: true,
      httpCredentials: { username, password: pw },
      args: CHROMIUM_ARGS,
    });
    t.teardown(() => context.close());
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${base}/ui/#repo=secure%2Fapp&ref=v1`);
    await page.locator('section.labels').waitFor();
    return page;
  };

  // The reader sees the image but no delete button; the API refuses the delete all the same.
  const readerPage = await browse('reader', 'reader-password-1');
  t.match(await readerPage.locator('section.labels').innerText(), '9.9.9');
  t.equal(await readerPage.locator('#delete-tag').count(), 0, 'no delete button for a user who may not push');
  const reader = await request.newContext({
    baseURL: base,
    ignoreHTTPSErrors: true,
    httpCredentials: { username: 'reader', password: 'reader-password-1', send: 'always' },
  });
  t.teardown(() => reader.dispose());
  const refused = await reader.delete('/ui/api/tag?repository=secure%2Fapp&tag=v1');
  t.equal(refused.status(), 403);

  // The pusher deletes through the page.
  const adminPage = await browse('yocto', password);
  await adminPage.locator('#delete-tag').click();
  await adminPage.locator('#confirm-ok').click();
  await adminPage.getByRole('columnheader', { name: 'Tag', exact: true }).waitFor();
  t.same(await adminPage.locator('main tbody tr td:first-child').allTextContents(), ['v2']);

  // /metrics from loopback needs no login; it counted the refusals.
  const metrics = await (await anon.get('/metrics')).text();
  t.match(metrics, /registry_auth_failures_total\{reason="missing"\} [1-9]/, 'the anonymous request was counted');
  t.match(metrics, /registry_auth_failures_total\{reason="denied"\} [1-9]/, "the reader's delete was counted");
  t.match(metrics, /registry_manifest_events_total\{action="delete"\} 1/);

  // Readiness covers the certificate and the users file.
  const ready = await anon.get('/readyz');
  t.equal(ready.status(), 200);
  const checks = ((await ready.json()) as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks;
  t.same(
    checks.map((c) => [c.name, c.ok]),
    [
      ['storage-writable', true],
      ['disk-free', true],
      ['tls-certificate', true],
      ['htpasswd-readable', true],
    ],
  );
  t.match(checks.find((c) => c.name === 'tls-certificate')!.detail, /^\d+ day\(s\) left/);
});
