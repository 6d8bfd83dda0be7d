// The helper's one error type: a stable code from codes.ts, a one-line message, an optional cause.
// It knows nothing of HTTP or of the CLI; the CLI prints it once (cli/errors.ts).
import { ERROR_CODES, type ErrorCode } from './codes.js';

/** HelperErrorOptions carry what a message line does not: longer details (shown with --verbose) and the cause. */
export interface HelperErrorOptions {
  details?: string;
  cause?: unknown;
}

/** HelperError is a failure with a stable code; its exit status and hint come from ERROR_CODES. */
export class HelperError extends Error {
  readonly code: ErrorCode;
  readonly details: string | undefined;

  constructor(code: ErrorCode, message: string, options: HelperErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HelperError';
    this.code = code;
    this.details = options.details;
  }

  /** exitStatus is the process exit status for this error's code. */
  get exitStatus(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** hint is the code's hint, if it has one. */
  get hint(): string | undefined {
    return ERROR_CODES[this.code].hint;
  }
}
