// Index merging: by (os, architecture, variant), ours first, nothing else lost.
import t from 'tap';
import { indexBody, indexMediaType, mergedEntries } from '../tools/src/push/multiarch.js';

const d = (n: string) => `sha256:${n.repeat(64).slice(0, 64)}`;
const oci = 'application/vnd.oci.image.manifest.v1+json';
const docker = 'application/vnd.docker.distribution.manifest.v2+json';

t.test('merge keeps every platform we do not replace, variants included', async (t) => {
  const existing = indexBody([
    { mediaType: oci, digest: d('1'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { mediaType: oci, digest: d('2'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { mediaType: oci, digest: d('3'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    {
      mediaType: oci,
      digest: d('4'),
      size: 1,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
    },
    { mediaType: oci, digest: d('5'), size: 1, platform: { os: 'windows', architecture: 'amd64' } },
  ]);
  const merged = mergedEntries([{ mediaType: oci, digest: d('9'), size: 2, platform: { os: 'linux', architecture: 'armv7l' } }], {
    mediaType: 'application/vnd.oci.image.index.v1+json',
    body: existing,
    digest: d('e'),
  });
  t.same(
    merged.map((m) => `${m.platform!.os}/${m.platform!.architecture}${m.platform!.variant ? `/${m.platform!.variant}` : ''} ${m.digest.slice(7, 8)}`),
    ['linux/arm/v7 9', 'linux/arm/v6 1', 'linux/amd64 3', 'windows/amd64 5'],
    'v7 replaced (armv7l is arm/v7), v6 kept, os kept apart, attestations of replaced images dropped',
  );
});

t.test('merge with a plain manifest of another platform makes an index; of the same platform replaces it', async (t) => {
  const ours = [{ mediaType: oci, digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'arm64' } }];
  const plain = { mediaType: oci, body: Buffer.from('{}'), digest: d('b'), platform: { os: 'linux', architecture: 'amd64' } };
  t.same(
    mergedEntries(ours, plain).map((e) => e.digest),
    [d('a'), d('b')],
  );
  t.same(
    mergedEntries(ours, { ...plain, platform: { os: 'linux', architecture: 'aarch64' } }).map((e) => e.digest),
    [d('a')],
  );
  t.same(
    mergedEntries(ours, { ...plain, platform: undefined }).map((e) => e.digest),
    [d('a')],
    'an unknown platform (an artifact) is replaced',
  );
});

t.test('Docker children make a Docker manifest list, anything else an OCI index', async (t) => {
  t.equal(indexMediaType([{ mediaType: docker, digest: d('1'), size: 1 }]), 'application/vnd.docker.distribution.manifest.list.v2+json');
  t.equal(
    indexMediaType([
      { mediaType: docker, digest: d('1'), size: 1 },
      { mediaType: oci, digest: d('2'), size: 1 },
    ]),
    'application/vnd.oci.image.index.v1+json',
  );
  const body = JSON.parse(indexBody([{ mediaType: oci, digest: d('1'), size: 1 }]).toString()) as { schemaVersion: number; mediaType: string };
  t.equal(body.schemaVersion, 2);
  t.equal(body.mediaType, 'application/vnd.oci.image.index.v1+json');
});
