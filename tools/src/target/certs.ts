// Where each engine looks for a registry's CA. One path, one owner: container-registry-ca owns the
// system trust store entry and the docker and containers certs.d copies (the engines' config
// packages depend on it in secure mode), containerd-registry-config the containerd copy beside its
// hosts.toml.

/** CertsEngine is an engine with a per-registry certs.d directory. */
export type CertsEngine = 'docker' | 'containers' | 'containerd';

/** CERTS_D_ROOT is each engine's certs.d directory. */
export const CERTS_D_ROOT: Readonly<Record<CertsEngine, string>> = {
  docker: '/etc/docker/certs.d',
  containers: '/etc/containers/certs.d',
  containerd: '/etc/containerd/certs.d',
};

/** SYSTEM_CA_PATH is our CA in the system trust store input (update-ca-certificates reads it). */
export const SYSTEM_CA_PATH = '/usr/local/share/ca-certificates/container-registry-ca.crt';

/** certsDDir is `<certs.d>/<host:port>` for an engine and a registry as the target sees it. */
export function certsDDir(engine: CertsEngine, registry: string): string {
  if (!registry || registry.includes('/') || registry === '.' || registry === '..') {
    throw new Error(`invalid registry ${JSON.stringify(registry)} for a certs.d directory`);
  }
  return `${CERTS_D_ROOT[engine]}/${registry}`;
}

/** certsDCaPath is the CA file an engine reads for a registry: `<certs.d>/<host:port>/ca.crt`. */
export function certsDCaPath(engine: CertsEngine, registry: string): string {
  return `${certsDDir(engine, registry)}/ca.crt`;
}
