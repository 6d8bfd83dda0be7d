// The files each target config package installs: one list per kind, built from the emitters.
import { certsDCaPath, SYSTEM_CA_PATH, type CertsEngine } from './certs.js';
import { CONTAINERS_DROP_IN, containersRegistriesConf } from './containers.js';
import { containerdFiles } from './containerd.js';
import { DOCKER_DAEMON_JSON, dockerDaemonJson } from './docker.js';
import type { TargetSettings } from './settings.js';
import { VDKR_REGISTRY_CONF, vdkrRegistryConf } from './vdkr.js';
import { signatureFiles, type SignatureSettings } from './signatures.js';

/** TARGET_KINDS are the config packages, by the name the CLI takes. */
export const TARGET_KINDS = ['docker', 'containers', 'containerd', 'vdkr', 'ca'] as const;

/** TargetKind is one of TARGET_KINDS. */
export type TargetKind = (typeof TARGET_KINDS)[number];

/** TargetFile is one file of a target's root filesystem. */
export interface TargetFile {
  /** absolute path on the target */
  path: string;
  content: string;
  mode: number;
}

/** MissingCaError says that secure mode needs the CA certificate and none was given. */
export class MissingCaError extends Error {
  readonly code = 'missing-ca';
  constructor(kind: TargetKind) {
    super(`the ${kind} configuration of a secure registry needs its CA certificate (--ca FILE, the storage's pki/ca.crt)`);
    this.name = 'MissingCaError';
  }
}

function caFile(engine: CertsEngine, s: TargetSettings, kind: TargetKind, ca: string | undefined): TargetFile[] {
  if (!s.secure) return [];
  if (ca === undefined) throw new MissingCaError(kind);
  return [{ path: certsDCaPath(engine, s.registry), content: ca, mode: 0o644 }];
}

/** CA_PACKAGE_ENGINES are the engines whose certs.d copy of the CA the CA package carries (as the reference's did). */
const CA_PACKAGE_ENGINES: readonly CertsEngine[] = ['docker', 'containers'];

/** kindNeedsCa tells whether a kind's files include the CA: the CA package always, containerd's beside its hosts.toml in secure mode. */
export function kindNeedsCa(kind: TargetKind, s: TargetSettings): boolean {
  return kind === 'ca' || (kind === 'containerd' && s.secure);
}

/**
 * targetFiles lists the files of one config package; `ca` is the CA's PEM (needed when secure);
 * `signatures`, when given, makes the containers package require signed images of the registry.
 */
export function targetFiles(kind: TargetKind, s: TargetSettings, ca?: string, signatures?: SignatureSettings): TargetFile[] {
  switch (kind) {
    case 'docker': {
      const daemon = dockerDaemonJson(s);
      return daemon === undefined ? [] : [{ path: DOCKER_DAEMON_JSON, content: daemon, mode: 0o644 }];
    }
    case 'containers':
      return [{ path: CONTAINERS_DROP_IN, content: containersRegistriesConf(s), mode: 0o644 }, ...(signatures ? signatureFiles(s, signatures) : [])];
    case 'containerd':
      return [...containerdFiles(s), ...caFile('containerd', s, kind, ca)];
    case 'vdkr':
      return [{ path: VDKR_REGISTRY_CONF, content: vdkrRegistryConf(s), mode: 0o644 }];
    case 'ca':
      // The trust store entry and the certs.d copies docker and podman/skopeo/CRI-O read (also vdkr's
      // docker): one package owns them all, so an image with two engines ships each path once.
      if (ca === undefined) throw new MissingCaError(kind);
      return [
        { path: SYSTEM_CA_PATH, content: ca, mode: 0o644 },
        ...CA_PACKAGE_ENGINES.map((engine) => ({ path: certsDCaPath(engine, s.registry), content: ca, mode: 0o644 })),
      ];
  }
}
