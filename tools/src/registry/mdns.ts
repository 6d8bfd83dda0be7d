// mDNS: announce the registry as `<name>.local` with a `_oci-registry._tcp` service on the local
// network, through @homebridge/ciao, which probes the name and resolves conflicts (RFC 6762 §8-9) by
// renaming. Off by default; goodbye packets go out on stop. The library is loaded only when mDNS is
// on: it installs source-map support and opens multicast sockets as it loads.
import { networkInterfaces } from 'node:os';

/** DEFAULT_MDNS_NAME is the host name announced when none is given. */
export const DEFAULT_MDNS_NAME = 'registry.local';

/** MDNS_SERVICE_TYPE is the DNS-SD service type (RFC 6763 §7: at most 15 characters). */
export const MDNS_SERVICE_TYPE = 'oci-registry';

/** MdnsOptions configure the announcement. */
export interface MdnsOptions {
  /** the host name, `registry.local` or `registry` (`.local` is the only domain mDNS uses) */
  name: string;
  /** network interfaces (names or addresses) to announce on; all by default */
  interfaces?: string[];
}

/** MdnsAnnouncement is a running announcement. */
export interface MdnsAnnouncement {
  /** the host name in use now (`registry-2.local` after a conflict) */
  hostname(): string;
  /** stop sends goodbyes and closes the sockets */
  stop(): Promise<void>;
}

/** mdnsHostLabel checks and strips a name to the label ciao wants (no `.local`). */
export function mdnsHostLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/\.local$/, '');
  if (!/^(?!-)[a-z0-9-]{1,63}(?<!-)$/.test(label)) {
    throw new Error(`invalid mDNS name ${JSON.stringify(name)}: use one label such as registry or registry.local`);
  }
  return label;
}

/** mdnsSan is the DNS subject alternative name the server certificate needs for the mDNS name (`DNS:registry.local`). */
export function mdnsSan(name: string): string {
  return `DNS:${mdnsHostLabel(name)}.local`;
}

/**
 * withMdnsSan adds the mDNS name to a CONTAINER_REGISTRY_CERT_SAN value (the PKI reads extra names
 * from it), leaving the value as it was when the name is already there.
 */
export function withMdnsSan(certSan: string | undefined, name: string): string {
  const san = mdnsSan(name);
  const items = (certSan ?? '').split(/[,\s]+/).filter(Boolean);
  return items.some((i) => i.toLowerCase() === san.toLowerCase()) ? items.join(',') : [...items, san].join(',');
}

/**
 * defaultInterfaces lists this machine's non-loopback interfaces. ciao finds interfaces by parsing
 * `ip -o link show`, which names veth and VLAN links `va@if2` or `eth0.10@eth0`; those names match
 * nothing in os.networkInterfaces(), so ciao would silently skip them. Naming them here avoids that;
 * an interface that appears later needs a restart (ciao still follows address changes).
 */
export function defaultInterfaces(): string[] {
  return Object.entries(networkInterfaces())
    .filter(([, infos]) => infos?.some((i) => !i.internal))
    .map(([name]) => name);
}

/** announceMdns starts the announcement for a server on `port`; resolves once ciao has probed the name. */
export async function announceMdns(o: MdnsOptions & { port: number; tls: boolean; log?: (line: string) => void }): Promise<MdnsAnnouncement> {
  const label = mdnsHostLabel(o.name);
  const ciao = await import('@homebridge/ciao');
  const getResponder = ciao.getResponder ?? (ciao as unknown as { default: typeof ciao }).default.getResponder;
  const responder = getResponder({ interface: o.interfaces?.length ? o.interfaces : defaultInterfaces() });
  const service = responder.createService({
    name: label,
    type: MDNS_SERVICE_TYPE,
    port: o.port,
    hostname: label,
    txt: { path: '/v2/', scheme: o.tls ? 'https' : 'http', ui: '/ui/' },
  });
  const log = o.log ?? (() => {});
  service.on('name-change', (n: string) => log(`mDNS: service name taken on the network; now ${n}`));
  service.on('hostname-change', (n: string) => log(`mDNS: host name taken on the network; now ${n} (the server certificate names ${label}.local)`));
  await service.advertise();
  return {
    hostname: () => service.getHostname().replace(/\.$/, ''),
    async stop() {
      await service.end();
      await service.destroy();
      await responder.shutdown();
    },
  };
}
