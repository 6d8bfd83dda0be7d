// The web UI in a real browser: Debian's Chromium driven by playwright-core against the real server
// process. An image pushed with skopeo (OCI labels in its config), a multi-arch index and an SBOM-like
// referrer are found, opened and read; a tag is deleted through the confirmation dialog. Screenshots
// of the pages land in test-output/ui/ for a human to look at.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { missingPeer } from './helpers/peers.js';
import { makeImage, makeIndex, pushImage, putManifest, sha256, uploadBlob, writeLayout } from './helpers/images.js';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP } from './helpers/browser.js';

const run = promisify(execFile);
const OUT = join(ROOT, 'test-output', 'ui');

const skip = CHROMIUM_SKIP || missingPeer('skopeo');

const LABELS = {
  'org.opencontainers.image.version': '5.0.19',
  'org.opencontainers.image.revision': '3f9c2a1d7e5b',
  'org.opencontainers.image.ref.name': 'scarthgap',
  'org.opencontainers.image.source': 'https://git.example.com/bsp/meta-product',
  'org.opencontainers.image.title': 'core-image-minimal',
};

t.test('browse, inspect and delete in the web UI', { skip, timeout: 180_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const reg = await startTestRegistry(t);
  const base = reg.url;
  const work = await tempDir(t, 'cr-ui-');

  // 1. An image with OCI labels, pushed by skopeo from an OCI layout.
  const image = makeImage({
    labels: LABELS,
    layers: [[{ name: 'etc/os-release', content: 'ID=poky\nVERSION_ID=5.0.19\n' }], [{ name: 'usr/bin/app', content: 'x'.repeat(40_000) }]],
  });
  const layout = join(work, 'layout');
  await writeLayout(layout, [{ ref: 'app', image }]);
  const policy = join(work, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await run('skopeo', ['--policy', policy, 'copy', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${reg.host}/yocto/core-image-minimal:5.0.19`]);
  t.equal((await putManifest(base, 'yocto/core-image-minimal', 'dev', { ...image.manifest, data: image.manifest.data })).status, 201);

  // 2. A multi-arch index and a referrer (an SBOM-like artifact) of the labelled image.
  const amd = makeImage({ architecture: 'amd64', labels: LABELS });
  const arm = makeImage({ architecture: 'arm64', variant: 'v8', labels: LABELS });
  await pushImage(base, 'yocto/multi', amd.manifest.digest, amd);
  await pushImage(base, 'yocto/multi', arm.manifest.digest, arm);
  t.equal((await putManifest(base, 'yocto/multi', '2.0', makeIndex([amd, arm]))).status, 201);
  const sbom = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'core-image-minimal' }));
  const empty = Buffer.from('{}');
  for (const b of [sbom, empty]) t.equal((await uploadBlob(base, 'yocto/core-image-minimal', { digest: sha256(b), data: b })).status, 201);
  const artifact = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
      layers: [{ mediaType: 'application/spdx+json', digest: sha256(sbom), size: sbom.length }],
      subject: { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.data.length },
    }),
  );
  t.equal(
    (
      await putManifest(base, 'yocto/core-image-minimal', sha256(artifact), {
        digest: sha256(artifact),
        data: artifact,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
      })
    ).status,
    201,
  );
  // A few more repositories, so the list has something to search.
  for (const name of ['yocto/busybox', 'tools/debug-shell', 'bsp/qemux86-64/bootloader']) await pushImage(base, name, 'latest', makeImage());

  // 3. The browser: a fresh profile, no network but loopback.
  const profile = await tempDir(t, 'cr-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: CHROMIUM_ARGS,
  });
  t.teardown(() => context.close());
  await mkdir(OUT, { recursive: true });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  const external: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) external.push(r.url());
  });

  // Repository list with search.
  await page.goto(`${base}/ui/`);
  await page.getByRole('link', { name: 'yocto/core-image-minimal' }).waitFor();
  t.equal(await page.locator('main tbody tr').count(), 5, 'five repositories listed');
  await page.screenshot({ path: join(OUT, 'repositories.png'), fullPage: true });
  await page.getByRole('searchbox', { name: 'Search repositories' }).fill('core');
  t.equal(await page.locator('main tbody tr').count(), 1, 'search narrows the list');
  await page.getByRole('link', { name: 'yocto/core-image-minimal' }).click();

  // Tags of the repository, sorted.
  await page.getByRole('heading', { name: 'yocto/core-image-minimal', exact: true }).waitFor();
  await page.getByRole('columnheader', { name: 'Tag', exact: true }).waitFor();
  t.same(await page.locator('main tbody tr td:first-child').allTextContents(), ['5.0.19', 'dev'], 'tags in lexical order');
  await page.getByRole('link', { name: '5.0.19' }).click();

  // The image page: labels up front, layers, config, referrers, pull commands.
  await page.locator('section.labels').waitFor();
  const labels = await page.locator('section.labels').innerText();
  for (const v of ['5.0.19', '3f9c2a1d7e5b', 'scarthgap']) t.match(labels, v, `label value ${v} shown prominently`);
  t.match(await page.locator('main').innerText(), image.manifest.digest, 'digest shown');
  t.equal(await page.locator('#layers tbody tr').count(), 2, 'two layers');
  t.match(await page.locator('#referrers').innerText(), 'application/spdx+json', 'the SBOM referrer is listed');
  const pulls = await page.locator('.pull input').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
  t.same(pulls, [
    `docker pull ${reg.host}/yocto/core-image-minimal:5.0.19`,
    `podman pull --tls-verify=false ${reg.host}/yocto/core-image-minimal:5.0.19`,
    `skopeo copy --src-tls-verify=false docker://${reg.host}/yocto/core-image-minimal:5.0.19 oci:core-image-minimal:5.0.19`,
  ]);
  // Copy: http://127.0.0.1 is a secure context, so the clipboard API is used.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const copy = page.locator('.pull').first().getByRole('button', { name: 'Copy' });
  await copy.click();
  await page.locator('.pull').first().getByRole('button', { name: 'Copied' }).waitFor();
  t.equal(await page.evaluate(() => navigator.clipboard.readText()), pulls[0], 'the docker command is on the clipboard');
  await page.screenshot({ path: join(OUT, 'image.png'), fullPage: true });
  // The top of the page, as docs/ui-image.png in the README shows it.
  await page.screenshot({ path: join(OUT, 'readme.png'), clip: { x: 0, y: 0, width: 1100, height: 640 } });

  // The index: its platforms.
  await page.goto(`${base}/ui/#repo=yocto%2Fmulti&ref=2.0`);
  await page.locator('#platforms').waitFor();
  t.same(await page.locator('#platforms tbody tr td:first-child').allTextContents(), ['linux/amd64', 'linux/arm64/v8'], 'platforms of the index');
  t.equal(await page.locator('section.labels').count(), 0, 'an index without annotations has no label box');
  await page.screenshot({ path: join(OUT, 'index.png'), fullPage: true });

  // Delete a tag: confirm dialog, then the tag list without it.
  await page.goto(`${base}/ui/#repo=yocto%2Fcore-image-minimal&ref=dev`);
  // Only the hash changed, so the previous page (the index, with its own delete button) is still
  // up until the new view renders: wait for it, or the click lands on the wrong tag.
  await page.getByRole('heading', { name: 'yocto/core-image-minimal:dev', exact: true }).waitFor();
  await page.locator('#delete-tag').click();
  await page.locator('dialog#confirm[open]').waitFor();
  t.match(await page.locator('#confirm-text').innerText(), 'yocto/core-image-minimal:dev');
  await page.screenshot({ path: join(OUT, 'delete-confirm.png') });
  await page.locator('#confirm-ok').click();
  await page.getByRole('heading', { name: 'yocto/core-image-minimal', exact: true }).waitFor();
  await page.getByRole('columnheader', { name: 'Tag', exact: true }).waitFor();
  t.same(await page.locator('main tbody tr td:first-child').allTextContents(), ['5.0.19'], 'dev is gone from the page');
  const tags = (await (await fetch(`${base}/v2/yocto/core-image-minimal/tags/list`)).json()) as { tags: string[] };
  t.same(tags.tags, ['5.0.19'], 'and from the registry');

  // Dark mode and a phone-sized viewport: the same page stays readable.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/ui/#repo=yocto%2Fcore-image-minimal&ref=5.0.19`);
  await page.locator('section.labels').waitFor();
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  t.equal(bg, 'rgb(21, 24, 28)', 'dark background under prefers-color-scheme: dark');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  t.ok(overflow <= 0, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
  await page.screenshot({ path: join(OUT, 'image-phone-dark.png'), fullPage: true });

  t.same(external, [], 'nothing requested from anywhere but the registry');
  t.same(consoleErrors, [], 'no console errors');
});
