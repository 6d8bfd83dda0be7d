// One upstream registry as the cache talks to it: a client session (client/: the Basic and Bearer
// handshake, the configured credentials), deadlines so a hung upstream cannot hold a pull (a
// connection silent for the upstream's timeout is cut; a question, retries included, gets half as
// long again), and the upstream's state. When a request cannot reach it the upstream is `down`: one log line, then for
// DOWN_RETRY_MS requests do not try it at all (they are served what is cached at once); the first
// request after that tries again, and its success is the one line saying it is back.
import { RegistrySession } from '../client/session.js';
import { getBlob } from '../client/blobs.js';
import { getManifest, headManifest, type FetchedManifest, type ManifestHead } from '../client/manifests.js';
import { NetworkError, RegistryHttpError } from '../client/errors.js';
import { repositoryScope } from '../client/auth.js';
import { discard, type HttpResponse } from '../client/transport.js';
import type { UpstreamConfig } from './config.js';

/** DOWN_RETRY_MS is how long an upstream found down is not asked again. */
export const DOWN_RETRY_MS = 5_000;

/** UpstreamState is what /readyz tells of an upstream. */
export interface UpstreamState {
  host: string;
  url: string;
  /** `unknown` until the first request went to it */
  state: 'unknown' | 'up' | 'down';
  /** since when (ISO-8601), and why it is down */
  since?: string;
  reason?: string;
}

/** UpstreamUnreachable is an upstream that could not be asked (down, timed out, refused). */
export class UpstreamUnreachable extends Error {
  constructor(
    readonly host: string,
    reason: string,
  ) {
    super(`upstream ${host} is unreachable (${reason})`);
    this.name = 'UpstreamUnreachable';
  }
}

/** isUnreachable tells whether an error means the upstream could not answer (not that it refused). */
function isUnreachable(err: unknown): boolean {
  if (err instanceof UpstreamUnreachable || err instanceof NetworkError) return true;
  return err instanceof RegistryHttpError && (err.status >= 500 || err.status === 429);
}

function reasonOf(err: unknown): string {
  if (err instanceof NetworkError) return err.errno ?? 'network error';
  if (err instanceof RegistryHttpError) return `HTTP ${err.status}`;
  if (err instanceof UpstreamUnreachable) return err.message;
  return (err as Error)?.message?.slice(0, 200) ?? String(err);
}

/** Upstream is one configured upstream registry. */
export class Upstream {
  private readonly session: RegistrySession;
  private current: UpstreamState;
  private retryAt = 0;
  /** how long one question (HEAD, GET of a manifest, a blob's headers) may take, retries included */
  private readonly deadlineMs: number;

  constructor(
    readonly config: UpstreamConfig,
    private readonly log: (line: string) => void,
  ) {
    this.session = new RegistrySession({
      registry: config.url.origin,
      // The credential is the one for the host clients name (docker.io), not the API's (registry-1.docker.io).
      credentials: () => config.credentials(),
      timeoutMs: config.timeoutMs,
      maxSockets: 32,
    });
    this.current = { host: config.host, url: config.url.origin, state: 'unknown' };
    this.deadlineMs = Math.round(config.timeoutMs * 1.5);
  }

  get host(): string {
    return this.config.host;
  }

  /** state is what /readyz shows. */
  state(): UpstreamState {
    return { ...this.current };
  }

  /** isDown tells whether the upstream is known down and not to be asked yet. */
  isDown(): boolean {
    return this.current.state === 'down' && Date.now() < this.retryAt;
  }

  private up(): void {
    if (this.current.state === 'down') this.log(`cache: upstream ${this.host} is reachable again`);
    if (this.current.state !== 'up') this.current = { host: this.host, url: this.current.url, state: 'up', since: new Date().toISOString() };
  }

  private down(err: unknown): void {
    this.retryAt = Date.now() + DOWN_RETRY_MS;
    if (this.current.state === 'down') return;
    const reason = reasonOf(err);
    this.current = { host: this.host, url: this.current.url, state: 'down', since: new Date().toISOString(), reason };
    this.log(`cache: upstream ${this.host} (${this.current.url}) is unreachable (${reason}); serving what is cached`);
  }

  /** ask runs one exchange with the upstream within `deadlineMs` (then UpstreamUnreachable), keeping the state. */
  private async ask<T>(fn: () => Promise<T>, deadlineMs: number): Promise<T> {
    if (this.isDown()) throw new UpstreamUnreachable(this.host, this.current.reason ?? 'down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UpstreamUnreachable(this.host, `no answer within ${deadlineMs / 1000} s`)), deadlineMs);
    });
    const work = fn();
    work.catch(() => {});
    try {
      const value = await Promise.race([work, deadline]);
      this.up();
      return value;
    } catch (err) {
      if (isUnreachable(err)) this.down(err);
      else this.up();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** headManifest asks what a tag or digest is upstream (undefined: the upstream does not know it). */
  headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    return this.ask(() => headManifest(this.session, repository, reference), this.deadlineMs);
  }

  /** getManifest fetches a manifest (undefined: the upstream does not know it); a digest reference is verified. */
  getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    return this.ask(() => getManifest(this.session, repository, reference), this.deadlineMs);
  }

  /** headBlob tells a blob's size upstream, undefined when the upstream does not have it. */
  headBlob(repository: string, digest: string): Promise<number | undefined> {
    return this.ask(async () => {
      const res = await this.session.request({ method: 'HEAD', path: `/v2/${repository}/blobs/${digest}` }, [repositoryScope(repository, 'pull')]);
      await discard(res);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw new RegistryHttpError({ status: res.status, method: 'HEAD', url: res.url });
      return Number(res.headers['content-length'] ?? 0);
    }, this.deadlineMs);
  }

  /**
   * openBlob starts a blob's GET and resolves once the answer's headers are in (undefined on 404);
   * the body is the caller's to read. A body that stalls is cut after the upstream's timeout.
   */
  openBlob(repository: string, digest: string): Promise<HttpResponse | undefined> {
    return this.ask(async () => {
      try {
        return await getBlob(this.session, repository, digest);
      } catch (err) {
        if (err instanceof RegistryHttpError && err.status === 404) return undefined;
        throw err;
      }
    }, this.deadlineMs);
  }

  /** failed tells the state about an error met while reading a body (a cut connection). */
  failed(err: unknown): void {
    if (isUnreachable(err) || (err as NodeJS.ErrnoException)?.code === 'ETIMEDOUT' || (err as NodeJS.ErrnoException)?.code === 'ECONNRESET') this.down(err);
  }

  /** close drops pooled connections. */
  close(): void {
    this.session.close();
  }
}
