// Registry addresses as the build host and as a target see them, and the one QEMU rewrite.
// Inside QEMU's user network (slirp) the build host's loopback is 10.0.2.2; behind runqemu's tap
// device the host is 192.168.7.1. A registry the host reaches as localhost/127.0.0.1/::1 is
// therefore a different address on the target. Every target file goes through targetRegistry.
import { formatHostPort, parseHostPort } from '../oci/reference.js';
import { SETTINGS } from '../settings/table.js';
import { parseChoice, SettingError } from '../settings/values.js';

/** TargetNetwork names how a target reaches the build host: QEMU user networking or runqemu's tap. */
export type TargetNetwork = 'slirp' | 'tap';

/** QEMU_HOST_ADDRESS is the build host's address as each QEMU network shows it to the guest. */
export const QEMU_HOST_ADDRESS: Readonly<Record<TargetNetwork, string>> = { slirp: '10.0.2.2', tap: '192.168.7.1' };

/** REWRITTEN_HOSTS are the hosts the QEMU rewrite replaces; exact matches only (localhost in any case). */
export const REWRITTEN_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

// The address parser is the helper's one (oci/reference.ts); AddressError is re-exported for the
// modules that catch it here.
export { AddressError } from '../oci/reference.js';

/**
 * isTargetRewrittenHost tells whether the QEMU rewrite replaces `host`: exactly localhost,
 * 127.0.0.1 or ::1 (brackets allowed). Narrower than oci/reference.ts isLoopbackHost on purpose:
 * `127.0.0.2` or `localhost.example` are kept as they are on a target.
 */
export function isTargetRewrittenHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return REWRITTEN_HOSTS.includes(h);
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
  if (isTargetRewrittenHost(host)) return formatHostPort(QEMU_HOST_ADDRESS[view.network ?? 'slirp'], port);
  return formatHostPort(host, port);
}

/** parseTargetNetwork reads CONTAINER_REGISTRY_TARGET_NETWORK (`slirp` or its other name `user`, `tap`; empty means slirp). */
export function parseTargetNetwork(text: string | undefined): TargetNetwork {
  if (text === undefined || text.trim() === '') return 'slirp';
  const name = 'CONTAINER_REGISTRY_TARGET_NETWORK';
  try {
    return parseChoice(name, text, SETTINGS[name].choices) === 'tap' ? 'tap' : 'slirp';
  } catch {
    // The table's check, said with what each choice means.
    throw new SettingError(name, `${name} must be slirp (10.0.2.2; "user" is the same) or tap (192.168.7.1), not ${JSON.stringify(text)}`);
  }
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
  const entries = (san ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
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
