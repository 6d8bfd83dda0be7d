// Client-side errors: every call states the statuses it accepts; anything else becomes a
// RegistryHttpError carrying what a user (and a retry loop) needs, and never a secret.
// Modelled on go-containerregistry's remote/transport/error.go CheckError. Both error types are
// HelperErrors whose code follows from the type (and the status): the CLI needs no guessing.
import { HelperError } from '../errors/helper-error.js';
import type { ErrorCode } from '../errors/codes.js';

/** RegistryDiagnostic is one entry of the spec's error body {"errors":[{code,message,detail}]}. */
export interface RegistryDiagnostic {
  code: string;
  message?: string;
  detail?: unknown;
}

/** RETRYABLE_STATUSES are answers a later attempt may turn into success. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** redactUrl drops the query values and userinfo that may carry secrets (upload state, tokens). */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(url.toString());
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) {
      // digest, mount, from, n and last are not secret and make an error readable
      if (!['digest', 'mount', 'from', 'n', 'last', 'service', 'scope'].includes(key)) u.searchParams.set(key, 'REDACTED');
    }
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** httpErrorCode is the code of an unexpected answer: `unauthorized` (401), `denied` (403), else `registry`. */
export function httpErrorCode(status: number): ErrorCode {
  return status === 401 ? 'unauthorized' : status === 403 ? 'denied' : 'registry';
}

/** RegistryHttpError is an answer the caller did not expect; its code is httpErrorCode(status). */
export class RegistryHttpError extends HelperError {
  readonly status: number;
  readonly method: string;
  readonly url: string;
  readonly diagnostics: RegistryDiagnostic[];
  readonly retryable: boolean;
  /** the answer's Retry-After (seconds or an HTTP date), which withRetry honours */
  readonly retryAfter: string | undefined;

  constructor(opts: {
    status: number;
    method: string;
    url: string | URL;
    diagnostics?: RegistryDiagnostic[];
    message?: string;
    retryable?: boolean;
    retryAfter?: string;
  }) {
    const url = redactUrl(opts.url);
    const diagnostics = opts.diagnostics ?? [];
    const what = diagnostics.length
      ? diagnostics.map((d) => `${d.code}${d.message ? `: ${d.message}` : ''}`).join('; ')
      : (opts.message ?? statusText(opts.status));
    super(httpErrorCode(opts.status), `${opts.method} ${url}: ${opts.status} ${what}`);
    this.name = 'RegistryHttpError';
    this.status = opts.status;
    this.method = opts.method;
    this.url = url;
    this.diagnostics = diagnostics;
    this.retryable = opts.retryable ?? RETRYABLE_STATUSES.has(opts.status);
    this.retryAfter = opts.retryAfter;
  }

  /** hasCode tells whether the registry named `code` among its diagnostics. */
  hasCode(code: string): boolean {
    return this.diagnostics.some((d) => d.code === code);
  }
}

/** NetworkError is a connection that failed before an answer (refused, reset, TLS); retryable; code `network`. */
export class NetworkError extends HelperError {
  readonly retryable: boolean;
  readonly errno: string | undefined;

  constructor(method: string, url: string | URL, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException)?.code;
    super('network', `${method} ${redactUrl(url)}: ${errno ?? ''} ${(cause as Error)?.message ?? String(cause)}`.replace(/\s+/g, ' ').trim(), { cause });
    this.name = 'NetworkError';
    this.errno = errno;
    // A certificate the client rejects will be rejected again: no retry.
    this.retryable = !(errno && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/.test(errno));
  }
}

/** isRetryable tells whether an error may go away on a second attempt. */
export function isRetryable(err: unknown): boolean {
  return (err instanceof RegistryHttpError || err instanceof NetworkError) && err.retryable;
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    413: 'Payload Too Large',
    416: 'Range Not Satisfiable',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
  };
  return texts[status] ?? 'unexpected status';
}

/** parseDiagnostics reads the spec's error body; anything else gives no diagnostics. */
export function parseDiagnostics(body: string): RegistryDiagnostic[] {
  try {
    const doc = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(doc.errors)) return [];
    return doc.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
      .map((e) => ({ code: String(e.code), message: typeof e.message === 'string' ? e.message.slice(0, 300) : undefined, detail: e.detail }));
  } catch {
    return [];
  }
}
