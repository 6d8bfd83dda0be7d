// /etc/docker/daemon.json for a target that pulls from our registry.
// https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file
import type { TargetSettings } from './settings.js';

/** DOCKER_DAEMON_JSON is where dockerd reads its configuration. */
export const DOCKER_DAEMON_JSON = '/etc/docker/daemon.json';

/** dockerInsecureRegistries lists what daemon.json marks insecure: ours when insecure, then DOCKER_REGISTRY_INSECURE. */
export function dockerInsecureRegistries(s: TargetSettings): string[] {
  const list = s.insecure ? [s.registry] : [];
  for (const r of s.extraInsecure) if (!list.includes(r)) list.push(r);
  return list;
}

/**
 * dockerRegistryMirrors is daemon.json's registry-mirrors: our registry when it mirrors docker.io.
 * dockerd mirrors Docker Hub alone, and asks the mirror for unprefixed names (`/v2/library/alpine`),
 * which the registry looks up under its docker.io prefix.
 */
export function dockerRegistryMirrors(s: TargetSettings): string[] {
  return s.mirrors.some((m) => m.host === 'docker.io') ? [`${s.insecure ? 'http' : 'https'}://${s.registry}`] : [];
}

/**
 * dockerDaemonJson is daemon.json's content, or undefined when there is nothing to say (a secure
 * registry needs only its CA in certs.d, and an empty daemon.json would shadow another package's).
 */
export function dockerDaemonJson(s: TargetSettings): string | undefined {
  const insecure = dockerInsecureRegistries(s);
  const mirrors = dockerRegistryMirrors(s);
  if (insecure.length === 0 && mirrors.length === 0) return undefined;
  const doc = { ...(insecure.length ? { 'insecure-registries': insecure } : {}), ...(mirrors.length ? { 'registry-mirrors': mirrors } : {}) };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
