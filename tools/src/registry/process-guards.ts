// The server process must outlive any one request. Its state is on disk, written atomically, so an
// error that escapes a request's own handling loses nothing that was acknowledged: it is logged and
// the process keeps serving. Writing the log itself must never be what kills it (a full disk makes
// every write to the log file fail).

/** serverLog writes one line to stderr and never throws (a full disk or a closed pipe loses the line). */
export function serverLog(line: string): void {
  try {
    process.stderr.write(`container-registry: ${line}\n`);
  } catch {
    // nowhere left to tell it
  }
}

/** writeLine writes one line to stdout (the access log) and never throws. */
export function writeLine(line: string): void {
  try {
    process.stdout.write(`${line}\n`);
  } catch {
    // the log file's disk is full: the request itself was answered
  }
}

/** guardProcess keeps a serving process alive through errors that escape every handler, and says so. */
export function guardProcess(log: (line: string) => void = serverLog): void {
  // An asynchronous write error on stdout/stderr is an 'error' event: with no listener it is fatal.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  process.on('uncaughtException', (err) => log(`internal error (still serving): ${err?.stack ?? String(err)}`));
  process.on('unhandledRejection', (reason) => log(`internal error (still serving): ${(reason as Error)?.stack ?? String(reason)}`));
}
