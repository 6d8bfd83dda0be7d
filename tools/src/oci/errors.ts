// The OCI distribution spec's error codes, declared once with their HTTP status.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes
// Handlers throw RegistryError; one boundary (registry/respond.ts) writes {"errors":[...]}.

/** ErrorCode is one of the spec's error codes (plus the few distribution adds that clients know). */
export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  | 'TAG_INVALID'
  | 'METHOD_UNKNOWN'
  | 'UNKNOWN';

interface ErrorSpec {
  status: number;
  message: string;
}

/** ERROR_TABLE maps every code to its default status and message. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorSpec>> = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 415, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  METHOD_UNKNOWN: { status: 405, message: 'the method is not supported for this route' },
  // distribution's errcode.ErrorCodeUnknown: what it answers for a failure that is not the client's
  UNKNOWN: { status: 500, message: 'unknown error' },
};

/** RegistryError is a spec error a handler throws; status defaults from the table. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** headers the answer must carry (Content-Range on a 416, Range on an upload conflict) */
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, options: { status?: number; detail?: unknown; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message ?? ERROR_TABLE[code].message, { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status ?? ERROR_TABLE[code].status;
    this.detail = options.detail;
    this.headers = options.headers;
  }

  /** toJSON gives the spec's body: {"errors":[{code,message,detail}]}. */
  toJSON(): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
    const entry: { code: string; message: string; detail?: unknown } = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}
