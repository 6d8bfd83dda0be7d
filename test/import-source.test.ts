// import's source as a new user meets it: a plain-HTTP registry on this machine needs no flag (the
// loopback rule push applies), a plain-HTTP registry elsewhere is refused with the flag that
// helps (--src-insecure: held to its text through the session, as tests reach only loopback), and
// a single-platform image reports its platform from its config.
import t from 'tap';
import { join } from 'node:path';
import { RegistrySession } from '../tools/src/client/session.js';
import { startTestRegistry, runCli } from './helpers/registry.js';
import { writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';

const src = await startTestRegistry(t);
const dst = await startTestRegistry(t);

/** pushed writes one single-platform build of `image` and pushes it to the source registry as `image:v1`. */
async function pushed(t: { teardown(fn: () => unknown): void }, image: string, architecture = 'amd64'): Promise<void> {
  const root = await tempDir(t);
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image, stamp: '20260112143022', architecture });
  const r = await runCli(['push', image, '-t', 'v1', '--quiet', '--registry', src.host, '--deploy-dir', join(root, 'images', 'qemux86-64')]);
  if (r.code !== 0) throw new Error(`push ${image}: ${r.stderr}`);
}

t.test('a plain-HTTP source on this machine (127.0.0.1) needs no insecure flag, as the target does not', async (t) => {
  await pushed(t, 'loopsrc');
  const r = await runCli(['import', `${src.host}/yocto/loopsrc:v1`, 'loopcopy:v1', '--registry', dst.host, '--json']);
  t.equal(r.code, 0, r.stderr);
  const res = (JSON.parse(r.stdout) as { results: Array<{ repository: string; tags: string[] }> }).results[0]!;
  t.equal(res.repository, 'yocto/loopcopy');
  t.same(res.tags, ['v1']);
  const there = await runCli(['tags', 'loopcopy', '--registry', dst.host]);
  t.equal(there.stdout.trim(), 'v1', there.stderr);
});

t.test('the session names the flag its caller gives for plain HTTP', async (t) => {
  // The session itself does not apply the loopback rule (its callers do): without allowHttp, even a
  // registry on 127.0.0.1 gets the hint, which is how it can be held to its text here.
  const s = new RegistrySession({ registry: src.host, tls: {}, insecureFlag: '--src-insecure' });
  t.teardown(() => s.close());
  await t.rejects(s.baseUrl(), { message: /does not speak HTTPS; use --src-insecure for a plain-HTTP registry/ });
  const d = new RegistrySession({ registry: src.host, tls: {} });
  t.teardown(() => d.close());
  await t.rejects(d.baseUrl(), { message: /use --insecure \(or CONTAINER_REGISTRY_INSECURE=1\)/ }, 'the target flag by default');
});

t.test('a single-platform image reports its platform (from its config) in text and --json', async (t) => {
  await pushed(t, 'onearch', 'arm64');
  const json = await runCli(['import', `${src.host}/yocto/onearch:v1`, 'onearch-copy:v1', '--registry', dst.host, '--src-insecure', '--json']);
  t.equal(json.code, 0, json.stderr);
  t.same((JSON.parse(json.stdout) as { results: Array<{ platforms: string[] }> }).results[0]!.platforms, ['linux/arm64']);
  const text = await runCli(['import', `${src.host}/yocto/onearch:v1`, 'onearch-copy:v2', '--registry', dst.host, '--src-insecure']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /onearch-copy:v2 sha256:[0-9a-f]{64} \(linux\/arm64\)/);
  t.notMatch(text.stdout, /unknown/);
});
