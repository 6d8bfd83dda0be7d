// SBOM and provenance as OCI 1.1 referrers, end to end with the built CLI: push attaches them to
// each platform's manifest (a create-spdx-2.2 archive and a create-spdx-3.0 document, made by
// oe-core's own serializers: test/fixtures), our registry lists them through its referrers API,
// distribution 2.8 (no referrers API) gets the fallback tag schema's index, `inspect` shows them,
// `referrers` fetches the exact bytes, and a bad --sbom stops the push before anything is sent.
import t from 'tap';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, runCli, startTestRegistry } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';
import { missingPeer } from './helpers/peers.js';
import { sha256 } from './helpers/images.js';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP } from './helpers/browser.js';
import { SPDX30_FILE, makeLayer, spdx22ImageDocument, writeBuildstats, writeSpdx22Archive, writeTestdata } from './helpers/supply.js';

const SPDX = 'application/spdx+json';
const IN_TOTO = 'application/vnd.in-toto+json';
const missing = missingPeer('zstd', 'python3', 'git');

interface Attached {
  repository: string;
  subject: string;
  platform: string;
  kind: string;
  artifactType: string;
  digest: string;
  fallbackTag?: string;
}

interface Fixture {
  deploy: string;
  env: Record<string, string>;
  revisions: string[];
  imageName: string;
}

/** buildFixture writes a qemux86-64 deploy folder with an SPDX 2.2 archive, testdata, buildstats and two git layers. */
async function buildFixture(t: Parameters<typeof tempDir>[0], host: string): Promise<Fixture> {
  const root = await tempDir(t, 'cr-supply-');
  const images = join(root, 'tmp', 'deploy', 'images');
  const deploy = join(images, 'qemux86-64');
  await writeBuild(images, { machine: 'qemux86-64', image: 'core-image-minimal', stamp: '20260101120000', latestLink: true });
  const imageName = 'core-image-minimal-qemux86-64.rootfs-20260101120000';
  await writeSpdx22Archive(deploy, imageName, 'core-image-minimal-qemux86-64.rootfs');
  await writeTestdata(deploy, imageName, {
    MACHINE: 'qemux86-64',
    DISTRO: 'poky',
    DISTRO_VERSION: '5.0.19',
    PN: 'core-image-minimal',
    IMAGE_NAME: imageName,
    IMAGE_FEATURES: 'debug-tweaks ssh-server-dropbear',
  });
  const buildstats = join(root, 'tmp', 'buildstats');
  await writeBuildstats(buildstats, '20260101115000', 'core-image-minimal-1.0-r0', 1767268200, 1767268790);
  // A later `bitbake -c push_images` has a build folder of its own, without the image recipe.
  await writeBuildstats(buildstats, '20260101130000', 'container-registry-index-1.0-r0', 1767272400, 1767272410);
  const revisions = [
    await makeLayer(join(root, 'layers', 'meta'), 'core', 'https://user:s3cret@git.openembedded.org/openembedded-core'),
    await makeLayer(join(root, 'layers', 'meta-container-registry'), 'container-registry', 'https://example.invalid/meta-container-registry.git'),
  ];
  const env = {
    CONTAINER_REGISTRY_URL: host,
    DEPLOY_DIR_IMAGE: deploy,
    BBLAYERS: `${join(root, 'layers', 'meta')} ${join(root, 'layers', 'meta-container-registry')}`,
    BUILDSTATS_BASE: buildstats,
  };
  return { deploy, env, revisions, imageName };
}

async function referrersApi(
  base: string,
  repo: string,
  digest: string,
): Promise<{ status: number; manifests: Array<{ artifactType?: string; digest: string }> }> {
  const res = await fetch(`${base}/v2/${repo}/referrers/${digest}`);
  if (res.status !== 200) return { status: res.status, manifests: [] };
  return { status: 200, manifests: ((await res.json()) as { manifests: Array<{ artifactType?: string; digest: string }> }).manifests };
}

t.test('single-arch push attaches the SPDX 2.2 SBOM and SLSA provenance; the referrers API lists them', { skip: missing }, async (t) => {
  const reg = await startTestRegistry(t);
  const f = await buildFixture(t, reg.host);
  const push = await runCli(['push', 'core-image-minimal', '-t', 'v1', '--json'], { env: f.env });
  t.equal(push.code, 0, push.stderr);
  const out = JSON.parse(push.stdout) as { results: Array<{ digest: string }>; attached: Attached[] };
  const subject = out.results[0]!.digest;
  t.same(
    out.attached.map((a) => [a.kind, a.artifactType, a.subject]),
    [
      ['sbom', SPDX, subject],
      ['provenance', IN_TOTO, subject],
    ],
  );
  t.notOk(
    out.attached.some((a) => a.fallbackTag),
    'our registry lists referrers itself: no fallback tag',
  );

  const listed = await referrersApi(reg.url, 'yocto/core-image-minimal', subject);
  t.equal(listed.status, 200);
  t.same(listed.manifests.map((m) => m.artifactType).sort(), [SPDX, IN_TOTO].sort(), 'the referrers API lists both with their artifactType');
  const tagCheck = await fetch(`${reg.url}/v2/yocto/core-image-minimal/manifests/sha256-${subject.slice(7)}`, { method: 'HEAD' });
  t.equal(tagCheck.status, 404, 'no fallback index on a registry with the API');

  // The artifact manifest: empty config, the document as a layer, subject, created and tool annotations.
  const sbom = out.attached.find((a) => a.kind === 'sbom')!;
  const manifest = (await (
    await fetch(`${reg.url}/v2/yocto/core-image-minimal/manifests/${sbom.digest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
  ).json()) as {
    artifactType: string;
    config: { mediaType: string; size: number };
    layers: Array<{ mediaType: string; digest: string }>;
    subject: { digest: string };
    annotations: Record<string, string>;
  };
  t.equal(manifest.artifactType, SPDX);
  t.same([manifest.config.mediaType, manifest.config.size], ['application/vnd.oci.empty.v1+json', 2]);
  t.same(
    manifest.layers.map((l) => l.mediaType),
    [SPDX, 'application/vnd.yoctoproject.spdx.tar+zstd'],
  );
  t.equal(manifest.subject.digest, subject);
  t.match(manifest.annotations['org.opencontainers.image.created'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.match(manifest.annotations['dev.meta-container-registry.tool'], /^meta-container-registry \d+\.\d+\.\d+/);
  t.equal(manifest.annotations['dev.meta-container-registry.sbom.packages'], '3', 'three packages (the image package is not one of them)');
  t.equal(
    manifest.annotations['dev.meta-container-registry.sbom.licenses'],
    'GPL-2.0-only=1,GPL-2.0-only AND bzip2-1.0.4=1,GPL-2.0-only AND LGPL-2.1-only=1',
    'licences from the package documents of the archive',
  );

  // referrers --type sbom prints the image document byte for byte; --layer 2 --output writes the archive.
  const doc = await runCli(['referrers', 'core-image-minimal:v1', '--type', 'sbom'], { env: f.env });
  t.equal(doc.code, 0, doc.stderr);
  t.equal(sha256(Buffer.from(doc.stdout)), sha256(await spdx22ImageDocument()), 'the exact bytes of the image document');
  const dir = await tempDir(t, 'cr-supply-out-');
  const archiveOut = join(dir, 'sbom.tar.zst');
  const archive = await runCli(['referrers', 'core-image-minimal:v1', '--type', SPDX, '--layer', '2', '--output', archiveOut], { env: f.env });
  t.equal(archive.code, 0, archive.stderr);
  t.equal(sha256(await readFile(archiveOut)), sha256(await readFile(join(f.deploy, `${f.imageName}.spdx.tar.zst`))), 'the exact archive');

  // The provenance: DSSE (unsigned), in-toto v1, SLSA v1 with the build's facts.
  const prov = await runCli(['referrers', 'core-image-minimal:v1', '--type', 'provenance'], { env: f.env });
  t.equal(prov.code, 0, prov.stderr);
  const envelope = JSON.parse(prov.stdout) as { payloadType: string; payload: string; signatures: unknown[] };
  t.equal(envelope.payloadType, IN_TOTO);
  t.same(envelope.signatures, [], 'unsigned unless a signer is given');
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    _type: string;
    subject: Array<{ name: string; digest: { sha256: string } }>;
    predicateType: string;
    predicate: {
      buildDefinition: {
        buildType: string;
        externalParameters: Record<string, unknown>;
        resolvedDependencies: Array<{ uri?: string; name?: string; digest?: { gitCommit: string } }>;
      };
      runDetails: { builder: { id: string }; metadata: { startedOn?: string; finishedOn?: string; invocationId?: string } };
    };
  };
  t.equal(statement._type, 'https://in-toto.io/Statement/v1');
  t.same(statement.subject, [{ name: `${reg.host}/yocto/core-image-minimal`, digest: { sha256: subject.slice(7) } }]);
  t.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
  t.same(statement.predicate.buildDefinition.externalParameters, {
    MACHINE: 'qemux86-64',
    DISTRO: 'poky',
    image: 'core-image-minimal',
    IMAGE_FEATURES: ['debug-tweaks', 'ssh-server-dropbear'],
  });
  t.same(
    statement.predicate.buildDefinition.resolvedDependencies.map((d) => [d.name, d.uri, d.digest?.gitCommit]),
    [
      ['core', 'git+https://git.openembedded.org/openembedded-core@refs/heads/scarthgap', f.revisions[0]],
      ['container-registry', 'git+https://example.invalid/meta-container-registry.git@refs/heads/scarthgap', f.revisions[1]],
      ['busybox-source-1', 'https://busybox.net/downloads/busybox-1.36.1.tar.bz2', undefined],
      ['libc6-source-1', 'git://sourceware.org/git/glibc.git@4f0b5ac9f5e66e33d4e8dc20b9c5e1b5e3d1f1a2', undefined],
    ],
    "every layer of BBLAYERS with its remote (no credentials) and revision, then the recipe sources of the SBOM's recipe documents",
  );
  t.notMatch(prov.stdout + Buffer.from(envelope.payload, 'base64').toString(), /s3cret/, 'a remote URL password never leaves the machine');
  t.match(statement.predicate.buildDefinition.buildType, /^urn:meta-container-registry:buildtype:yocto-image:v1$/);
  t.match(statement.predicate.runDetails.builder.id, /^pkg:generic\/meta-container-registry@\d/);
  t.same(statement.predicate.runDetails.metadata, {
    invocationId: '20260101115000',
    startedOn: new Date(1767268200 * 1000).toISOString(),
    finishedOn: new Date(1767268790 * 1000).toISOString(),
  });

  // inspect lists them (type, size, digest).
  const inspect = await runCli(['inspect', 'core-image-minimal:v1'], { env: f.env });
  t.equal(inspect.code, 0, inspect.stderr);
  t.match(inspect.stdout, /referrers:\n/);
  for (const a of out.attached) t.match(inspect.stdout, new RegExp(`${a.artifactType.replace(/[+.]/g, '\\$&')}  \\d+(\\.\\d+)? [KMG]?i?B  ${a.digest}`));
  const inspectJson = JSON.parse((await runCli(['inspect', 'core-image-minimal:v1', '--json'], { env: f.env })).stdout) as {
    referrers: Array<{ digest: string; via: string }>;
  };
  t.same(
    inspectJson.referrers.map((r) => r.via),
    ['api', 'api'],
  );

  // A re-push makes the same artifacts (created is the image's build time): nothing new refers to it.
  const again = await runCli(['push', 'core-image-minimal', '-t', 'v1', '--json'], { env: f.env });
  t.equal(again.code, 0, again.stderr);
  t.same(
    (JSON.parse(again.stdout) as { attached: Attached[] }).attached.map((a) => a.digest),
    out.attached.map((a) => a.digest),
    'the same artifact digests',
  );
  const list = await runCli(['referrers', 'core-image-minimal:v1', '--json'], { env: f.env });
  t.equal((JSON.parse(list.stdout) as { referrers: unknown[] }).referrers.length, 2);
  t.equal(manifest.annotations['org.opencontainers.image.created'], '2026-01-01T00:00:00Z', "the SBOM's created is the image's build time");

  // The web UI's image API: the SBOM's package count and licences, the provenance's layers and revisions.
  const ui = (await (await fetch(`${reg.url}/ui/api/image?${new URLSearchParams({ repository: 'yocto/core-image-minimal', reference: 'v1' })}`)).json()) as {
    supplyChain: {
      sboms: Array<{ version: string; packages: number; licenses: Array<[string, number]> }>;
      provenance: Array<{ builder: string; parameters: Record<string, string>; layers: Array<{ name: string; revision: string }>; signatures: number }>;
      signed: boolean;
    };
  };
  t.same(
    ui.supplyChain.sboms.map((s) => [s.version, s.packages, s.licenses.length]),
    [['SPDX-2.2', 3, 3]],
  );
  t.same(
    ui.supplyChain.provenance[0]!.layers.map((l) => [l.name, l.revision]),
    [
      ['core', f.revisions[0]],
      ['container-registry', f.revisions[1]],
    ],
  );
  t.equal(ui.supplyChain.provenance[0]!.parameters.IMAGE_FEATURES, 'debug-tweaks ssh-server-dropbear');
  t.equal(ui.supplyChain.provenance[0]!.signatures, 0);
  t.equal(ui.supplyChain.signed, false, 'not signed (no --sign)');
});

t.test('push --sign signs the provenance envelope with the signing key too; the image page says signed', { skip: missing }, async (t) => {
  const reg = await startTestRegistry(t);
  const f = await buildFixture(t, reg.host);
  const key = await runCli(['pki', 'signing-key', '--storage', reg.storage]);
  t.equal(key.code, 0, key.stderr);
  const push = await runCli(['push', 'core-image-minimal', '-t', 'v1', '--sign', '--storage', reg.storage, '--json'], { env: f.env });
  t.equal(push.code, 0, push.stderr);
  const out = JSON.parse(push.stdout) as { attached: Attached[] };
  const provenance = out.attached.find((a) => a.kind === 'provenance')!;
  const manifest = (await (
    await fetch(`${reg.url}/v2/${provenance.repository}/manifests/${provenance.digest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
  ).json()) as { layers: Array<{ digest: string }> };
  const envelope = JSON.parse(
    Buffer.from(await (await fetch(`${reg.url}/v2/${provenance.repository}/blobs/${manifest.layers[0]!.digest}`)).arrayBuffer()).toString('utf8'),
  ) as { payloadType: string; payload: string; signatures: Array<{ keyid: string; sig: string }> };
  t.equal(envelope.signatures.length, 1, 'one signature');
  const publicKey = createPublicKey(await readFile(join(reg.storage, 'pki', 'signing.pub'), 'utf8'));
  const payload = Buffer.from(envelope.payload, 'base64');
  const paeOf = (p: Buffer) => Buffer.concat([Buffer.from(`DSSEv1 ${envelope.payloadType.length} ${envelope.payloadType} ${p.length} `), p]);
  const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
  t.ok(verify('sha256', paeOf(payload), publicKey, sig), "it verifies over DSSE's PAE with the public key");
  t.notOk(verify('sha256', paeOf(Buffer.concat([payload, Buffer.from(' ')])), publicKey, sig), 'and not over another payload');
  t.equal(
    envelope.signatures[0]!.keyid,
    createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex'),
    "keyid: the public key's SHA-256",
  );
  const ui = (await (await fetch(`${reg.url}/ui/api/image?${new URLSearchParams({ repository: 'yocto/core-image-minimal', reference: 'v1' })}`)).json()) as {
    supplyChain: { signed: boolean; provenance: Array<{ signatures: number }> };
  };
  t.equal(ui.supplyChain.signed, true, 'the image page: signed');
  t.equal(ui.supplyChain.provenance[0]!.signatures, 1, 'and the provenance has its signature');
});

t.test(
  'push --build-trace: the trace of the build that made the image as a referrer; a folder named; a bad one stops the push',
  { skip: missing },
  async (t) => {
    const TRACE = 'application/vnd.container-registry.trace.v1+json';
    const reg = await startTestRegistry(t);
    const f = await buildFixture(t, reg.host);
    const traceOf = async (a: Attached) => {
      const manifest = (await (
        await fetch(`${reg.url}/v2/${a.repository}/manifests/${a.digest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
      ).json()) as { artifactType: string; layers: Array<{ digest: string; mediaType: string }> };
      t.equal(manifest.artifactType, TRACE);
      const blob = await fetch(`${reg.url}/v2/${a.repository}/blobs/${manifest.layers[0]!.digest}`);
      return JSON.parse(await blob.text()) as { traceEvents: Array<{ ph: string; cat?: string; name: string }>; otherData: { build: string } };
    };

    const push = await runCli(['push', 'core-image-minimal', '-t', 'v1', '--build-trace', 'auto', '--json'], { env: f.env });
    t.equal(push.code, 0, push.stderr);
    const out = JSON.parse(push.stdout) as { results: Array<{ digest: string }>; attached: Attached[] };
    t.same(
      out.attached.map((a) => a.kind),
      ['sbom', 'provenance', 'build-trace'],
    );
    const trace = out.attached.find((a) => a.kind === 'build-trace')!;
    t.equal(trace.subject, out.results[0]!.digest, 'on the image manifest');
    const listed = await referrersApi(reg.url, trace.repository, trace.subject);
    t.ok(
      listed.manifests.some((m) => m.artifactType === TRACE && m.digest === trace.digest),
      'the referrers API lists it',
    );
    const doc = await traceOf(trace);
    t.equal(doc.otherData.build, '20260101115000', "the build that ran the image recipe, not the later push's own");
    t.same(
      doc.traceEvents
        .filter((e) => e.ph === 'X' && e.cat === 'task')
        .map((e) => e.name)
        .sort(),
      ['do_image_complete', 'do_rootfs'],
    );

    const real = join(ROOT, 'test', 'fixtures', 'buildstats-scarthgap');
    const named = await runCli(['push', 'core-image-minimal', '-t', 'v2', '--build-trace', real, '--sbom', 'none', '--provenance', 'none', '--json'], {
      env: f.env,
    });
    t.equal(named.code, 0, named.stderr);
    const attached = (JSON.parse(named.stdout) as { attached: Attached[] }).attached;
    t.same(
      attached.map((a) => a.kind),
      ['build-trace'],
    );
    const own = await runCli(['trace', real]);
    t.equal(own.code, 0, own.stderr);
    const expected = JSON.parse(own.stdout) as { traceEvents: unknown[] };
    t.equal((await traceOf(attached[0]!)).traceEvents.length, expected.traceEvents.length, 'the same events as `trace` of that folder');

    const before = await (await fetch(`${reg.url}/v2/yocto/core-image-minimal/tags/list`)).json();
    const bad = await runCli(['push', 'core-image-minimal', '-t', 'v3', '--build-trace', join(f.deploy, 'no-such-buildstats')], { env: f.env });
    t.not(bad.code, 0, 'a folder that is not buildstats fails the push');
    t.match(bad.stderr, /no-such-buildstats/);
    t.same(await (await fetch(`${reg.url}/v2/yocto/core-image-minimal/tags/list`)).json(), before, 'before anything was sent (no v3)');
  },
);

t.test('multi-arch push attaches an SBOM per platform (SPDX 3.0) to each platform manifest', { skip: missing }, async (t) => {
  const reg = await startTestRegistry(t);
  const root = await tempDir(t, 'cr-supply-ma-');
  const images = join(root, 'deploy', 'images');
  await writeBuild(images, { machine: 'qemux86-64', image: 'multi', stamp: '20260101120000', architecture: 'amd64' });
  await writeBuild(images, { machine: 'qemuarm64', image: 'multi', stamp: '20260101120000', architecture: 'arm64' });
  // create-spdx-3.0: ${IMAGE_NAME}.spdx.json and the ${IMAGE_LINK_NAME}.spdx.json link, in each machine folder.
  const { copyFile, symlink } = await import('node:fs/promises');
  for (const machine of ['qemux86-64', 'qemuarm64']) {
    await copyFile(SPDX30_FILE, join(images, machine, `multi-${machine}.rootfs-20260101120000.spdx.json`));
    await symlink(`multi-${machine}.rootfs-20260101120000.spdx.json`, join(images, machine, `multi-${machine}.rootfs.spdx.json`));
  }
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: join(images, 'qemux86-64') };
  const push = await runCli(['push', 'multi', '-t', 'v1', '--json'], { env });
  t.equal(push.code, 0, push.stderr);
  const out = JSON.parse(push.stdout) as { results: Array<{ digest: string }>; attached: Attached[] };
  t.same(
    out.attached.map((a) => [a.platform, a.kind]).sort(),
    [
      ['linux/amd64', 'sbom'],
      ['linux/arm64', 'sbom'],
    ],
    'one SBOM per platform; no provenance outside a build (no testdata, no BBLAYERS)',
  );
  const index = (await (await fetch(`${reg.url}/v2/yocto/multi/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.index.v1+json' } })).json()) as {
    manifests: Array<{ digest: string; platform: { architecture: string } }>;
  };
  for (const m of index.manifests) {
    const listed = await referrersApi(reg.url, 'yocto/multi', m.digest);
    t.same(
      listed.manifests.map((x) => x.artifactType),
      [SPDX],
      `${m.platform.architecture}'s manifest has its SBOM`,
    );
  }
  const ambiguous = await runCli(['referrers', 'multi:v1', '--type', 'sbom'], { env });
  t.equal(ambiguous.code, 2, 'several platforms: --platform is needed');
  t.match(ambiguous.stderr, /--platform/);
  const arm = await runCli(['referrers', 'multi:v1', '--type', 'sbom', '--platform', 'linux/arm64'], { env });
  t.equal(arm.code, 0, arm.stderr);
  t.equal(sha256(Buffer.from(arm.stdout)), sha256(await readFile(SPDX30_FILE)), 'the SPDX 3.0 document byte for byte');
  // The index's page shows each platform's SBOM (SPDX 3.0: packages and licences from the document's own summary).
  const ui = (await (await fetch(`${reg.url}/ui/api/image?${new URLSearchParams({ repository: 'yocto/multi', reference: 'v1' })}`)).json()) as {
    supplyChain: { sboms: Array<{ platform: string; version: string; packages: number; licenses: Array<[string, number]> }> };
  };
  t.same(ui.supplyChain.sboms.map((s) => [s.platform, s.version, s.packages]).sort(), [
    ['linux/amd64', 'SPDX-3.0', 3],
    ['linux/arm64', 'SPDX-3.0', 3],
  ]);
  t.same(ui.supplyChain.sboms[0]!.licenses, [
    ['GPL-2.0-only', 1],
    ['GPL-2.0-only AND bzip2-1.0.4', 1],
    ['GPL-2.0-only AND LGPL-2.1-only', 1],
  ]);
  const inspect = await runCli(['inspect', 'multi:v1'], { env });
  t.match(inspect.stdout, /application\/spdx\+json .* \(linux\/amd64\)/);
  t.match(inspect.stdout, /application\/spdx\+json .* \(linux\/arm64\)/);
});

t.test(
  'distribution 2.8 (no referrers API): the fallback tag schema index holds them, and the CLI reads it',
  { skip: missing || missingPeer('docker-registry') },
  async (t) => {
    const dist = await startDistribution(t);
    const f = await buildFixture(t, dist.host);
    const push = await runCli(['push', 'core-image-minimal', '-t', 'v1', '--json'], { env: f.env });
    t.equal(push.code, 0, push.stderr);
    const out = JSON.parse(push.stdout) as { results: Array<{ digest: string }>; attached: Attached[] };
    const subject = out.results[0]!.digest;
    const tag = `sha256-${subject.slice(7)}`;
    t.same(
      out.attached.map((a) => a.fallbackTag),
      [tag, tag],
    );
    t.equal((await fetch(`${dist.url}/v2/yocto/core-image-minimal/referrers/${subject}`)).status, 404, 'distribution 2.8 has no referrers API');
    const res = await fetch(`${dist.url}/v2/yocto/core-image-minimal/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.index.v1+json' } });
    t.equal(res.status, 200);
    const index = (await res.json()) as { mediaType: string; manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string> }> };
    t.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    t.same(
      index.manifests.map((m) => [m.artifactType, m.digest]),
      out.attached.map((a) => [a.artifactType, a.digest]),
      'the index lists both, with artifactType (read-modify-write kept the first)',
    );
    t.ok(index.manifests[0]!.annotations['org.opencontainers.image.created'], 'annotations copied into the descriptors');
    const again = await runCli(['push', 'core-image-minimal', '-t', 'v1', '--json'], { env: f.env });
    t.equal(again.code, 0, again.stderr);
    const after = (await (
      await fetch(`${dist.url}/v2/yocto/core-image-minimal/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.index.v1+json' } })
    ).json()) as { manifests: unknown[] };
    t.equal(after.manifests.length, 2, 'a re-push adds nothing to the fallback index');
    const inspect = await runCli(['inspect', 'core-image-minimal:v1'], { env: f.env });
    t.match(inspect.stdout, /\[fallback tag\]/);
    const doc = await runCli(['referrers', 'core-image-minimal:v1', '--type', 'sbom'], { env: f.env });
    t.equal(doc.code, 0, doc.stderr);
    t.equal(sha256(Buffer.from(doc.stdout)), sha256(await spdx22ImageDocument()));
  },
);

t.test('--sbom: auto without a document says so and pushes; a missing or non-JSON file stops before anything is sent', async (t) => {
  const reg = await startTestRegistry(t);
  const root = await tempDir(t, 'cr-supply-bad-');
  const images = join(root, 'images');
  await writeBuild(images, { machine: 'qemux86-64', image: 'plain', stamp: '20260101120000' });
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: join(images, 'qemux86-64') };
  const missingFile = await runCli(['push', 'plain', '-t', 'v1', '--sbom', join(root, 'nope.spdx.json')], { env });
  t.equal(missingFile.code, 2);
  t.match(missingFile.stderr, /SBOM .*nope\.spdx\.json cannot be read \(ENOENT\)/);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(root, 'bad.json'), 'not json {');
  const notJson = await runCli(['push', 'plain', '-t', 'v1', '--sbom', join(root, 'bad.json')], { env });
  t.equal(notJson.code, 2);
  t.match(notJson.stderr, /bad\.json is not JSON/);
  await writeFile(join(root, 'other.json'), '{"hello": "world"}');
  const notSpdx = await runCli(['push', 'plain', '-t', 'v1', '--sbom', join(root, 'other.json')], { env });
  t.equal(notSpdx.code, 2);
  t.match(notSpdx.stderr, /not SPDX/);
  const catalog = (await (await fetch(`${reg.url}/v2/_catalog`)).json()) as { repositories: string[] };
  t.same(catalog.repositories, [], 'nothing was sent');
  const auto = await runCli(['push', 'plain', '-t', 'v1'], { env });
  t.equal(auto.code, 0, auto.stderr);
  t.match(auto.stdout, /no SPDX document beside qemux86-64\/plain-qemux86-64\.rootfs-20260101120000-oci; no SBOM attached/);
  // One the build left that cannot be read costs its SBOM, not the push.
  await writeFile(join(images, 'qemux86-64', 'plain-qemux86-64.rootfs-20260101120000.spdx.json'), '{"truncated');
  const broken = await runCli(['push', 'plain', '-t', 'v1'], { env });
  t.equal(broken.code, 0, broken.stderr);
  t.match(broken.stderr, /warning: yocto\/plain \(linux\/amd64\): SBOM .*plain-qemux86-64\.rootfs-20260101120000\.spdx\.json is not JSON.*; no SBOM attached/);
  const { rm } = await import('node:fs/promises');
  await rm(join(images, 'qemux86-64', 'plain-qemux86-64.rootfs-20260101120000.spdx.json'));
  const none = await runCli(['push', 'plain', '-t', 'v1', '--sbom', 'none'], { env });
  t.notMatch(none.stdout, /SPDX/, '--sbom none: not a word');
  // An explicit file is attached to the image's manifest.
  const explicit = await runCli(['push', 'plain', '-t', 'v2', '--sbom', SPDX30_FILE, '--json'], { env });
  t.equal(explicit.code, 0, explicit.stderr);
  t.same(
    (JSON.parse(explicit.stdout) as { attached: Attached[] }).attached.map((a) => a.artifactType),
    [SPDX],
  );
  const text = await runCli(['push', 'plain', '-t', 'v3', '--sbom', SPDX30_FILE], { env });
  t.match(text.stdout, /yocto\/plain \(linux\/amd64\): sbom \(SPDX-3\.0, 3 packages\) sha256:[0-9a-f]{12} attached/, 'one line per artifact attached');
});

t.test('gc --delete-untagged (the script gc) frees a deleted image and its SBOM while another image keeps a fresh one', async (t) => {
  const reg = await startTestRegistry(t);
  const root = await tempDir(t, 'cr-supply-gc-');
  const images = join(root, 'images');
  const { randomBytes } = await import('node:crypto');
  await writeBuild(images, { machine: 'qemux86-64', image: 'keep', stamp: '20260101120000' });
  await writeBuild(images, { machine: 'qemux86-64', image: 'drop', stamp: '20260101120000', layers: [[{ name: 'big.bin', content: randomBytes(1 << 20) }]] });
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: join(images, 'qemux86-64') };
  const push = await runCli(['push', '-s', 'latest', '--sbom', SPDX30_FILE, '--json'], { env });
  t.equal(push.code, 0, push.stderr);
  t.equal((JSON.parse(push.stdout) as { attached: Attached[] }).attached.length, 2, 'an SBOM on each image');
  t.equal((await runCli(['delete', 'drop:latest'], { env })).code, 0);
  // The default grace period (as container-registry.sh gc runs it): keep's SBOM, pushed seconds ago, is no push in flight.
  const gc = await runCli(['gc', '--storage', reg.storage, '--delete-untagged', '--settle', '0', '--json'], { env });
  t.equal(gc.code, 0, gc.stderr);
  const report = JSON.parse(gc.stdout) as { bytesFreed: number; releasedKept: number };
  t.ok(report.bytesFreed >= 1 << 20, `the deleted image's blobs are freed (${report.bytesFreed} bytes)`);
  const catalog = (await (await fetch(`${reg.url}/v2/_catalog`)).json()) as { repositories: string[] };
  t.same(catalog.repositories, ['yocto/keep'], 'the emptied repository is gone');
  const kept = await runCli(['referrers', 'keep:latest', '--json'], { env });
  t.equal((JSON.parse(kept.stdout) as { referrers: unknown[] }).referrers.length, 1, "keep's SBOM stays");
});

t.test('the web UI shows the SBOM summary and the provenance layers on the image page', { skip: missing || CHROMIUM_SKIP }, async (t) => {
  const reg = await startTestRegistry(t);
  const f = await buildFixture(t, reg.host);
  const push = await runCli(['push', 'core-image-minimal', '-t', 'v1'], { env: f.env });
  t.equal(push.code, 0, push.stderr);
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(await tempDir(t, 'cr-chromium-'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.teardown(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${reg.url}/ui/#${new URLSearchParams({ repo: 'yocto/core-image-minimal', ref: 'v1' })}`);
  await page.getByRole('heading', { name: 'Supply chain', exact: true }).waitFor();
  t.same(await page.locator('main h3').allTextContents(), ['SBOM', 'Provenance']);
  const text = await page.locator('main').innerText();
  t.match(text, /Packages\s+3/, 'the package count');
  t.same(await page.locator('table.sbom-licenses tbody td:first-child').allTextContents(), [
    'GPL-2.0-only',
    'GPL-2.0-only AND bzip2-1.0.4',
    'GPL-2.0-only AND LGPL-2.1-only',
  ]);
  t.same(await page.locator('table.provenance-layers tbody td:first-child').allTextContents(), ['core', 'container-registry'], 'the layers');
  t.same(
    await page.locator('table.provenance-layers tbody td.mono').allTextContents(),
    f.revisions.map((r) => r.slice(0, 12)),
    'and their revisions',
  );
  t.match(text, /IMAGE_FEATURES\s+debug-tweaks ssh-server-dropbear/);
  t.equal(await page.locator('#signed').innerText(), 'Not signed');
});

/** startArtifactRefusingProxy forwards to `target` but refuses every manifest PUT that carries an artifactType, as a registry without OCI 1.1 artifacts does. */
async function startArtifactRefusingProxy(t: Parameters<typeof tempDir>[0], target: URL): Promise<string> {
  const { createServer, request } = await import('node:http');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'PUT' && /\/manifests\//.test(req.url ?? '') && body.includes('"artifactType"')) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'artifacts are not supported' }] }));
        return;
      }
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address() as { port: number };
  return `127.0.0.1:${address.port}`;
}

t.test('a registry that refuses artifacts: auto warns and the push succeeds; an SBOM asked for by name fails it', async (t) => {
  const reg = await startTestRegistry(t);
  const proxy = await startArtifactRefusingProxy(t, new URL(reg.url));
  const root = await tempDir(t, 'cr-supply-refuse-');
  const images = join(root, 'images');
  await writeBuild(images, { machine: 'qemux86-64', image: 'refused', stamp: '20260101120000' });
  const { copyFile } = await import('node:fs/promises');
  await copyFile(SPDX30_FILE, join(images, 'qemux86-64', 'refused-qemux86-64.rootfs-20260101120000.spdx.json'));
  const env = { CONTAINER_REGISTRY_URL: proxy, DEPLOY_DIR_IMAGE: join(images, 'qemux86-64') };
  const auto = await runCli(['push', 'refused', '-t', 'v1', '--json'], { env });
  t.equal(auto.code, 0, auto.stderr);
  t.match(auto.stderr, /warning: yocto\/refused \(linux\/amd64\): sbom not attached: .*artifacts are not supported/);
  t.same((JSON.parse(auto.stdout) as { attached: unknown[] }).attached, []);
  t.equal((await fetch(`${reg.url}/v2/yocto/refused/manifests/v1`, { method: 'HEAD' })).status, 200, 'the image is pushed');
  const named = await runCli(['push', 'refused', '-t', 'v2', '--sbom', SPDX30_FILE], { env });
  t.equal(named.code, 1, 'an SBOM asked for by name that cannot be attached fails the push');
  t.match(named.stderr, /artifacts are not supported/);
});

t.test('the API for other artifacts: planSupply `more` and attachArtifact put a build trace beside the SBOM, on ours and on distribution', async (t) => {
  const { RegistrySession } = await import('../tools/src/client/session.js');
  const { planDeployPush, pushPlanned } = await import('../tools/src/push/deploy.js');
  const { newPushContext } = await import('../tools/src/push/push.js');
  const { SilentReporter } = await import('../tools/src/push/progress.js');
  const { planSupply, attachSupply } = await import('../tools/src/supply/attach-push.js');
  const { listReferrers } = await import('../tools/src/client/referrers.js');
  const { fetchArtifactLayer } = await import('../tools/src/manage/referrers.js');
  const registries = [{ name: 'ours', host: (await startTestRegistry(t)).host }];
  if (!missingPeer('docker-registry')) registries.push({ name: 'distribution', host: (await startDistribution(t)).host });
  for (const r of registries) {
    const root = await tempDir(t, 'cr-supply-api-');
    const images = join(root, 'images');
    await writeBuild(images, { machine: 'qemux86-64', image: 'traced', stamp: '20260101120000' });
    const deployDir = join(images, 'qemux86-64');
    const s = new RegistrySession({ registry: `http://${r.host}` });
    t.teardown(() => s.close());
    const plans = await planDeployPush({ deployDir, only: [], namespace: 'yocto', tags: ['v1'], arch: false, labels: {} });
    const trace = Buffer.from(JSON.stringify({ traceEvents: [{ name: 'do_compile', ph: 'X', ts: 0, dur: 5, pid: 1, tid: 1 }] }));
    const supply = await planSupply(plans, {
      sbom: { kind: 'file', path: SPDX30_FILE },
      provenance: { kind: 'none' },
      env: {},
      deployDir,
      registry: r.host,
      toolVersion: '0.0.0',
      info: () => {},
      warn: () => {},
      // What the build-trace part plugs in: one more artifact per image, its type its own.
      more: async (image) => [
        {
          kind: 'trace',
          artifactType: 'application/vnd.chrome.trace-event+json',
          layers: [{ mediaType: 'application/json', content: trace, annotations: { 'org.opencontainers.image.title': `${image.stems[0]}.trace.json` } }],
          annotations: {},
          required: true,
        },
      ],
    });
    const pushed = await pushPlanned(newPushContext(s, new SilentReporter(), 2, undefined), plans, { tags: ['v1'], arch: false });
    const attached = await attachSupply(s, supply, { toolVersion: '0.0.0', info: () => {}, warn: () => {} });
    t.same(
      attached.map((a) => a.artifactType),
      [SPDX, 'application/vnd.chrome.trace-event+json'],
      `${r.name}: SBOM and trace attached`,
    );
    const listing = await listReferrers(s, 'yocto/traced', pushed[0]!.digest, 'application/vnd.chrome.trace-event+json');
    t.equal(listing.via, r.name === 'ours' ? 'api' : 'tag', `${r.name}: listed ${r.name === 'ours' ? 'by the API' : 'in the fallback index'}`);
    t.equal(listing.manifests.length, 1, `${r.name}: the artifactType filter`);
    const doc = await fetchArtifactLayer(s, 'yocto/traced', listing.manifests[0]!.digest);
    t.equal(doc.content.toString(), trace.toString(), `${r.name}: the exact trace`);
  }
});
