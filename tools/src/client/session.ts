// One registry endpoint: its base URL (https, or http under --insecure), the pooled transport and
// the auth layer. Every other client module sends its requests through RegistrySession.request.
import { Authorizer } from './auth.js';
import type { CredentialSource } from './credentials.js';
import { NetworkError, RegistryHttpError } from './errors.js';
import { HttpTransport, discard, type HttpRequest, type HttpResponse, type TlsSettings } from './transport.js';
import { AddressError, parseRegistryAddress, registryHost } from '../oci/reference.js';

/** SessionOptions names a registry and how to reach it. */
export interface SessionOptions {
  /** `host[:port]`, or `http://host:port` / `https://host:port` to fix the scheme */
  registry: string;
  tls?: TlsSettings;
  credentials?: CredentialSource;
  /** parallel connections (uploads) */
  maxSockets?: number;
  /** a connection silent this long is cut (default 120 s) */
  timeoutMs?: number;
  /**
   * servesHttp says the registry is known to speak plain HTTP (our own, by its instance record):
   * with no scheme given and plain HTTP allowed, http:// is tried first, so no TLS handshake is
   * spent on a server that cannot answer it (a quarter of an unchanged re-push). https:// stays
   * the fallback, for a record that no longer tells the truth.
   */
  servesHttp?: boolean;
  /** the flag that allows plain HTTP here, named by the hint (default: the target's --insecure; import's source: --src-insecure) */
  insecureFlag?: string;
  /**
   * refused makes the error for a registry where nothing listens (every URL tried refused the
   * connection), given the last URL tried: the CLI names how to start the local registry. Absent:
   * the NetworkError, naming that URL.
   */
  refused?: (url: URL, cause: NetworkError) => Error;
}

/** SessionRequest is a request relative to the registry (path `/v2/...`) or to an absolute URL. */
export interface SessionRequest extends Omit<HttpRequest, 'url'> {
  /** a path (`/v2/...`, with query) or an absolute URL such as an upload Location */
  path: string;
}

/** NOT_TLS matches what a TLS handshake with a plain-HTTP server fails with. */
const NOT_TLS = /EPROTO|ECONNRESET|wrong version number|packet length too long|unknown protocol/i;

/** RegistrySession talks to one registry. */
export class RegistrySession {
  readonly host: string;
  readonly transport: HttpTransport;
  private readonly auth: Authorizer;
  private base: Promise<URL> | undefined;
  private readonly scheme: 'http' | 'https' | undefined;

  constructor(readonly options: SessionOptions) {
    const address = parseRegistryAddress(options.registry);
    if (address.path) throw new AddressError(`a registry to talk to has no path: ${JSON.stringify(options.registry)} (a path is a namespace prefix)`);
    this.host = registryHost(address);
    this.scheme = address.scheme;
    this.transport = new HttpTransport(options.tls ?? {}, options.maxSockets ?? 16, options.timeoutMs);
    this.auth = new Authorizer(this.transport, this.host, options.credentials ?? (async () => undefined));
  }

  /** baseUrl pings the registry once and gives `scheme://host/` (step 1 of the auth handshake). */
  baseUrl(): Promise<URL> {
    // A failed ping is not remembered: a registry that was down is asked again (a long-running cache).
    return (this.base ??= this.resolveBase().catch((err: unknown) => {
      this.base = undefined;
      throw err;
    }));
  }

  private async resolveBase(): Promise<URL> {
    const candidates: URL[] = [];
    const plainHttpOk = this.options.tls?.insecure || this.options.tls?.allowHttp;
    if (this.scheme) candidates.push(new URL(`${this.scheme}://${this.host}/`));
    else if (plainHttpOk && this.options.servesHttp) candidates.push(new URL(`http://${this.host}/`), new URL(`https://${this.host}/`));
    else {
      candidates.push(new URL(`https://${this.host}/`));
      // Plain HTTP only when the user said --insecure, as docker's insecure-registries does.
      if (plainHttpOk) candidates.push(new URL(`http://${this.host}/`));
    }
    let lastError: unknown;
    let lastBase = candidates[0]!;
    for (const base of candidates) {
      lastBase = base;
      try {
        const res = await this.transport.send({ method: 'GET', url: new URL('/v2/', base) });
        if (res.status === 401) this.auth.learn(res);
        await discard(res);
        // Plain HTTP tried first on a hint, and the server wants TLS (ours answers 400 there): https next.
        if (res.status === 400 && base.protocol === 'http:' && base !== candidates.at(-1)) continue;
        if (res.status >= 500) throw new RegistryHttpError({ status: res.status, method: 'GET', url: new URL('/v2/', base) });
        return base;
      } catch (err) {
        lastError = err;
        if (!(err instanceof NetworkError)) throw err;
        // Fall back to plain HTTP only when the server does not speak TLS, or nothing listens (then the
        // error names the plain-HTTP URL, the one such a registry serves); a certificate problem stays one.
        if (base.protocol === 'https:' && !NOT_TLS.test(err.message) && err.errno !== 'ECONNREFUSED') throw err;
      }
    }
    if (lastError instanceof NetworkError && lastError.errno === 'ECONNREFUSED' && this.options.refused) {
      // Named by its plain-HTTP URL when one was tried: the one a registry that does not run yet would serve.
      throw this.options.refused(new URL('/v2/', candidates.find((c) => c.protocol === 'http:') ?? lastBase), lastError);
    }
    if (
      lastError instanceof NetworkError &&
      !this.options.tls?.insecure &&
      !this.options.tls?.allowHttp &&
      !this.scheme &&
      /EPROTO|ECONNRESET|wrong version/i.test(lastError.message)
    ) {
      throw new NetworkError(
        'GET',
        `https://${this.host}/v2/`,
        new Error(
          `${this.host} does not speak HTTPS; use ${this.options.insecureFlag ?? '--insecure (or CONTAINER_REGISTRY_INSECURE=1)'} for a plain-HTTP registry`,
        ),
      );
    }
    throw lastError;
  }

  /** request sends `req` with the Authorization the scopes need; one retry after a 401 (step 4). */
  async request(req: SessionRequest, scopes: string[]): Promise<HttpResponse> {
    const base = await this.baseUrl();
    const url = new URL(req.path, base);
    let res = await this.send(req, url, scopes);
    if (res.status !== 401) return res;
    const retryScopes = await this.auth.retryAfter401(res, scopes);
    if (!retryScopes) return res;
    await discard(res);
    res = await this.send(req, url, retryScopes);
    return res;
  }

  private async send(req: SessionRequest, url: URL, scopes: string[]): Promise<HttpResponse> {
    // Credentials go to the registry only, never to another origin an upload Location names.
    const base = await this.baseUrl();
    const authorization = url.origin === base.origin ? await this.auth.header(scopes) : undefined;
    const headers = { ...req.headers, ...(authorization ? { Authorization: authorization } : {}) };
    return this.transport.send({ method: req.method, url, headers, body: req.body, contentLength: req.contentLength });
  }

  /** close releases pooled connections. */
  close(): void {
    this.transport.close();
  }
}
