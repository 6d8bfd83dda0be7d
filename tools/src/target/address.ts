// Registry addresses as the build host and as a target see them, and the one QEMU rewrite.
// Inside QEMU's user network (slirp) the build host's loopback is 10.0.2.2; behind runqemu's tap
// device the host is 192.168.7.1. A registry the host reaches as localhost/127.0.0.1/::1 is
// therefore a different address on the target. Every target file goes through targetRegistry.

/** TargetNetwork names how a target reaches the build host: QEMU user networking or runqemu's tap. */
export type TargetNetwork = 'slirp' | 'tap';

/** QEMU_HOST_ADDRESS is the build host's address as each QEMU network shows it to the guest. */
export const QEMU_HOST_ADDRESS: Readonly<Record<TargetNetwork, string>> = { slirp: '10.0.2.2', tap: '192.168.7.1' };

/** LOOPBACK_HOSTS are the host names rewritten for a target; exact matches only. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** RegistryAddress is `[scheme://]host[:port][/path]` taken apart. */
export interface RegistryAddress {
  /** `http` or `https` when the text named one */
  scheme: string | undefined;
  /** the host, IPv6 without brackets */
  host: string;
  port: number | undefined;
  /** a namespace path after the host, without the leading slash ('' when none) */
  path: string;
}

/** AddressError is a registry address or target host that cannot be used. */
export class AddressError extends Error {
  readonly code = 'bad-address';
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+))(?::(\d{1,5}))?$/;

/** parseHostPort reads `host`, `host:port`, `[v6]:port` or a bare IPv6 address. */
export function parseHostPort(text: string): { host: string; port: number | undefined } {
  // A bare IPv6 address has more than one colon and no brackets: it has no port.
  if (!text.startsWith('[') && (text.match(/:/g) ?? []).length > 1) {
    if (!/^[0-9A-Fa-f:.]+$/.test(text)) throw new AddressError(`invalid host ${JSON.stringify(text)}`);
    return { host: text.toLowerCase(), port: undefined };
  }
  const m = HOST_PORT.exec(text);
  if (!m) throw new AddressError(`invalid host ${JSON.stringify(text)}: expected host, host:port or [ipv6]:port`);
  const host = (m[1] ?? m[2])!;
  let port: number | undefined;
  if (m[3] !== undefined) {
    port = Number(m[3]);
    if (port < 1 || port > 65535) throw new AddressError(`invalid port in ${JSON.stringify(text)}: must be 1-65535`);
  }
  return { host, port };
}

/** parseRegistryAddress reads CONTAINER_REGISTRY_URL: `[http(s)://]host[:port][/namespace]`. */
export function parseRegistryAddress(text: string): RegistryAddress {
  const trimmed = text.trim();
  if (!trimmed) throw new AddressError('the registry URL is empty');
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(trimmed);
  let scheme: string | undefined;
  let rest = trimmed;
  if (schemeMatch) {
    scheme = schemeMatch[1]!.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') throw new AddressError(`unsupported scheme ${JSON.stringify(scheme)} in ${JSON.stringify(text)}: use http or https`);
    rest = trimmed.slice(schemeMatch[0].length);
  }
  const slash = rest.indexOf('/');
  const hostPart = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1).replace(/\/+$/, '') : '';
  const { host, port } = parseHostPort(hostPart);
  return { scheme, host, port, path };
}

/** formatHostPort writes a host and optional port, bracketing IPv6 addresses. */
export function formatHostPort(host: string, port: number | undefined): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/** isLoopbackHost tells whether `host` is exactly localhost, 127.0.0.1 or ::1 (localhost in any case). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return LOOPBACK_HOSTS.includes(h);
}

/** TargetView says how a target reaches the build host. */
export interface TargetView {
  /** slirp (10.0.2.2, the default) or tap (192.168.7.1) */
  network?: TargetNetwork;
  /** CONTAINER_REGISTRY_TARGET_HOST: `host` or `host:port`; replaces the host whatever it was */
  targetHost?: string;
}

/**
 * targetRegistry is the QEMU rewrite, the one place it happens: the registry `host[:port]` as a
 * target sees it. A loopback host (exactly localhost, 127.0.0.1 or ::1) becomes 10.0.2.2 (slirp)
 * or 192.168.7.1 (tap); any other host is kept (`localhost.example` stays as it is).
 * `targetHost` overrides the host, and its port, when it names one, overrides the port.
 */
export function targetRegistry(registry: string, view: TargetView = {}): string {
  const { host, port } = parseHostPort(registry);
  if (view.targetHost) {
    const override = parseHostPort(view.targetHost.trim());
    return formatHostPort(override.host, override.port ?? port);
  }
  if (isLoopbackHost(host)) return formatHostPort(QEMU_HOST_ADDRESS[view.network ?? 'slirp'], port);
  return formatHostPort(host, port);
}

/** parseTargetNetwork reads CONTAINER_REGISTRY_TARGET_NETWORK (`slirp`, `tap`; empty means slirp). */
export function parseTargetNetwork(text: string | undefined): TargetNetwork {
  const v = (text ?? '').trim().toLowerCase();
  if (v === '' || v === 'slirp' || v === 'user') return 'slirp';
  if (v === 'tap') return 'tap';
  throw new AddressError(`invalid target network ${JSON.stringify(text)}: use slirp (10.0.2.2) or tap (192.168.7.1)`);
}

/** isIpAddress tells whether `host` is an IPv4 or IPv6 literal. */
export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || (host.includes(':') && /^[0-9A-Fa-f:.]+$/.test(host));
}

/**
 * certSanForTargets adds to CONTAINER_REGISTRY_CERT_SAN (`DNS:x,IP:y`) the names targets use for
 * the build host (10.0.2.2, 192.168.7.1, and TARGET_HOST's host), so the server certificate
 * verifies from a QEMU guest too. Entries already present are not repeated.
 */
export function certSanForTargets(san: string | undefined, targetHost: string | undefined): string {
  const entries = (san ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  const add = (entry: string) => {
    if (!entries.some((e) => e.toLowerCase() === entry.toLowerCase())) entries.push(entry);
  };
  for (const ip of Object.values(QEMU_HOST_ADDRESS)) add(`IP:${ip}`);
  if (targetHost?.trim()) {
    const { host } = parseHostPort(targetHost.trim());
    add(isIpAddress(host) ? `IP:${host}` : `DNS:${host}`);
  }
  return entries.join(',');
}
