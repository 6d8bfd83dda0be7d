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
 * dockerDaemonJson is daemon.json's content, or undefined when there is nothing to say (a secure
 * registry needs only its CA in certs.d, and an empty daemon.json would shadow another package's).
 */
export function dockerDaemonJson(s: TargetSettings): string | undefined {
  const insecure = dockerInsecureRegistries(s);
  if (insecure.length === 0) return undefined;
  return `${JSON.stringify({ 'insecure-registries': insecure }, null, 2)}\n`;
}
