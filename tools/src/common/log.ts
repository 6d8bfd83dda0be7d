// Log lines of a long-running process that never throw: a full disk makes every write to the log
// file fail, and writing the log must never be what stops the server.

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
