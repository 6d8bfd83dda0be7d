// The names the server certificate must carry: every way a client on this machine, in a QEMU guest
// or on the lab network reaches the registry. One list, built here, so init, renew and show agree.
import { isIP } from 'node:net';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { HelperError } from '../errors/helper-error.js';
import { parseRegistryAddress } from '../oci/reference.js';
import { SettingError } from '../settings/values.js';

/** SubjectAltName is one DNS name or IP address of the server certificate. */
export interface SubjectAltName {
  type: 'dns' | 'ip';
  value: string;
}

/**
 * DEFAULT_SANS are always present: the loopback names, QEMU's user-network gateway (10.0.2.2: how
 * a guest reaches the host's loopback) and runqemu's tap address (192.168.7.1).
 */
export const DEFAULT_SANS: readonly SubjectAltName[] = [
  { type: 'dns', value: 'localhost' },
  { type: 'ip', value: '127.0.0.1' },
  { type: 'ip', value: '::1' },
  { type: 'ip', value: '10.0.2.2' },
  { type: 'ip', value: '192.168.7.1' },
];

// RFC 1123 labels; a leading `*.` wildcard is allowed in DNS SANs.
const DNS_NAME = /^(\*\.)?(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/i;

/** normalizeIp writes an address the one way (IPv6 compressed, lower case); undefined if not an IP. */
export function normalizeIp(text: string): string | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return undefined;
}

/** sanFor turns a host (name or address) into a SAN; undefined when it is neither. */
export function sanFor(host: string): SubjectAltName | undefined {
  const ip = normalizeIp(host);
  if (ip) return { type: 'ip', value: ip };
  const name = host.toLowerCase().replace(/\.$/, '');
  return DNS_NAME.test(name) && name.length <= 253 ? { type: 'dns', value: name } : undefined;
}

/** formatSan writes a SAN as `DNS:name` or `IP:address` (the CONTAINER_REGISTRY_CERT_SAN form). */
export function formatSan(san: SubjectAltName): string {
  return `${san.type === 'dns' ? 'DNS' : 'IP'}:${san.value}`;
}

/** parseSanList reads CONTAINER_REGISTRY_CERT_SAN: `DNS:x,IP:y`, comma or space separated. */
export function parseSanList(text: string): SubjectAltName[] {
  const out: SubjectAltName[] = [];
  for (const item of text.split(/[,\s]+/).filter(Boolean)) {
    const m = /^(DNS|IP):(.+)$/i.exec(item);
    const bad = (why: string) => new HelperError('usage', `invalid CONTAINER_REGISTRY_CERT_SAN entry ${JSON.stringify(item)}: ${why}`);
    if (!m) throw bad('write DNS:name or IP:address');
    const kind = m[1]!.toUpperCase();
    const san = sanFor(m[2]!);
    if (kind === 'IP' && san?.type !== 'ip') throw bad('not an IP address');
    if (kind === 'DNS' && san?.type !== 'dns') throw bad('not a DNS name');
    out.push(san!);
  }
  return out;
}

/** SanInputs are where wanted SANs come from besides the defaults. */
export interface SanInputs {
  /** the machine's host name; os.hostname() when undefined */
  hostname?: string;
  /** CONTAINER_REGISTRY_URL */
  registryUrl?: string;
  /** CONTAINER_REGISTRY_CERT_SAN */
  extra?: string;
}

/** wantedSans lists the SANs the server certificate must carry, without duplicates, in a stable order. */
export function wantedSans(inputs: SanInputs = {}): SubjectAltName[] {
  const list: SubjectAltName[] = [...DEFAULT_SANS];
  const host = sanFor(inputs.hostname ?? osHostname());
  if (host) list.push(host);
  if (inputs.registryUrl?.trim()) {
    let urlHost: string;
    try {
      urlHost = parseRegistryAddress(inputs.registryUrl).host;
    } catch (err) {
      throw new SettingError('CONTAINER_REGISTRY_URL', `CONTAINER_REGISTRY_URL: ${(err as Error).message}`);
    }
    const san = sanFor(urlHost);
    if (!san) throw new HelperError('usage', `CONTAINER_REGISTRY_URL names a host that is neither a DNS name nor an IP address: ${JSON.stringify(urlHost)}`);
    list.push(san);
  }
  if (inputs.extra) list.push(...parseSanList(inputs.extra));
  return uniqueSans(list);
}

/** uniqueSans drops repeated entries, keeping the first. */
export function uniqueSans(list: readonly SubjectAltName[]): SubjectAltName[] {
  const seen = new Set<string>();
  return list.filter((s) => {
    const k = formatSan(s);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** missingSans lists the wanted SANs a certificate lacks. */
export function missingSans(wanted: readonly SubjectAltName[], present: readonly SubjectAltName[]): SubjectAltName[] {
  const have = new Set(present.map(formatSan));
  return wanted.filter((s) => !have.has(formatSan(s)));
}

/** WILDCARD_HOSTS are listen addresses that take connections on every interface. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);

function isLoopback(host: string): boolean {
  const ip = normalizeIp(host);
  if (!ip) return host.toLowerCase().replace(/\.$/, '') === 'localhost';
  return ip === '::1' || /^(::ffff:)?127\./.test(ip);
}

/** ListenNames are the names a listen address adds: to the server certificate, and for URLs clients on other machines use. */
export interface ListenNames {
  /** SANs the server certificate must carry as well (besides DEFAULT_SANS and the settings) */
  sans: SubjectAltName[];
  /** hosts for URLs, the host name first; empty when the listen address itself is the one to print (loopback) */
  hosts: string[];
}

/**
 * listenNames tells what listening on `host` adds. Loopback adds nothing. A wildcard (0.0.0.0, ::)
 * adds the host name and every address of the machine's non-internal interfaces to the certificate
 * (a client on the network may use any of them), and gives URLs of the host name and of each
 * address the socket takes (IPv4 only for 0.0.0.0; no IPv6 link-local address, which needs a zone
 * in a URL). Any other address or name adds itself. The interfaces are read at each start, and the
 * PKI re-issues the certificate when one is missing from it.
 */
export function listenNames(host: string, o: { hostname?: string; interfaces?: ReturnType<typeof networkInterfaces> } = {}): ListenNames {
  if (isLoopback(host)) return { sans: [], hosts: [] };
  const ip = normalizeIp(host);
  if (!(ip && WILDCARD_HOSTS.has(ip))) {
    const san = sanFor(host);
    return { sans: san ? [san] : [], hosts: [san?.value ?? host] };
  }
  const name = sanFor(o.hostname ?? osHostname());
  const own = name?.type === 'dns' && name.value !== 'localhost' ? name : undefined;
  const addresses: string[] = [];
  for (const a of Object.values(o.interfaces ?? networkInterfaces()).flat()) {
    const address = a && !a.internal ? normalizeIp(a.address) : undefined;
    if (address && !isLoopback(address)) addresses.push(address);
  }
  const sans = uniqueSans([...(own ? [own] : []), ...addresses.map((value): SubjectAltName => ({ type: 'ip', value }))]);
  const reachable = addresses.filter((a) => (isIP(a) === 4 || ip === '::') && !/^fe[89ab]/i.test(a));
  const hosts = [...new Set([...(own ? [own.value] : []), ...reachable])];
  return { sans, hosts };
}
