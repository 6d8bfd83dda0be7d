// CLI diagnostics: one clear line with a stable code; details only with --verbose.

/** CliError is a failure the CLI reports as `container-registry: error [code]: message`. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly details: string | undefined;

  constructor(code: string, message: string, options: { exitCode?: number; details?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details;
  }
}

/** formatCliError renders any thrown value as the CLI's one-line diagnostic. */
export function formatCliError(err: unknown, verbose: boolean): string {
  if (err instanceof CliError) {
    let line = `container-registry: error [${err.code}]: ${err.message}`;
    if (err.details && verbose) line += `\n${err.details}`;
    return line;
  }
  const message = err instanceof Error ? err.message : String(err);
  let line = `container-registry: error [internal]: ${message}`;
  if (verbose && err instanceof Error && err.stack) line += `\n${err.stack}`;
  return line;
}
