// Peers: real programs the tests run against. A missing peer makes a test skip with the name of
// the Debian package that provides it.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** PEER_PACKAGES maps each peer binary to its Debian package. */
export const PEER_PACKAGES: Record<string, string> = {
  skopeo: 'skopeo',
  'docker-registry': 'docker-registry',
  umoci: 'umoci',
  podman: 'podman',
  buildah: 'buildah',
  ctr: 'containerd',
  containerd: 'containerd',
  openssl: 'openssl',
  curl: 'curl',
  ip: 'iproute2',
  dockerd: 'docker.io',
  script: 'bsdutils',
  radosgw: 'radosgw',
  'radosgw-admin': 'radosgw',
  'ceph-mon': 'ceph-mon',
  'ceph-osd': 'ceph-osd',
  ceph: 'ceph-common',
  'ceph-authtool': 'ceph-common',
  monmaptool: 'ceph-common',
};

/** which finds an executable on PATH. */
export function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** missingPeer returns a skip reason naming the Debian package, or false when every peer is here. */
export function missingPeer(...bins: string[]): string | false {
  const missing = bins.filter((b) => !which(b));
  if (missing.length === 0) return false;
  const pkgs = missing.map((b) => PEER_PACKAGES[b] ?? b);
  return `needs ${missing.join(', ')} (Debian package ${[...new Set(pkgs)].join(', ')}; run .ci/install-peers)`;
}

/** isRoot tells whether the tests run as root (podman/ctr/netns tests need it here). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
