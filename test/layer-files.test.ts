// The layer's files follow the conventions users and yocto-check-layer expect; no BitBake needed.
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './helpers/registry.js';

const LAYER = join(ROOT, 'meta-container-registry');
const read = (p: string) => readFile(join(LAYER, p), 'utf8');

t.test('layer.conf: collection, priority, depends, series, node as a host tool', async (t) => {
  const conf = await read('conf/layer.conf');
  const order = [
    'BBPATH',
    'BBFILES',
    'BBFILE_COLLECTIONS',
    'BBFILE_PATTERN_container-registry',
    'BBFILE_PRIORITY_container-registry',
    'LAYERVERSION_container-registry',
    'LAYERDEPENDS_container-registry',
    'LAYERSERIES_COMPAT_container-registry',
  ];
  const at = order.map((v) => conf.search(new RegExp(`^${v} `, 'm')));
  t.ok(
    at.every((i) => i >= 0),
    'every usual variable is set',
  );
  t.same(
    [...at].sort((a, b) => a - b),
    at,
    'in the usual order',
  );
  t.match(conf, /^LAYERDEPENDS_container-registry = "core"$/m);
  t.match(conf, /^LAYERSERIES_COMPAT_container-registry = "scarthgap styhead walnascar whinlatter wrynose blacksail"$/m);
  t.match(conf, /^HOSTTOOLS_NONFATAL \+= "node"$/m);
  t.notMatch(conf, /^INHERIT/m, 'the layer inherits nothing globally');
});

t.test('container-registry.bbclass: a [doc] line above every weak default', async (t) => {
  const text = await read('classes/container-registry.bbclass');
  const lines = text.split('\n');
  const defaults = lines.map((l, i) => [l, i] as const).filter(([l]) => /^[A-Z_]+ \?\?= /.test(l));
  t.ok(defaults.length >= 25, `${defaults.length} defaults`);
  for (const [line, i] of defaults) {
    const name = line.split(' ')[0]!;
    t.match(lines[i - 1], new RegExp(`^${name}\\[doc\\] = ".+"$`), `${name} has a doc line`);
  }
  const want: Record<string, string> = {
    CONTAINER_REGISTRY_URL: 'localhost:5000',
    CONTAINER_REGISTRY_NAMESPACE: 'yocto',
    CONTAINER_REGISTRY_TAG_STRATEGY: 'timestamp latest',
    CONTAINER_REGISTRY_STORAGE: '${TOPDIR}/container-registry',
    CONTAINER_REGISTRY_INSECURE: '0',
    CONTAINER_REGISTRY_SECURE: '0',
    CONTAINER_REGISTRY_AUTH: '0',
    CONTAINER_REGISTRY_AUTH_MODE: 'none',
    CONTAINER_REGISTRY_AUTHFILE: '',
    CONTAINER_REGISTRY_CREDSFILE: '',
    CONTAINER_REGISTRY_USERNAME: 'yocto',
    CONTAINER_REGISTRY_PASSWORD: '',
    CONTAINER_REGISTRY_CERT_DAYS: '365',
    CONTAINER_REGISTRY_CA_DAYS: '3650',
    CONTAINER_REGISTRY_CERT_SAN: '',
    CONTAINER_REGISTRY_IMAGES: '',
    DOCKER_REGISTRY_INSECURE: '',
  };
  for (const [name, value] of Object.entries(want)) t.match(text, `\n${name} ??= "${value}"\n`, `${name} defaults to the reference's "${value}"`);
});

t.test('recipes: one per package, allarch config recipes, the index out of world', async (t) => {
  const dir = 'recipes-containers/container-registry';
  const files = (await readdir(join(LAYER, dir))).filter((f) => f.endsWith('.bb')).sort();
  t.same(files, [
    'container-oci-registry-config_1.0.bb',
    'container-registry-ca_1.0.bb',
    'container-registry-index_1.0.bb',
    'containerd-registry-config_1.0.bb',
    'docker-registry-config_1.0.bb',
    'vdkr-registry-config_1.0.bb',
  ]);
  const index = await read(`${dir}/container-registry-index_1.0.bb`);
  t.match(index, /^do_push_images\[network\] = "1"$/m);
  t.match(index, /^do_push_images\[nostamp\] = "1"$/m);
  // yocto-check-layer (5.3+) refuses a network task reachable from do_build.
  t.match(index, /^addtask push_images after do_generate_registry_script$/m);
  t.notMatch(index, /^addtask .*before do_build/m);
  t.match(index, /^inherit nopackages nospdx container-registry$/m, 'no create-spdx natives for a recipe that builds nothing');
  t.match(index, /^EXCLUDE_FROM_WORLD = "1"$/m);
  t.match(index, /^do_generate_registry_script\[vardepsexclude\] \+= "CONTAINER_REGISTRY_PASSWORD"$/m);
  const inc = await read(`${dir}/container-registry-config.inc`);
  t.match(inc, /inherit allarch container-registry/);
  const ca = await read(`${dir}/container-registry-ca_1.0.bb`);
  t.match(ca, /pkg_postinst_ontarget:\$\{PN\}\(\) \{\n\s+update-ca-certificates\n\}/, 'update-ca-certificates on the target only');
  for (const f of files) t.notMatch(await read(`${dir}/${f}`), /INSANE_SKIP/, `${f}: no INSANE_SKIP`);
});

t.test('the layer has a README and SECURITY.md', async (t) => {
  t.match(await read('README.md'), /## Maintainer and patches/);
  t.match(await read('SECURITY.md'), /Reporting a vulnerability/);
});
