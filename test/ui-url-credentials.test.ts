// The web UI opened with credentials in its URL (`https://user:password@host/ui/`), as people paste
// it: the page's API calls must not carry the URL's credentials (fetch refuses to build such a
// request), and the browser's login for the origin is enough for them.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage, pushImage } from './helpers/images.js';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP } from './helpers/browser.js';

const skip = CHROMIUM_SKIP;

t.test('the UI works when its URL carries credentials', { skip, timeout: 180_000 }, async (t) => {
  const { chromium } = await import('playwright-core');

  // Plain HTTP, no logins: credentials in the URL are merely there.
  const plain = await startTestRegistry(t);
  await pushImage(plain.url, 'yocto/plain', 'v1', makeImage());
  // Secure mode with logins: the URL's credentials are the login.
  const storage = join(await tempDir(t, 'cr-uicred-'), 'storage');
  const secure = await startTestRegistry(t, { storage, args: ['--tls', '--auth'] });
  const password = (await readFile(join(storage, 'auth', 'password'), 'utf8')).trim();

  const profile = await tempDir(t, 'cr-chromium-');
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, ignoreHTTPSErrors: true, args: CHROMIUM_ARGS });
  t.teardown(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });

  // Plain HTTP: the list, then an image page.
  await page.goto(`http://someone:secret@127.0.0.1:${plain.port}/ui/`);
  await page.locator('main table, main .error').first().waitFor();
  t.equal(await page.locator('main .error').count(), 0, `no error on the page: ${await page.locator('main').innerText()}`);
  await page.getByRole('link', { name: 'yocto/plain' }).waitFor();
  await page.goto(`http://someone:secret@127.0.0.1:${plain.port}/ui/#repo=yocto%2Fplain&ref=v1`);
  await page.locator('#layers, main .error').first().waitFor();
  t.equal(await page.locator('main .error').count(), 0, 'the image page loads');
  const pull = await page.locator('.pull input').first().inputValue();
  t.equal(pull, `docker pull 127.0.0.1:${plain.port}/yocto/plain:v1`, 'the pull command carries no credentials');

  // HTTPS with a login given in the URL.
  await page.goto(`https://yocto:${encodeURIComponent(password)}@localhost:${secure.port}/ui/`);
  await page.locator('main table, main .error').first().waitFor();
  t.equal(await page.locator('main .error').count(), 0, `no error on the secure page: ${await page.locator('main').innerText()}`);
  t.match(await page.locator('main h1').innerText(), 'Repositories');

  t.same(
    errors.filter((e) => /credentials/i.test(e)),
    [],
    'no "Request cannot be constructed from a URL that includes credentials"',
  );
});
