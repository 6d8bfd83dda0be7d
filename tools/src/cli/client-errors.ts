// Client failures as CLI diagnostics: a stable code per kind, one line, no secrets (URLs are
// already redacted by the client errors).
import { CliError } from './errors.js';
import { NetworkError, RegistryHttpError } from '../client/errors.js';

/** asCliError maps errors of the client, layout, push and manage modules to CliError. */
export function asCliError(err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof RegistryHttpError) {
    const code = err.status === 401 ? 'unauthorized' : err.status === 403 ? 'denied' : 'registry';
    const hint = err.status === 401 ? ' (credentials missing or rejected: see --auth-mode, --authfile, --credsfile)' : '';
    return new CliError(code, `${err.message}${hint}`, { cause: err });
  }
  if (err instanceof NetworkError) return new CliError('network', err.message, { cause: err });
  const code = err instanceof Error ? (err as unknown as { code?: unknown }).code : undefined;
  // Domain errors (layout, name, tag, discovery, import, delete) carry a stable word; errno codes are not ours.
  if (err instanceof Error && typeof code === 'string' && !/^E[A-Z]+$/.test(code)) return new CliError(code, err.message, { cause: err });
  return err;
}

/** cliHandler wraps a command handler so its failures become CLI diagnostics. */
export function cliHandler<A>(fn: (args: A) => Promise<void>): (args: A) => Promise<void> {
  return async (args) => {
    try {
      await fn(args);
    } catch (err) {
      throw asCliError(err);
    }
  };
}
