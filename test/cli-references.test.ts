// Images named on the command line: a full reference (the kind the helper prints itself) names its
// registry, which must be the one the command talks to; a one-part name is in the namespace; a name
// with a '/' is the repository as written, inside the namespace or not.
import t from 'tap';
import { join } from 'node:path';
import { imageName } from '../tools/src/cli/registry-options.js';
import { startTestRegistry, runCli } from './helpers/registry.js';
import { writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';

t.test('imageName: the rules, table-driven', async (t) => {
  const local = { registry: '127.0.0.1:5111', namespace: 'yocto' };
  const d = `sha256:${'a'.repeat(64)}`;
  const cases: Array<[string, { registry: string; namespace: string }, { repository: string; tag?: string; digest?: string }]> = [
    ['app', local, { repository: 'yocto/app' }],
    ['app:v1', local, { repository: 'yocto/app', tag: 'v1' }],
    [`app@${d}`, local, { repository: 'yocto/app', digest: d }],
    ['yocto/app:v1', local, { repository: 'yocto/app', tag: 'v1' }],
    ['other/app:v1', local, { repository: 'other/app', tag: 'v1' }],
    ['a/b/c', local, { repository: 'a/b/c' }],
    ['127.0.0.1:5111/yocto/app:v1', local, { repository: 'yocto/app', tag: 'v1' }],
    ['127.0.0.1:5111/app', local, { repository: 'app' }],
    [`127.0.0.1:5111/yocto/app@${d}`, local, { repository: 'yocto/app', digest: d }],
    ['localhost:5111/yocto/app:v1', local, { repository: 'yocto/app', tag: 'v1' }],
    ['127.0.0.1:5111/other/app', { registry: 'http://127.0.0.1:5111', namespace: 'yocto' }, { repository: 'other/app' }],
    ['app', { registry: 'localhost:5000', namespace: 'team/yocto' }, { repository: 'team/yocto/app' }],
    ['app', { registry: 'localhost:5000', namespace: '' }, { repository: 'app' }],
    ['Reg.Example:443/x/app', { registry: 'reg.example:443', namespace: 'yocto' }, { repository: 'x/app' }],
  ];
  for (const [text, target, want] of cases) t.same(imageName(text, target), { tag: undefined, digest: undefined, ...want }, `${text} at ${target.registry}`);
  t.throws(() => imageName('reg.example/yocto/app:v1', local), {
    code: 'usage',
    message: /names the registry reg\.example, but this command talks to 127\.0\.0\.1:5111 .*--registry reg\.example/,
  });
  t.throws(() => imageName('127.0.0.1:5112/yocto/app', local), { code: 'usage', message: /names the registry 127\.0\.0\.1:5112/ });
  t.throws(() => imageName('App', local), { code: 'usage', message: /invalid image reference "App"/ });
});

t.test('the CLI takes full references and names outside the namespace', async (t) => {
  const reg = await startTestRegistry(t);
  const root = await tempDir(t);
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'app', stamp: '20260112143022' });
  const deploy = join(root, 'images', 'qemux86-64');
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy, CONTAINER_REGISTRY_NAMESPACE: 'yocto' };
  const pushed = await runCli(['push', 'app', '-t', 'v1', '-t', 'tmp'], { env });
  t.equal(pushed.code, 0, pushed.stderr);

  // What push printed names the image as a full reference; every command takes it back.
  t.match(pushed.stdout, `${reg.host}/yocto/app: v1 tmp sha256:`);
  const full = await runCli(['inspect', `${reg.host}/yocto/app:v1`, '--registry', reg.host, '--json']);
  t.equal(full.code, 0, full.stderr);
  const info = JSON.parse(full.stdout) as { repository: string; digest: string };
  t.equal(info.repository, 'yocto/app');
  const byDigest = await runCli(['inspect', `${reg.host}/yocto/app@${info.digest}`, '--json'], { env });
  t.equal(byDigest.code, 0, byDigest.stderr);
  t.equal((JSON.parse(byDigest.stdout) as { digest: string }).digest, info.digest);
  const tags = await runCli(['tags', `${reg.host}/yocto/app`], { env });
  t.equal(tags.code, 0, tags.stderr);
  t.same(tags.stdout.trim().split('\n').sort(), ['tmp', 'v1']);
  const del = await runCli(['delete', `${reg.host}/yocto/app:tmp`], { env });
  t.equal(del.code, 0, del.stderr);
  t.match(del.stdout, 'Deleted yocto/app:tmp');

  // Another registry named in the reference is refused, saying which registry is in use.
  const other = await runCli(['inspect', 'reg.example:5000/yocto/app:v1'], { env });
  t.equal(other.code, 2);
  t.match(other.stderr, `[usage]: reg.example:5000/yocto/app:v1 names the registry reg.example:5000, but this command talks to ${reg.host}`);

  // A repository outside the namespace: pushed there by naming it, then read back by that name.
  const outside = await runCli(['push', 'other/app', '-t', 'v1', '--json'], { env });
  t.equal(outside.code, 0, outside.stderr);
  t.equal((JSON.parse(outside.stdout) as { results: Array<{ repository: string }> }).results[0]!.repository, 'other/app');
  const insp = await runCli(['inspect', 'other/app:v1', '--json'], { env });
  t.equal(insp.code, 0, insp.stderr);
  t.equal((JSON.parse(insp.stdout) as { repository: string }).repository, 'other/app');
  const fullOutside = await runCli(['inspect', `${reg.host}/other/app:v1`], { env });
  t.equal(fullOutside.code, 0, fullOutside.stderr);

  // push IMAGE as a full reference with a tag: the tag is an explicit tag.
  const pushFull = await runCli(['push', `${reg.host}/yocto/app:v2`, '--json'], { env });
  t.equal(pushFull.code, 0, pushFull.stderr);
  const pr = (JSON.parse(pushFull.stdout) as { results: Array<{ repository: string; tags: string[] }> }).results[0]!;
  t.same([pr.repository, pr.tags], ['yocto/app', ['v2']]);

  // import's target: a full reference, or a name outside the namespace.
  const imp = await runCli(['import', `${reg.host}/yocto/app:v1`, `${reg.host}/mirror/app:v1`, '--json'], { env });
  t.equal(imp.code, 0, imp.stderr);
  t.equal((JSON.parse(imp.stdout) as { results: Array<{ repository: string }> }).results[0]!.repository, 'mirror/app');
  const list = await runCli(['list', '--all', '--json'], { env });
  t.same(Object.keys(JSON.parse(list.stdout) as Record<string, string[]>).sort(), ['mirror/app', 'other/app', 'yocto/app']);
});
