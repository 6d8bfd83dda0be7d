// The server process must outlive any one request. Its state is on disk, written atomically, so an
// error that escapes a request's own handling loses nothing that was acknowledged: it is logged and
// the process keeps serving.
import { serverLog } from '../common/log.js';

/** guardProcess keeps a serving process alive through errors that escape every handler, and says so. */
export function guardProcess(log: (line: string) => void = serverLog): void {
  // An asynchronous write error on stdout/stderr is an 'error' event: with no listener it is fatal.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  process.on('uncaughtException', (err) => log(`internal error (still serving): ${err?.stack ?? String(err)}`));
  process.on('unhandledRejection', (reason) => log(`internal error (still serving): ${(reason as Error)?.stack ?? String(reason)}`));
}
