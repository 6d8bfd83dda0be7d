// Image signatures against the verifiers that exist: the real registry process, the built CLI
// (`pki signing-key`, `sign`, `verify`, `push --sign`), and real skopeo and podman under a
// policy.json that requires a sigstore signature by our public key for the test registry
// (registries.d: use-sigstore-attachments). A signed image is copied and pulled; an unsigned one,
// one whose signature is for another digest, one whose payload was edited, one signed by another
// key and a tag pushed again after signing are refused, by them and by `verify`.
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { isRoot, missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { freePort } from './helpers/ports.js';
import { exec } from './helpers/exec.js';
import { makeImage, makeIndex, pushImage, putManifest, sha256, uploadBlob, type TestImage } from './helpers/images.js';
import { writeBuild } from './helpers/deploy.js';
import { RegistrySession } from '../tools/src/client/session.js';
import { isSigned } from '../tools/src/signing/attachments.js';
import { isSignedInStore } from '../tools/src/signing/stored.js';
import { ImageStore } from '../tools/src/storage/store.js';
import { StateDir } from '../tools/src/state/state-dir.js';

const reg = await startTestRegistry(t);
const storage = await tempDir(t, 'cr-sign-');
const keyDir = join(storage, 'pki');
/** every output of the CLI in this file, checked at the end for the private key */
const outputs: string[] = [];

async function cli(args: string[], env: Record<string, string> = {}) {
  const r = await runCli(args, { env: { CONTAINER_REGISTRY_STORAGE: storage, ...env } });
  outputs.push(r.stdout, r.stderr);
  return r;
}

const client = ['--registry', reg.host, '--namespace', 'yocto'];

/** seed pushes a fresh single-platform image to repo:tag through the API. */
async function seed(repo: string, tag: string, text = repo): Promise<TestImage> {
  const image = makeImage({ layers: [[{ name: 'hello.txt', content: `hello from ${text} ${Math.random()}\n` }]] });
  await pushImage(reg.url, repo, tag, image);
  return image;
}

async function getJson<T>(path: string, accept = 'application/vnd.oci.image.manifest.v1+json'): Promise<T> {
  const res = await fetch(`${reg.url}${path}`, { headers: { Accept: accept } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  return (await res.json()) as T;
}

interface SigManifest {
  config: { digest: string };
  layers: Array<{ mediaType: string; digest: string; size: number; annotations: Record<string, string> }>;
}

/** digestOf asks the registry which manifest digest a tag names. */
async function digestOf(repo: string, tag: string): Promise<string> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const digest = res.headers.get('docker-content-digest');
  if (res.status !== 200 || !digest) throw new Error(`HEAD ${repo}:${tag}: ${res.status}`);
  return digest;
}

const sigTag = (digest: string) => `sha256-${digest.slice(7)}.sig`;

t.test('pki signing-key: ECDSA P-256, the private key 0600 from creation, the public key beside it', async (t) => {
  const r = await cli(['pki', 'signing-key']);
  t.equal(r.code, 0, r.stderr);
  // Stat right after creation: nothing chmod-ed it afterwards.
  t.equal((await stat(join(keyDir, 'signing.key'))).mode & 0o777, 0o600, 'private key 0600');
  t.equal((await stat(join(keyDir, 'signing.pub'))).mode & 0o777, 0o644, 'public key 0644');
  t.equal((await stat(keyDir)).mode & 0o777, 0o700, 'pki/ 0700');
  t.match(r.stdout, /^Created signing key .*signing\.key\nPublic key .*signing\.pub\n$/);
  const pub = await readFile(join(keyDir, 'signing.pub'), 'utf8');
  t.match(pub, /^-----BEGIN PUBLIC KEY-----\n/);
  const again = await cli(['pki', 'signing-key']);
  t.match(again.stdout, /^Kept signing key/, 'a second run keeps the key');
  t.equal(await readFile(join(keyDir, 'signing.pub'), 'utf8'), pub, 'and its public key');
});

t.test('sign and verify with the CLI; unsigned and tampered images fail verify', async (t) => {
  const image = await seed('yocto/app', 'v1');
  const unsignedVerify = await cli(['verify', 'app:v1', ...client]);
  t.equal(unsignedVerify.code, 1, 'unsigned: exit 1');
  t.match(unsignedVerify.stderr, /error \[unsigned\]: 127\.0\.0\.1:\d+\/yocto\/app:v1 is not signed/);

  const signed = await cli(['sign', 'app:v1', ...client, '--json']);
  t.equal(signed.code, 0, signed.stderr);
  const result = JSON.parse(signed.stdout) as { identity: string; digest: string; signed: Array<{ digest: string; added: boolean }> };
  t.equal(result.identity, `${reg.host}/yocto/app:v1`);
  t.equal(result.digest, image.manifest.digest);

  const sig = await getJson<SigManifest>(`/v2/yocto/app/manifests/${sigTag(image.manifest.digest)}`);
  t.equal(sig.layers.length, 1);
  const layer = sig.layers[0]!;
  t.equal(layer.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
  t.type(layer.annotations['dev.cosignproject.cosign/signature'], 'string');
  const payload = JSON.parse(Buffer.from(await (await fetch(`${reg.url}/v2/yocto/app/blobs/${layer.digest}`)).arrayBuffer()).toString()) as {
    critical: unknown;
    optional: { creator: string };
  };
  t.same(payload.critical, {
    identity: { 'docker-reference': `${reg.host}/yocto/app:v1` },
    image: { 'docker-manifest-digest': image.manifest.digest },
    type: 'cosign container image signature',
  });

  const ok = await cli(['verify', 'app:v1', ...client]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, `Verified ${reg.host}/yocto/app:v1 (${image.manifest.digest})`);
  const byDigest = await cli(['verify', `yocto/app@${image.manifest.digest}`, ...client]);
  t.equal(byDigest.code, 0, `by digest, the repository matches: ${byDigest.stderr}`);

  const resign = await cli(['sign', 'app:v1', ...client]);
  t.match(resign.stdout, /already signed|->/);
  const other = await tempDir(t, 'cr-otherkey-');
  t.equal((await cli(['pki', 'signing-key', '--storage', other])).code, 0);
  const second = await cli(['sign', 'app:v1', ...client, '--key', join(other, 'pki', 'signing.key')]);
  t.equal(second.code, 0, second.stderr);
  const both = await getJson<SigManifest>(`/v2/yocto/app/manifests/${sigTag(image.manifest.digest)}`);
  t.equal(both.layers.length, 2, 'a second key appends; the first signature stays');
  t.equal((await cli(['verify', 'app:v1', ...client, '--key', join(other, 'pki', 'signing.pub')])).code, 0, 'either key verifies');
  t.equal((await cli(['verify', 'app:v1', ...client])).code, 0);

  // Another tag of the same digest: the signature names v1, not v2.
  await putManifest(reg.url, 'yocto/app', 'v2', image.manifest);
  const wrongName = await cli(['verify', 'app:v2', ...client]);
  t.equal(wrongName.code, 1);
  t.match(wrongName.stderr, /error \[bad-signature\]: .*the signature is for 127\.0\.0\.1:\d+\/yocto\/app:v1, not 127\.0\.0\.1:\d+\/yocto\/app:v2/);

  // Only the other key signed this one.
  const onlyOther = await seed('yocto/other', 'v1');
  t.equal((await cli(['sign', 'other:v1', ...client, '--key', join(other, 'pki', 'signing.key')])).code, 0);
  const wrongKey = await cli(['verify', 'other:v1', ...client]);
  t.equal(wrongKey.code, 1);
  t.match(wrongKey.stderr, /bad-signature.*another key, or the payload was changed/);
  t.ok(onlyOther);

  const missingKey = await cli(['verify', 'app:v1', ...client, '--key', join(other, 'nope.pub')]);
  t.equal(missingKey.code, 3);
  t.match(missingKey.stderr, /error \[signing-key-missing\]: no public key .*nope\.pub/);
});

/** tamper writes the three kinds of tampered images the verifiers must refuse; returns their references. */
async function tamper(): Promise<Record<'otherDigest' | 'editedPayload' | 'repushed', string>> {
  // A signature copied from another image: valid, but for another digest.
  const a = await seed('yocto/tamper-digest', 'a');
  const b = await seed('yocto/tamper-digest', 'b');
  const sa = await cli(['sign', 'tamper-digest:b', ...client]);
  if (sa.code !== 0) throw new Error(sa.stderr);
  const sigB = await fetch(`${reg.url}/v2/yocto/tamper-digest/manifests/${sigTag(b.manifest.digest)}`, {
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const sigBody = Buffer.from(await sigB.arrayBuffer());
  const put = await putManifest(reg.url, 'yocto/tamper-digest', sigTag(a.manifest.digest), {
    digest: sha256(sigBody),
    data: sigBody,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  });
  if (put.status !== 201) throw new Error(`put: ${put.status}`);

  // A payload edited after signing (the signature kept): the name it claims is another.
  const c = await seed('yocto/tamper-payload', 'v1');
  const sc = await cli(['sign', 'tamper-payload:v1', ...client]);
  if (sc.code !== 0) throw new Error(sc.stderr);
  const sig = await getJson<SigManifest & { schemaVersion: number; mediaType: string }>(`/v2/yocto/tamper-payload/manifests/${sigTag(c.manifest.digest)}`);
  const layer = sig.layers[0]!;
  const original = Buffer.from(await (await fetch(`${reg.url}/v2/yocto/tamper-payload/blobs/${layer.digest}`)).arrayBuffer());
  const edited = Buffer.from(original.toString().replace('"creator":"meta-container-registry"', '"creator":"someone-else"'));
  if (edited.equals(original)) throw new Error('payload edit did nothing');
  const editedBlob = { digest: sha256(edited), data: edited };
  if ((await uploadBlob(reg.url, 'yocto/tamper-payload', editedBlob)).status !== 201) throw new Error('upload');
  const forged = { ...sig, layers: [{ ...layer, digest: editedBlob.digest, size: edited.length }] };
  const forgedBody = Buffer.from(JSON.stringify(forged));
  const put2 = await putManifest(reg.url, 'yocto/tamper-payload', sigTag(c.manifest.digest), {
    digest: sha256(forgedBody),
    data: forgedBody,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  });
  if (put2.status !== 201) throw new Error(`put: ${put2.status}`);

  // A tag pushed again after it was signed: the new digest has no signature.
  await seed('yocto/tamper-repush', 'v1');
  const sr = await cli(['sign', 'tamper-repush:v1', ...client]);
  if (sr.code !== 0) throw new Error(sr.stderr);
  await seed('yocto/tamper-repush', 'v1', 'the replacement');

  return { otherDigest: 'yocto/tamper-digest:a', editedPayload: 'yocto/tamper-payload:v1', repushed: 'yocto/tamper-repush:v1' };
}

/** tampered names the tampered images; ready() makes them when a test first needs them (after the key and app:v1 exist). */
let tampered: Awaited<ReturnType<typeof tamper>>;

t.test('verify refuses every tampered image', async (t) => {
  await ready();
  const digest = await cli(['verify', tampered.otherDigest, ...client]);
  t.equal(digest.code, 1);
  t.match(digest.stderr, /bad-signature.*the signature is for sha256:[0-9a-f]{64}, not sha256:/);
  const edited = await cli(['verify', tampered.editedPayload, ...client]);
  t.equal(edited.code, 1);
  t.match(edited.stderr, /bad-signature.*the payload was changed/);
  const repushed = await cli(['verify', tampered.repushed, ...client]);
  t.equal(repushed.code, 1);
  t.match(repushed.stderr, /unsigned.*is not signed/);
});

t.test(
  'verify accepts a signature made elsewhere: openssl signs a payload written as cosign writes it ("optional": null)',
  { skip: missingPeer('openssl') },
  async (t) => {
    const image = await seed('yocto/foreign', 'v1');
    const dir = await tempDir(t, 'cr-foreign-');
    const payload = Buffer.from(
      `{"critical":{"identity":{"docker-reference":"${reg.host}/yocto/foreign:v1"},"image":{"docker-manifest-digest":"${image.manifest.digest}"},"type":"cosign container image signature"},"optional":null}`,
    );
    await writeFile(join(dir, 'payload'), payload);
    const signed = await exec('openssl', ['dgst', '-sha256', '-sign', join(keyDir, 'signing.key'), '-out', join(dir, 'sig'), join(dir, 'payload')]);
    t.equal(signed.code, 0, signed.stderr);
    const signature = (await readFile(join(dir, 'sig'))).toString('base64');
    const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(payload)] } }));
    for (const blob of [payload, config]) t.equal((await uploadBlob(reg.url, 'yocto/foreign', { digest: sha256(blob), data: blob })).status, 201);
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [
          {
            mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
            digest: sha256(payload),
            size: payload.length,
            annotations: { 'dev.cosignproject.cosign/signature': signature },
          },
        ],
      }),
    );
    const put = await putManifest(reg.url, 'yocto/foreign', sigTag(image.manifest.digest), {
      digest: sha256(body),
      data: body,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    });
    t.equal(put.status, 201);
    const v = await cli(['verify', 'foreign:v1', ...client]);
    t.equal(v.code, 0, v.stderr);
    // sign then appends its own signature beside the foreign one, which stays.
    t.equal((await cli(['sign', 'foreign:v1', ...client])).code, 0);
    const after = await getJson<SigManifest>(`/v2/yocto/foreign/manifests/${sigTag(image.manifest.digest)}`);
    t.equal(after.layers[0]!.annotations['dev.cosignproject.cosign/signature'], signature, 'the foreign signature is kept, first');
  },
);

t.test('verify bounds what a registry may list: more signature layers than it reads is an error, not a long wait', async (t) => {
  const image = await seed('yocto/many-sigs', 'v1');
  const layers = [];
  for (let i = 0; i < 65; i++) {
    const data = Buffer.from(`{"n":${i}}`);
    const blob = { digest: sha256(data), data };
    t.equal((await uploadBlob(reg.url, 'yocto/many-sigs', blob)).status, 201);
    layers.push({
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest: blob.digest,
      size: data.length,
      annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' },
    });
  }
  const config = Buffer.from('{}');
  await uploadBlob(reg.url, 'yocto/many-sigs', { digest: sha256(config), data: config });
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers,
    }),
  );
  const put = await putManifest(reg.url, 'yocto/many-sigs', sigTag(image.manifest.digest), {
    digest: sha256(body),
    data: body,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  });
  t.equal(put.status, 201);
  const r = await cli(['verify', 'many-sigs:v1', ...client]);
  t.equal(r.code, 1);
  t.match(r.stderr, /error \[registry\]: yocto\/many-sigs:sha256-[0-9a-f]+\.sig lists 65 signatures, more than the 64 read/);
});

/** PolicyFiles are what containers/image reads: policy.json, registries.d and registries.conf. */
interface PolicyFiles {
  home: string;
  policy: string;
  registriesD: string;
  registriesConf: string;
}

/** policyFiles writes a policy requiring our key's signature for the test registry, in a fresh HOME too (podman reads $HOME/.config/containers). */
async function policyFiles(t: { teardown(fn: () => unknown): void }, publicKey: string): Promise<PolicyFiles> {
  const home = await tempDir(t, 'cr-policy-');
  const dir = join(home, '.config', 'containers');
  await mkdir(join(dir, 'registries.d'), { recursive: true });
  const policy = join(dir, 'policy.json');
  await writeFile(
    policy,
    JSON.stringify({
      default: [{ type: 'insecureAcceptAnything' }],
      transports: {
        docker: { [reg.host]: [{ type: 'sigstoreSigned', keyPath: publicKey, signedIdentity: { type: 'matchRepoDigestOrExact' } }] },
      },
    }),
  );
  await writeFile(join(dir, 'registries.d', 'test-registry.yaml'), `docker:\n  ${reg.host}:\n    use-sigstore-attachments: true\n`);
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(registriesConf, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
  return { home, policy, registriesD: join(dir, 'registries.d'), registriesConf };
}

const skip = missingPeer('skopeo');

/** skopeoCopy copies an image of the test registry to an OCI layout under the policy. */
async function skopeoCopy(p: PolicyFiles, ref: string, opts: { all?: boolean; arch?: string } = {}) {
  const dest = join(p.home, `copy-${Math.random().toString(16).slice(2)}`);
  const global = [
    '--policy',
    p.policy,
    '--registries.d',
    p.registriesD,
    '--registries-conf',
    p.registriesConf,
    ...(opts.arch ? ['--override-arch', opts.arch] : []),
  ];
  // --remove-signatures: an OCI layout cannot store them; the policy is checked all the same.
  return exec('skopeo', [...global, 'copy', '--remove-signatures', ...(opts.all ? ['--all'] : []), `docker://${reg.host}/${ref}`, `oci:${dest}:x`], {
    env: { HOME: p.home },
  });
}

/**
 * DISABLED is what Debian's build of containers/image (bookworm: skopeo 1.9, podman 4.3) answers for
 * every sigstore signature it finds: it reads the attachments but was built without sigstore's
 * verification code (its signature/policy_eval_sigstore.go replaces isSignatureAccepted alone; the
 * upstream isRunningImageAllowed around it is kept). So this answer still shows that the `.sig`
 * manifest was found and read and that its layer has the signature media type (a layer of another
 * type is counted as "sigstore non-signature attachments", an unsigned image stops at "no
 * signature exists"), and such a verifier still refuses. The checks that a signed image is accepted
 * and of each refusal's reason need a containers/image built with sigstore (Fedora's, upstream's),
 * and are skipped here with that reason.
 */
const DISABLED = /Debian-local change: sigstore disabled/;
const DISABLED_REASON =
  'this skopeo/podman\'s containers/image is built with sigstore verification disabled (Debian: "Debian-local change: sigstore disabled"); a build with sigstore runs these checks';

/** sigstoreVerifies asks the installed skopeo to copy a signed image: true when it verifies sigstore signatures, false when its build cannot. */
async function sigstoreVerifies(): Promise<boolean | undefined> {
  if (skip) return undefined;
  const probe = await policyFiles(t, join(keyDir, 'signing.pub'));
  const r = await skopeoCopy(probe, 'yocto/app:v1');
  if (r.code === 0) return true;
  if (DISABLED.test(r.stderr)) return false;
  throw new Error(`skopeo refused a signed image for another reason: ${r.stderr}`);
}

/** verifies is what the installed skopeo does with a signed image (sigstoreVerifies); ready() asks it once. */
let verifies: boolean | undefined;

/** ready makes what later tests share, in test order: tests run one after another, module code does not wait for them. */
async function ready(): Promise<void> {
  if (!tampered) tampered = await tamper();
  if (verifies === undefined) verifies = await sigstoreVerifies();
}

/** refusedFor checks a refusal's reason: `reason` with a verifier that verifies, the build's own refusal with one that cannot. */
function refusedFor(t: { match(found: string, wanted: RegExp, message: string): unknown }, stderr: string, reason: RegExp, what: string): void {
  t.match(stderr, verifies ? reason : DISABLED, verifies ? what : `${what} (the signature was found; this build cannot verify it)`);
}

t.test('skopeo copies a signed image and refuses unsigned and tampered ones', { skip }, async (t) => {
  await ready();
  const p = await policyFiles(t, join(keyDir, 'signing.pub'));
  t.test('the signed image is copied', { skip: verifies ? false : DISABLED_REASON }, async (t) => {
    const ok = await skopeoCopy(p, 'yocto/app:v1');
    t.equal(ok.code, 0, `signed: copied (${ok.stderr})`);
    const byDigest = await skopeoCopy(p, `yocto/app@${await digestOf('yocto/app', 'v1')}`);
    t.equal(byDigest.code, 0, `by digest: copied (${byDigest.stderr})`);
  });
  await seed('yocto/unsigned', 'v1');
  const refused = await skopeoCopy(p, 'yocto/unsigned:v1');
  t.not(refused.code, 0, 'unsigned: refused');
  t.match(refused.stderr, /A signature was required, but no signature exists/, 'because it has no signature, whatever the build');
  const wrongKey = await skopeoCopy(p, 'yocto/other:v1');
  t.not(wrongKey.code, 0, 'signed by another key: refused');
  refusedFor(t, wrongKey.stderr, /cryptographic signature verification failed/, 'the signature is not by this key');
  const digest = await skopeoCopy(p, tampered.otherDigest);
  t.not(digest.code, 0, 'signature for another digest: refused');
  refusedFor(t, digest.stderr, /Signature for digest sha256:[0-9a-f]+ does not match/, 'the digest differs');
  const edited = await skopeoCopy(p, tampered.editedPayload);
  t.not(edited.code, 0, 'edited payload: refused');
  refusedFor(t, edited.stderr, /cryptographic signature verification failed/, 'the payload was changed');
  const repushed = await skopeoCopy(p, tampered.repushed);
  t.not(repushed.code, 0, 'tag pushed again after signing: refused');
  t.match(repushed.stderr, /A signature was required, but no signature exists/, 'the new digest has no signature');
  const wrongTag = await skopeoCopy(p, 'yocto/app:v2');
  t.not(wrongTag.code, 0, 'the same digest under a tag the signature does not name: refused');
  refusedFor(t, wrongTag.stderr, /Signature for identity .*yocto\/app:v1 is not accepted/, 'the name differs');
  const p2 = await policyFiles(t, join(keyDir, 'nonexistent.pub'));
  const noKey = await skopeoCopy(p2, 'yocto/app:v1');
  t.not(noKey.code, 0, 'a policy whose key file is missing refuses too');
});

t.test('openssl verifies the signature of the payload with the public key, and refuses the edited payload', { skip: missingPeer('openssl') }, async (t) => {
  await ready();
  const dir = await tempDir(t, 'cr-openssl-');
  const check = async (repo: string, tag: string) => {
    const digest = await digestOf(repo, tag);
    const sig = await getJson<SigManifest>(`/v2/${repo}/manifests/${sigTag(digest)}`);
    const layer = sig.layers[0]!;
    const payload = join(dir, `${layer.digest.slice(7)}.json`);
    await writeFile(payload, Buffer.from(await (await fetch(`${reg.url}/v2/${repo}/blobs/${layer.digest}`)).arrayBuffer()));
    const der = join(dir, `${layer.digest.slice(7)}.sig`);
    await writeFile(der, Buffer.from(layer.annotations['dev.cosignproject.cosign/signature']!, 'base64'));
    return exec('openssl', ['dgst', '-sha256', '-verify', join(keyDir, 'signing.pub'), '-signature', der, payload]);
  };
  const ok = await check('yocto/app', 'v1');
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /Verified OK/);
  const bad = await check('yocto/tamper-payload', 'v1');
  t.not(bad.code, 0);
  t.match(bad.stdout, /Verification failure/);
});

t.test('push --sign signs every tag of a multi-arch push: index and platforms; skopeo --all and podman pull accept it', async (t) => {
  await ready();
  const root = await tempDir(t, 'cr-deploy-');
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'signedimg', stamp: '20260112143022', latestLink: true });
  await writeBuild(join(root, 'images'), { machine: 'qemuarm64', image: 'signedimg', stamp: '20260112143022', architecture: 'arm64' });
  const deploy = join(root, 'images', 'qemux86-64');
  const r = await cli(['push', 'signedimg', '--json', ...client, '--sign', '--tag', 'v1'], { DEPLOY_DIR_IMAGE: deploy });
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    results: Array<{ digest: string }>;
    signed: Array<{ identity: string; digest: string; signed: Array<{ platform?: string }> }>;
  };
  t.equal(out.signed.length, 1);
  t.equal(out.signed[0]!.identity, `${reg.host}/yocto/signedimg:v1`);
  t.same(
    out.signed[0]!.signed.map((s) => s.platform ?? 'index'),
    ['index', 'linux/amd64', 'linux/arm64'],
    'the index and each platform',
  );
  const v = await cli(['verify', 'signedimg:v1', ...client]);
  t.equal(v.code, 0, v.stderr);
  t.match(v.stdout, /linux\/amd64 sha256:.*signed as/);
  t.match(v.stdout, /linux\/arm64 sha256:.*signed as/);

  // With CONTAINER_REGISTRY_SIGN=1 instead of the flag, and no key: the push fails before sending.
  const empty = await tempDir(t, 'cr-nokey-');
  const noKey = await cli(['push', 'signedimg', ...client, '--tag', 'v2'], {
    DEPLOY_DIR_IMAGE: deploy,
    CONTAINER_REGISTRY_SIGN: '1',
    CONTAINER_REGISTRY_STORAGE: empty,
  });
  t.equal(noKey.code, 3);
  t.match(noKey.stderr, /signing-key-missing.*pki signing-key/);
  const notThere = await fetch(`${reg.url}/v2/yocto/signedimg/manifests/v2`, { method: 'HEAD' });
  t.equal(notThere.status, 404, 'nothing was pushed');

  if (skip) return;
  const p = await policyFiles(t, join(keyDir, 'signing.pub'));
  const all = await skopeoCopy(p, 'yocto/signedimg:v1', { all: true });
  const one = await skopeoCopy(p, 'yocto/signedimg:v1');
  if (!verifies) {
    refusedFor(t, all.stderr, /never/, 'skopeo copy --all reaches the signatures');
    return;
  }
  t.equal(all.code, 0, `skopeo copy --all: every platform signed (${all.stderr})`);
  t.equal(one.code, 0, one.stderr);
});

// The multi-arch index signed, one platform's signature missing: podman checks the platform it pulls.
t.test('a multi-arch image whose platform manifest is unsigned is refused', { skip }, async (t) => {
  await ready();
  const amd = makeImage({ architecture: 'amd64' });
  const arm = makeImage({ architecture: 'arm64' });
  for (const i of [amd, arm]) await pushImage(reg.url, 'yocto/halfsigned', i.manifest.digest, i);
  const index = makeIndex([amd, arm]);
  await putManifest(reg.url, 'yocto/halfsigned', 'v1', index);
  t.equal((await cli(['sign', 'halfsigned:v1', ...client])).code, 0);
  // Drop the amd64 signature by pointing its .sig tag at the arm64 one (a signature of another digest).
  const armSig = await fetch(`${reg.url}/v2/yocto/halfsigned/manifests/${sigTag(arm.manifest.digest)}`, {
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const body = Buffer.from(await armSig.arrayBuffer());
  await putManifest(reg.url, 'yocto/halfsigned', sigTag(amd.manifest.digest), {
    digest: sha256(body),
    data: body,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  });
  const v = await cli(['verify', 'halfsigned:v1', ...client]);
  t.equal(v.code, 1);
  t.match(v.stderr, new RegExp(`linux/amd64 ${amd.manifest.digest}: the signature is for ${arm.manifest.digest}`));
  const p = await policyFiles(t, join(keyDir, 'signing.pub'));
  const amdCopy = await skopeoCopy(p, 'yocto/halfsigned:v1', { arch: 'amd64' });
  t.not(amdCopy.code, 0, 'the amd64 platform: refused');
  refusedFor(t, amdCopy.stderr, /Signature for digest sha256:[0-9a-f]+ does not match/, 'its signature is for another digest');
  const armCopy = await skopeoCopy(p, 'yocto/halfsigned:v1', { arch: 'arm64' });
  if (verifies) t.equal(armCopy.code, 0, `the arm64 platform: accepted (${armCopy.stderr})`);
  else refusedFor(t, armCopy.stderr, /never/, 'the arm64 platform reaches its signature');
});

const notRoot = isRoot() ? false : 'podman here needs root (vfs storage)';

t.test('podman pulls a signed image and refuses unsigned and tampered ones', { skip: missingPeer('podman') || notRoot }, async (t) => {
  await ready();
  const p = await policyFiles(t, join(keyDir, 'signing.pub'));
  const dir = await tempDir(t, 'cr-podman-sign-');
  const podman = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  // HOME holds policy.json, registries.d and registries.conf: podman has no flag for registries.d.
  const env = { HOME: p.home, CONTAINERS_REGISTRIES_CONF: p.registriesConf };
  const pull = (ref: string) => exec('podman', [...podman, 'pull', '--signature-policy', p.policy, `${reg.host}/${ref}`], { env });
  t.test('signed images are pulled', { skip: verifies === false ? DISABLED_REASON : false }, async (t) => {
    const ok = await pull('yocto/app:v1');
    t.equal(ok.code, 0, `signed: pulled (${ok.stderr})`);
    const multi = await pull('yocto/signedimg:v1');
    t.equal(multi.code, 0, `signed multi-arch: pulled (${multi.stderr})`);
  });
  if (verifies === false) {
    const signed = await pull('yocto/app:v1');
    t.match(signed.stderr, DISABLED, 'podman finds the signature of a signed image (and, built without sigstore, cannot verify it)');
  }
  const unsigned = await pull('yocto/unsigned:v1');
  t.not(unsigned.code, 0, 'unsigned: refused');
  t.match(unsigned.stderr, /A signature was required, but no signature exists/);
  for (const [what, ref] of Object.entries({ otherDigest: tampered.otherDigest, editedPayload: tampered.editedPayload })) {
    const r = await pull(ref);
    t.not(r.code, 0, `${what}: refused`);
    refusedFor(t, r.stderr, /Signature for digest|cryptographic signature verification failed/, what);
  }
  const repushed = await pull(tampered.repushed);
  t.not(repushed.code, 0, 'a tag pushed again after signing: refused');
  t.match(repushed.stderr, /A signature was required, but no signature exists/);
  const half = await pull('yocto/halfsigned:v1');
  t.not(half.code, 0, 'multi-arch with the pulled platform unsigned: refused');
});

t.test('config containers with REQUIRE_SIGNATURES writes a policy skopeo enforces', async (t) => {
  await ready();
  const root = await tempDir(t, 'cr-target-');
  const env = { CONTAINER_REGISTRY_REQUIRE_SIGNATURES: '1', CONTAINER_REGISTRY_URL: reg.host, CONTAINER_REGISTRY_INSECURE: '1' };
  const missing = await cli(['config', 'containers', '--output', root, '--storage', await tempDir(t, 'cr-empty-')], env);
  t.equal(missing.code, 3, 'no public key yet: exit 3');
  t.match(
    missing.stderr,
    /error \[signing-key-missing\]: CONTAINER_REGISTRY_REQUIRE_SIGNATURES is on, but the signing public key .*signing\.pub does not exist: `container-registry pki signing-key` creates it/,
  );
  // The target reaches the registry at the address the build signed with: no remap.
  const r = await cli(['config', 'containers', '--output', root, '--target-host', reg.host], env);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), [
    '/etc/containers/registries.conf.d/50-custom-registry.conf',
    '/etc/containers/policy.json',
    '/etc/containers/registries.d/container-registry.yaml',
    '/etc/containers/keys/container-registry.pub',
  ]);
  t.equal(await readFile(join(root, 'etc/containers/keys/container-registry.pub'), 'utf8'), await readFile(join(keyDir, 'signing.pub'), 'utf8'));
  t.equal((await stat(join(root, 'etc/containers/policy.json'))).mode & 0o777, 0o644);
  if (skip) return;
  // The board's files as skopeo reads them; only keyPath points into the output folder.
  const policy = join(root, 'policy.json');
  await writeFile(
    policy,
    (await readFile(join(root, 'etc/containers/policy.json'), 'utf8')).replace('/etc/containers/keys/', join(root, 'etc/containers/keys/')),
  );
  const files = {
    home: root,
    policy,
    registriesD: join(root, 'etc/containers/registries.d'),
    registriesConf: join(root, 'etc/containers/registries.conf.d/50-custom-registry.conf'),
  };
  const unsigned = await skopeoCopy(files, 'yocto/unsigned:v1');
  t.not(unsigned.code, 0, 'unsigned: refused under the shipped policy');
  t.match(unsigned.stderr, /A signature was required, but no signature exists/);
  const signed = await skopeoCopy(files, 'yocto/app:v1');
  if (verifies) t.equal(signed.code, 0, `signed: accepted under the shipped policy (${signed.stderr})`);
  else refusedFor(t, signed.stderr, /never/, 'signed: its signature is found through the shipped registries.d entry');
});

t.test('secure mode: push --sign and verify over HTTPS with the login of auth/password', async (t) => {
  const dir = await tempDir(t, 'cr-sign-secure-');
  const secureStorage = join(dir, 'storage');
  const port = await freePort();
  const host = `localhost:${port}`;
  const env = { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_AUTH: '', CONTAINER_REGISTRY_INSECURE: '', CONTAINER_REGISTRY_PASSWORD: '' };
  const start = await cli(['start', '--storage', secureStorage, '--listen', `127.0.0.1:${port}`], env);
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => runCli(['stop', '--storage', secureStorage, '--timeout', '3']));
  t.equal((await cli(['pki', 'signing-key', '--storage', secureStorage])).code, 0);
  const root = await tempDir(t, 'cr-sign-secure-deploy-');
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'app', stamp: '20260112143022' });
  const clientEnv = {
    ...env,
    CONTAINER_REGISTRY_URL: host,
    CONTAINER_REGISTRY_STORAGE: secureStorage,
    CONTAINER_REGISTRY_AUTH_MODE: '',
    CONTAINER_REGISTRY_SIGN: '1',
  };
  const push = await cli(['push', 'app', '-t', 'v1', '--deploy-dir', join(root, 'images', 'qemux86-64')], clientEnv);
  t.equal(push.code, 0, push.stderr);
  t.match(push.stdout, `Signed ${host}/yocto/app:v1 (1 manifest(s))`);
  const verify = await cli(['verify', 'app:v1'], clientEnv);
  t.equal(verify.code, 0, verify.stderr);
  t.match(verify.stdout, `Verified ${host}/yocto/app:v1`);
  const anonymous = await runCli(
    ['verify', 'app:v1', '--registry', host, '--ca-cert', join(secureStorage, 'certs', 'ca.crt'), '--key', join(secureStorage, 'pki', 'signing.pub')],
    {
      env: {
        CONTAINER_REGISTRY_SECURE: '',
        CONTAINER_REGISTRY_STORAGE: '',
        CONTAINER_REGISTRY_AUTH_MODE: '',
        XDG_RUNTIME_DIR: await tempDir(t, 'cr-anon-run-'),
      },
    },
  );
  outputs.push(anonymous.stdout, anonymous.stderr);
  t.equal(anonymous.code, 1, 'without a login, verify cannot read the signatures');
  t.match(anonymous.stderr, /error \[unauthorized\]/);
  const key = await readFile(join(secureStorage, 'pki', 'signing.key'), 'utf8');
  for (const line of key.split('\n').filter((l) => l && !l.startsWith('-----'))) t.notOk(`${push.stdout}${push.stderr}${verify.stdout}`.includes(line));
});

t.test('isSigned (over HTTP) and isSignedInStore (the server side, for the web UI)', async (t) => {
  const session = new RegistrySession({ registry: `http://${reg.host}` });
  t.teardown(() => session.close());
  const store = new ImageStore(new StateDir(reg.storage).storage);
  const signed = await digestOf('yocto/app', 'v1');
  const unsigned = await digestOf('yocto/unsigned', 'v1');
  t.equal(await isSigned(session, 'yocto/app', signed), true);
  t.equal(await isSigned(session, 'yocto/unsigned', unsigned), false);
  t.equal(await isSigned(session, 'yocto/nothing-here', unsigned), false, 'an unknown repository: not signed');
  t.equal(await isSignedInStore(store, 'yocto/app', signed), true);
  t.equal(await isSignedInStore(store, 'yocto/unsigned', unsigned), false);
  t.equal(await isSignedInStore(store, 'yocto/nothing-here', unsigned), false);
  // A .sig manifest with no signature layer (another kind of attachment) is no signature.
  const empty = makeImage();
  await pushImage(reg.url, 'yocto/unsigned', sigTag(unsigned), empty);
  t.equal(await isSigned(session, 'yocto/unsigned', unsigned), false);
  t.equal(await isSignedInStore(store, 'yocto/unsigned', unsigned), false);
});

t.test('the private key never appears in any output', async (t) => {
  const pem = await readFile(join(keyDir, 'signing.key'), 'utf8');
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  t.ok(body.length > 0);
  const all = outputs.join('\n');
  for (const line of body) t.notOk(all.includes(line), 'a line of the key body is in no output');
  t.notOk(all.includes('PRIVATE KEY'), 'no PEM private key header in any output');
  // And the bytes of the key are not in any manifest or payload the registry holds (a hash of it, even).
  const keyHash = createHash('sha256').update(pem).digest('hex');
  t.notOk(all.includes(keyHash));
});
