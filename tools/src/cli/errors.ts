// CLI diagnostics: `container-registry: error [code]: message (hint)`, one line; details only with
// --verbose. Modules throw HelperError (errors/), whose code gives the exit status and hint; this is
// the one place that turns whatever reached the top into that line and a status.
import { HelperError } from '../errors/helper-error.js';
import { RegistryError } from '../oci/errors.js';
import { AddressError } from '../target/address.js';
import { MissingCaError } from '../target/files.js';

/**
 * asCliError gives the HelperError the CLI reports for the errors of target/, which have codes of
 * their own: an unusable address is a `config` problem, a missing CA `missing-ca`. Anything else is
 * returned as it is.
 */
export function asCliError(err: unknown): unknown {
  if (err instanceof AddressError) return new HelperError('config', err.message, { cause: err });
  if (err instanceof MissingCaError) return new HelperError('missing-ca', err.message, { cause: err });
  return err;
}

/** formatCliError renders any thrown value as the CLI's one-line diagnostic. */
export function formatCliError(thrown: unknown, verbose: boolean): string {
  const err = asCliError(thrown);
  if (err instanceof HelperError) {
    let line = `container-registry: error [${err.code}]: ${err.message}${err.hint ? ` (${err.hint})` : ''}`;
    if (err.details && verbose) line += `\n${err.details}`;
    return line;
  }
  // A spec error from oci/ (a digest, name or manifest the client could not use) keeps its spec code.
  if (err instanceof RegistryError) return `container-registry: error [${err.code}]: ${err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  let line = `container-registry: error [internal]: ${message}`;
  if (verbose && err instanceof Error && err.stack) line += `\n${err.stack}`;
  return line;
}

/** exitStatusOf is the exit status for any thrown value: its code's, else 1. */
export function exitStatusOf(thrown: unknown): number {
  const err = asCliError(thrown);
  return err instanceof HelperError ? err.exitStatus : 1;
}
