// The supply-chain pieces one by one: SPDX summaries of the real fixtures (oe-core's serializers),
// the referrers tag schema's name, DSSE's PAE and a signed envelope that verifies, the provenance
// statement's shape, buildstats reading, deploy-file names, and the tool's version.
import t from 'tap';
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { SPDX22_DIR, SPDX22_IMAGE_NAME, SPDX30_FILE, writeBuildstats } from './helpers/supply.js';
import { formatLicenses, parseLicenses, summarizeSpdx, summaryAnnotations, summaryFromAnnotations } from '../tools/src/supply/spdx-summary.js';
import { referrersTag } from '../tools/src/client/referrers.js';
import { dsseEnvelope, pae, provenanceStatement, statementOf } from '../tools/src/supply/provenance.js';
import { buildTimes, withoutCredentials, type BuildFacts } from '../tools/src/supply/facts.js';
import { imageStems, parseSbomMode } from '../tools/src/supply/sbom.js';
import { parseProvenanceMode } from '../tools/src/supply/attach-push.js';
import { artifactManifest, EMPTY_CONFIG } from '../tools/src/supply/artifact.js';
import { TOOL_VERSION } from '../tools/src/supply/tool.js';
import { digestOf } from '../tools/src/oci/digest.js';

t.test('SPDX 2.2 (create-spdx-2.2): the image document alone counts CONTAINS; with the archive, licences too', async (t) => {
  const image = JSON.parse(await readFile(join(SPDX22_DIR, `${SPDX22_IMAGE_NAME}.spdx.json`), 'utf8'));
  const alone = summarizeSpdx(image)!;
  t.same([alone.version, alone.name, alone.packages, alone.licenses], ['SPDX-2.2', SPDX22_IMAGE_NAME, 3, {}], 'the image package itself is not counted');
  const related = await Promise.all(
    (await readdir(SPDX22_DIR)).filter((f) => f.endsWith('.spdx.json')).map(async (f) => JSON.parse(await readFile(join(SPDX22_DIR, f), 'utf8'))),
  );
  t.same(summarizeSpdx(image, related)!.licenses, {
    'GPL-2.0-only': 1,
    'GPL-2.0-only AND bzip2-1.0.4': 1,
    'GPL-2.0-only AND LGPL-2.1-only': 1,
  });
  const pkg = JSON.parse(await readFile(join(SPDX22_DIR, 'busybox.spdx.json'), 'utf8'));
  t.same(summarizeSpdx(pkg)!.packages, 0, 'a package document describes its package: nothing else in it');
  t.equal(summarizeSpdx({ hello: 'world' }), undefined, 'not SPDX');
  t.equal(summarizeSpdx({ spdxVersion: 'SPDX-9.9x' }), undefined);
});

t.test('SPDX 3.0 (create-spdx-image-3.0): packages and their declared licences', async (t) => {
  const s = summarizeSpdx(JSON.parse(await readFile(SPDX30_FILE, 'utf8')))!;
  t.same([s.version, s.packages], ['SPDX-3.0', 3]);
  t.same(s.licenses, { 'GPL-2.0-only': 1, 'GPL-2.0-only AND bzip2-1.0.4': 1, 'GPL-2.0-only AND LGPL-2.1-only': 1 });
  t.match(s.name, /^core-image-minimal-qemuarm64/);
});

t.test('the summary survives its annotations', async (t) => {
  const s = { version: 'SPDX-2.2', name: undefined, packages: 7, licenses: { MIT: 4, 'GPL-2.0-only, odd=x': 2, 'Apache-2.0': 1 } };
  const back = summaryFromAnnotations(summaryAnnotations(s))!;
  t.same([back.version, back.packages], ['SPDX-2.2', 7]);
  t.same(back.licenses, { MIT: 4, 'GPL-2.0-only  odd x': 2, 'Apache-2.0': 1 }, 'separators inside an expression become spaces');
  t.equal(formatLicenses({ b: 1, a: 1, c: 3 }), 'c=3,a=1,b=1');
  t.same(parseLicenses('x=1,bad,y=0,z=-1,=4'), { x: 1 });
  t.equal(summaryFromAnnotations({}), undefined);
});

t.test('referrers tag schema: <alg>-<hex>, the reference cut at 64', async (t) => {
  const d = `sha256:${'ab'.repeat(32)}`;
  t.equal(referrersTag(d), `sha256-${'ab'.repeat(32)}`);
  t.equal(referrersTag(`sha512:${'c'.repeat(128)}`), `sha512-${'c'.repeat(64)}`);
  t.throws(() => referrersTag('nope'));
});

t.test('DSSE: PAE as the spec writes it; a signer signs it and the signature verifies', async (t) => {
  t.equal(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  const unsigned = JSON.parse((await dsseEnvelope({ _type: 'x' })).toString()) as { signatures: unknown[] };
  t.same(unsigned.signatures, []);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const envelope = await dsseEnvelope({ _type: 'https://in-toto.io/Statement/v1' }, async (bytes) => ({
    keyid: 'test',
    sig: createSign('sha256').update(bytes).sign(privateKey).toString('base64'),
  }));
  const doc = JSON.parse(envelope.toString()) as { payloadType: string; payload: string; signatures: Array<{ keyid: string; sig: string }> };
  const signed = pae(doc.payloadType, Buffer.from(doc.payload, 'base64'));
  t.ok(createVerify('sha256').update(signed).verify(publicKey, Buffer.from(doc.signatures[0]!.sig, 'base64')), 'the signature covers the PAE');
  t.same(statementOf(envelope), { _type: 'https://in-toto.io/Statement/v1' });
  t.equal(statementOf(Buffer.from('{"payloadType":"text/plain","payload":""}')), undefined);
});

t.test('provenance statement: subject, parameters, layers, builder, times; absent facts are left out', async (t) => {
  const facts: BuildFacts = {
    machine: 'qemuarm64',
    distro: 'poky',
    distroVersion: undefined,
    image: undefined,
    imageFeatures: undefined,
    imageName: undefined,
    layers: [{ name: 'core', path: '/l/meta', url: 'git@host:oe/core.git', revision: 'abc', branch: undefined, modified: true }],
    buildName: undefined,
    startedOn: undefined,
    finishedOn: undefined,
  };
  const s = provenanceStatement({ name: 'r/x', digest: `sha256:${'1'.repeat(64)}`, facts, toolVersion: '9.9.9', sources: [{ uri: 'https://x/y.tar.gz' }] }) as {
    subject: unknown;
    predicate: { buildDefinition: Record<string, unknown>; runDetails: { builder: { id: string }; metadata: Record<string, string> } };
  };
  t.same(s.subject, [{ name: 'r/x', digest: { sha256: '1'.repeat(64) } }]);
  t.same(s.predicate.buildDefinition.externalParameters, { MACHINE: 'qemuarm64', DISTRO: 'poky' });
  t.notOk('internalParameters' in s.predicate.buildDefinition);
  t.same(s.predicate.buildDefinition.resolvedDependencies, [
    { name: 'core', uri: 'git@host:oe/core.git', digest: { gitCommit: 'abc' }, annotations: { layer: 'core', path: '/l/meta', modified: true } },
    { uri: 'https://x/y.tar.gz' },
  ]);
  t.equal(s.predicate.runDetails.builder.id, 'pkg:generic/meta-container-registry@9.9.9');
  t.same(s.predicate.runDetails.metadata, {});
  t.equal(withoutCredentials('https://u:p@h/r.git'), 'https://h/r.git');
  t.equal(withoutCredentials('git@h:r.git'), 'git@h:r.git');
});

t.test('buildstats: the newest build with the image recipe; its start and the recipe tasks end', async (t) => {
  const base = await tempDir(t, 'cr-bs-');
  await writeBuildstats(base, '20260101100000', 'img-1.0-r0', 1000, 2000);
  await writeBuildstats(base, '20260101110000', 'img-1.0-r0', 3000, 4000);
  await writeBuildstats(base, '20260101120000', 'other-1.0-r0', 5000, 6000);
  const times = (await buildTimes(base, 'img'))!;
  t.same([times.buildName, times.startedOn?.getTime(), times.finishedOn?.getTime()], ['20260101110000', 3_000_000, 4_000_000]);
  t.equal((await buildTimes(base, undefined))!.buildName, '20260101120000', 'without a recipe: the newest build');
  t.equal(await buildTimes(base, 'missing'), undefined);
  t.equal(await buildTimes(join(base, 'nope'), 'img'), undefined);
});

t.test('deploy names: IMAGE_NAME from the layout, IMAGE_LINK_NAME without the stamp', async (t) => {
  t.same(imageStems('app-qemux86-64-latest-oci', 'app-qemux86-64.rootfs-20260101120000-oci', 'app', 'qemux86-64'), [
    'app-qemux86-64.rootfs-20260101120000',
    'app-qemux86-64.rootfs',
    'app-qemux86-64-latest',
    'app-qemux86-64',
  ]);
  t.same(parseSbomMode(undefined), { kind: 'auto' });
  t.same(parseSbomMode('off'), { kind: 'none' });
  t.same(parseSbomMode('/x.json'), { kind: 'file', path: '/x.json' });
  t.same(parseProvenanceMode('none'), { kind: 'none' });
  t.same(parseProvenanceMode('1'), { kind: 'auto' });
});

t.test('artifact manifest: empty config, subject without platform, created and tool annotations', async (t) => {
  t.equal(digestOf(Buffer.from('{}')), EMPTY_CONFIG.digest, 'the empty descriptor is the digest of {}');
  const body = artifactManifest(
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'2'.repeat(64)}`, size: 5, platform: { os: 'linux', architecture: 'arm64' } },
    { artifactType: 'application/x', layers: [], created: new Date('2026-01-01T00:00:00.123Z'), tool: 't 1' },
    [],
  );
  const doc = JSON.parse(body.toString()) as { subject: unknown; annotations: unknown; config: unknown };
  t.same(doc.subject, { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'2'.repeat(64)}`, size: 5 });
  t.same(doc.annotations, { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z', 'dev.meta-container-registry.tool': 't 1' });
  t.same(doc.config, EMPTY_CONFIG);
});

t.test("TOOL_VERSION is package.json's version (and cli.ts's)", async (t) => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.equal(TOOL_VERSION, pkg.version);
  t.match(await readFile(join(ROOT, 'tools', 'src', 'cli.ts'), 'utf8'), `export const VERSION = '${TOOL_VERSION}';`);
});
