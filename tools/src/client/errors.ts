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
      ? diagnostics
          .map((d) => {
            const detail = formatDetail(d.detail);
            return `${d.code}${d.message ? `: ${d.message}` : ''}${detail ? ` (${detail})` : ''}`;
          })
          .join('; ')
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

/** CERTIFICATE_ERROR matches the codes of a server certificate the client rejects (node's and OpenSSL's). */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|HOSTNAME/;

/**
 * certificateHint says what to do about a rejected server certificate: which CA to give (a
 * container-registry server's is <storage>/certs/ca.crt), or which name is missing, and how to see
 * the chain the server sends. Undefined for any other failure.
 */
export function certificateHint(errno: string | undefined, url: string | URL): string | undefined {
  if (!errno || !CERTIFICATE_ERROR.test(errno)) return undefined;
  let where = '';
  try {
    const u = new URL(url.toString());
    where = `${u.hostname}:${u.port || (u.protocol === 'http:' ? '80' : '443')}`;
  } catch {
    where = 'HOST:PORT';
  }
  const chain = `see the chain it sends with \`openssl s_client -connect ${where} -showcerts\``;
  if (errno === 'ERR_TLS_CERT_ALTNAME_INVALID' || errno === 'HOSTNAME_MISMATCH') {
    return `the certificate does not name ${where}: use a name it holds, or add this one to the server's CONTAINER_REGISTRY_CERT_SAN (DNS:name or IP:address) and restart it; ${chain}`;
  }
  if (errno === 'CERT_HAS_EXPIRED' || errno === 'CERT_NOT_YET_VALID') {
    return `the certificate is out of its validity (check both clocks); a container-registry server renews its own on start or with \`container-registry pki renew\`; ${chain}`;
  }
  return (
    "no CA this command trusts signed the registry's certificate: for a container-registry server give its CA " +
    'with --ca-cert <storage>/certs/ca.crt, or set CONTAINER_REGISTRY_SECURE=1 with CONTAINER_REGISTRY_URL naming that registry; ' +
    chain
  );
}

/** NetworkError is a connection that failed before an answer (refused, reset, TLS); retryable; code `network`. */
export class NetworkError extends HelperError {
  readonly retryable: boolean;
  readonly errno: string | undefined;
  private readonly certificateHint: string | undefined;

  constructor(method: string, url: string | URL, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException)?.code;
    super('network', `${method} ${redactUrl(url)}: ${errno ?? ''} ${(cause as Error)?.message ?? String(cause)}`.replace(/\s+/g, ' ').trim(), { cause });
    this.name = 'NetworkError';
    this.errno = errno;
    this.certificateHint = certificateHint(errno, url);
    // A certificate the client rejects will be rejected again: no retry.
    this.retryable = !(errno && CERTIFICATE_ERROR.test(errno));
  }

  /** hint is, for a rejected certificate, what to do about it (certificateHint); else the code's. */
  override get hint(): string | undefined {
    return this.certificateHint ?? super.hint;
  }
}

/**
 * BlobSourceError is content the client was to send that could not be read: a layout's file gone
 * or unreadable mid-push. Not retryable (a second read fails the same way); code `layout`.
 */
export class BlobSourceError extends HelperError {
  constructor(what: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
    super('layout', `cannot read ${what} to send it (${reason})`, { cause });
    this.name = 'BlobSourceError';
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

/** DETAIL_MAX bounds the part of a diagnostic's detail an error message shows. */
const DETAIL_MAX = 200;

/**
 * formatDetail renders a diagnostic's `detail` for a message line: text as it is; distribution's
 * access records ([{Type, Name, Action}], what a refused request needed) as `repository yocto/app:
 * pull, push`; anything else as JSON. Cut to DETAIL_MAX characters; empty when there is none.
 */
export function formatDetail(detail: unknown): string {
  if (detail === undefined || detail === null || detail === '') return '';
  let text: string;
  const records = Array.isArray(detail) ? detail.map(accessRecord) : [];
  if (typeof detail === 'string') text = detail;
  else if (records.length && records.every((r) => r !== undefined)) {
    const byResource = new Map<string, string[]>();
    for (const r of records) byResource.set(r!.resource, [...(byResource.get(r!.resource) ?? []), r!.action]);
    text = [...byResource].map(([resource, actions]) => `${resource}: ${actions.join(', ')}`).join('; ');
  } else text = JSON.stringify(detail) ?? '';
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > DETAIL_MAX ? `${text.slice(0, DETAIL_MAX - 1)}…` : text;
}

/** accessRecord reads one of distribution's access records (auth.Access: Type, Class, Name, Action). */
function accessRecord(entry: unknown): { resource: string; action: string } | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  const [type, name, action] = [e.Type ?? e.type, e.Name ?? e.name, e.Action ?? e.action];
  if (typeof type !== 'string' || typeof name !== 'string' || typeof action !== 'string') return undefined;
  return { resource: `${type} ${name}`, action };
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
