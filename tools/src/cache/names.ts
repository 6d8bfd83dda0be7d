// Which repository of ours a request names when it is for a mirrored upstream:
//   - under an upstream's prefix: `docker.io/library/alpine`, `localhost-5001/multi/app`;
//   - containerd, sent here as a mirror, adds `?ns=<host>` and names the upstream's repository:
//     `library/alpine?ns=docker.io` is `docker.io/library/alpine`; with the hosts.toml the target
//     packages ship (`override_path` to /v2/<prefix>) the name already has the prefix:
//     `docker.io/library/alpine?ns=docker.io` is the same repository, not prefixed twice;
//   - docker's `registry-mirrors` (Docker Hub only) names `library/alpine` with no prefix: when
//     docker.io is mirrored, a name that is not a repository here is looked up as `docker.io/<name>`
//     for what docker's pull asks (manifest GET/HEAD, blob GET, tags), told by docker's User-Agent.
//     Only docker's: a client pushing a new repository (ours reads the tag it is about to move, to
//     keep other platforms) must get a local 404, never Docker Hub's image of the same name.
// For Docker Hub a one-component name gets `library/`, as docker does (`docker.io/alpine`).
import { assertRepositoryName } from '../oci/names.js';

/** UpstreamName is what names need of an upstream. */
export interface UpstreamName {
  host: string;
  prefix: string;
}

/** DOCKER_HUB names the hosts Docker Hub is known by (containerd sends `docker.io`). */
const DOCKER_HUB = new Set(['docker.io', 'registry-1.docker.io', 'index.docker.io']);

function isDockerHub(u: UpstreamName): boolean {
  return DOCKER_HUB.has(u.host);
}

/** withLibrary adds Docker Hub's `library/` to a one-component name under its prefix. */
function withLibrary(u: UpstreamName, name: string): string {
  if (!isDockerHub(u)) return name;
  const rest = name.slice(u.prefix.length + 1);
  return rest.includes('/') ? name : `${u.prefix}/library/${rest}`;
}

/** upstreamOfName finds the upstream whose prefix `name` is under. */
export function upstreamOfName<U extends UpstreamName>(name: string, upstreams: readonly U[]): U | undefined {
  return upstreams.find((u) => name.startsWith(`${u.prefix}/`));
}

/**
 * repositoryFor maps a requested name to the repository it means (checked as a name again).
 * `existsLocally` is asked only for docker's unprefixed names, and only when `pull` (isPullRequest).
 */
export async function repositoryFor(
  name: string,
  o: { ns: string | null; upstreams: readonly UpstreamName[]; pull: boolean; existsLocally: (name: string) => Promise<boolean> },
): Promise<string> {
  let out = name;
  const ns = o.ns?.trim().toLowerCase();
  const byNs = ns ? o.upstreams.find((u) => u.host === ns || (isDockerHub(u) && DOCKER_HUB.has(ns))) : undefined;
  const prefixed = upstreamOfName(name, o.upstreams);
  const hub = o.upstreams.find(isDockerHub);
  if (byNs) out = withLibrary(byNs, name.startsWith(`${byNs.prefix}/`) ? name : `${byNs.prefix}/${name}`);
  else if (prefixed) out = withLibrary(prefixed, name);
  else if (hub && o.pull && !(await o.existsLocally(name))) out = withLibrary(hub, `${hub.prefix}/${name}`);
  if (out !== name) assertRepositoryName(out);
  return out;
}

/** isPullRequest tells whether a request is one a pull through docker's registry-mirrors makes. */
export function isPullRequest(kind: string, method: string): boolean {
  if (kind === 'manifest') return method === 'GET' || method === 'HEAD';
  return (kind === 'blob' || kind === 'tags') && method === 'GET';
}

/** isDockerEngine tells whether a User-Agent is docker's engine (`docker/24.0.7 go/go1.20.10 ...`), the one client that uses registry-mirrors. */
export function isDockerEngine(userAgent: string | undefined): boolean {
  return userAgent !== undefined && /^docker\/\d/.test(userAgent);
}
