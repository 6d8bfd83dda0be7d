// What the server tells listeners while it works: manifest pushes, pulls and deletes (the events
// CNCF distribution sends to its notification endpoints), blob transfers, auth failures and one
// record per finished request. Handlers emit without knowing who listens; metrics and webhooks
// subscribe in the composition root.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** ManifestAction is what happened to a manifest, in distribution's words. */
export type ManifestAction = 'push' | 'pull' | 'delete';

/**
 * ManifestEvent is one event in the envelope distribution sends to notification endpoints
 * (https://distribution.github.io/distribution/about/notifications/), so existing receivers work.
 */
export interface ManifestEvent {
  id: string;
  timestamp: string;
  action: ManifestAction;
  target: {
    mediaType: string;
    digest: string;
    repository: string;
    tag?: string;
    size: number;
    url: string;
  };
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  actor: { name?: string };
  /** the sending instance; the notifier adds it */
  source?: { addr: string; instanceID: string };
}

/** RequestRecord is a finished request, for the request metrics. */
export interface RequestRecord {
  method: string;
  /** the route kind (`manifest`, `blob`, `ui`, ...), never the raw path: label values stay few */
  route: string;
  status: number;
  seconds: number;
}

/** AuthFailure is a request the access controller turned away. */
export interface AuthFailure {
  status: number;
  /** `missing` credentials, `bad` credentials, `denied` (known user without the right) or `throttled` */
  reason: 'missing' | 'bad' | 'denied' | 'throttled';
}

/** RegistryEventMap names each event and its payload. */
export interface RegistryEventMap {
  manifest: [ManifestEvent];
  request: [RequestRecord];
  blobUpload: [{ repository: string; bytes: number }];
  blobDownload: [{ repository: string; bytes: number }];
  authFailure: [AuthFailure];
}

/** RegistryEvents is the server's typed event bus; a listener that throws never breaks a request. */
export class RegistryEvents extends EventEmitter<RegistryEventMap> {
  /** publish emits, reporting (not propagating) a listener's exception: a push never fails for a listener. */
  publish<K extends keyof RegistryEventMap>(name: K, ...args: RegistryEventMap[K]): void {
    try {
      (this.emit as (n: K, ...a: RegistryEventMap[K]) => boolean)(name, ...args);
    } catch (err) {
      process.stderr.write(`container-registry: ${String(name)} listener failed: ${(err as Error)?.message ?? String(err)}\n`);
    }
  }
}

/** RequestInfo is what an event records of the request that caused it (never its credentials). */
export interface RequestInfo {
  id: string;
  addr: string;
  host: string;
  method: string;
  useragent: string;
  scheme: 'http' | 'https';
}

/** requestInfo reads a request's identity for events; the id is new for every request. */
export function requestInfo(req: IncomingMessage): RequestInfo {
  const socket = req.socket as IncomingMessage['socket'] & { encrypted?: boolean };
  const port = socket.remotePort;
  return {
    id: randomUUID(),
    addr: `${socket.remoteAddress ?? ''}${port !== undefined ? `:${port}` : ''}`,
    host: req.headers.host ?? '',
    method: req.method ?? '',
    useragent: req.headers['user-agent'] ?? '',
    scheme: socket.encrypted ? 'https' : 'http',
  };
}

/** manifestEvent builds one distribution-style event; `tag` is left out when the reference was a digest. */
export function manifestEvent(
  action: ManifestAction,
  target: { repository: string; digest: string; mediaType: string; size: number; tag?: string | undefined },
  request: RequestInfo,
  user: string | undefined,
): ManifestEvent {
  const { scheme, ...wire } = request;
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    action,
    target: {
      mediaType: target.mediaType,
      digest: target.digest,
      repository: target.repository,
      ...(target.tag !== undefined ? { tag: target.tag } : {}),
      size: target.size,
      url: `${scheme}://${request.host}/v2/${target.repository}/manifests/${target.digest}`,
    },
    request: wire,
    actor: user !== undefined ? { name: user } : {},
  };
}
