import t from 'tap';
import { isValidRepositoryName, isValidTag, nameProblem, MAX_NAME_LENGTH } from '../tools/src/oci/names.js';
import { parseImageReference } from '../tools/src/oci/reference.js';
import { parseDigest, digestOf, formatDigest } from '../tools/src/oci/digest.js';

t.test('repository names follow the spec grammar', async (t) => {
  for (const good of ['a', 'yocto/container-base', 'a/b/c', 'a.b_c__d---e', 'x0/y1']) {
    t.ok(isValidRepositoryName(good), good);
  }
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '../etc', 'a/../b', 'a/./b', '-a', 'a-', 'a___b', 'a b', 'a%2fb', '.', 'a/.hidden']) {
    t.notOk(isValidRepositoryName(bad), JSON.stringify(bad));
  }
  t.ok(isValidRepositoryName('a'.repeat(MAX_NAME_LENGTH)));
  t.match(nameProblem('a'.repeat(MAX_NAME_LENGTH + 1)), /longer than 255/);
});

t.test('tags follow [A-Za-z0-9_][A-Za-z0-9._-]{0,127}', async (t) => {
  for (const good of ['latest', '1.2.3', '_x', 'A-b.c_d', 'a'.repeat(128)]) t.ok(isValidTag(good), good);
  for (const bad of ['', '.x', '-x', 'a/b', 'a:b', 'a'.repeat(129), 'ä']) t.notOk(isValidTag(bad), JSON.stringify(bad));
});

t.test('image references split into registry, repository, tag, digest', async (t) => {
  t.same(parseImageReference('localhost:5000/yocto/app:1.0'), { registry: 'localhost:5000', repository: 'yocto/app', tag: '1.0', digest: undefined });
  t.same(parseImageReference('docker.io/library/alpine'), { registry: 'docker.io', repository: 'library/alpine', tag: undefined, digest: undefined });
  t.same(parseImageReference('yocto/app'), { registry: undefined, repository: 'yocto/app', tag: undefined, digest: undefined });
  const d = digestOf('x');
  t.same(parseImageReference(`ghcr.io/o/r@${d}`), { registry: 'ghcr.io', repository: 'o/r', tag: undefined, digest: d });
  t.throws(() => parseImageReference('Yocto/App'), /invalid image reference/);
});

t.test('digests: sha256 and sha512 only, exact length, lowercase hex', async (t) => {
  const d256 = digestOf('hello');
  t.equal(d256, 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  t.equal(formatDigest(parseDigest(d256)), d256);
  const d512 = digestOf('hello', 'sha512');
  t.equal(parseDigest(d512).algorithm, 'sha512');
  for (const bad of ['sha256:abc', `md5:${'a'.repeat(32)}`, `sha256:${'A'.repeat(64)}`, 'sha256', `:${'a'.repeat(64)}`, `sha512:${'a'.repeat(64)}`]) {
    t.throws(() => parseDigest(bad), { code: 'DIGEST_INVALID' }, bad);
  }
});
