// start, stop and status of a detached server. `start` returns when the server answers; `stop`
// drains, waits and escalates to SIGKILL; `status` never trusts a stale or recycled PID.
import { openSync, closeSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { execa } from 'execa';
import { isAlive, readPidFile, removePidFileIfOurs, type PidRecord } from './pidfile.js';
import { removeInstanceRecord } from './instances.js';
import { INSTANCE_HEADER } from '../registry/server.js';
import { HelperError } from '../errors/helper-error.js';

/** ServerState is what status finds. */
export type ServerState =
  | { state: 'running'; record: PidRecord; httpStatus: number }
  | { state: 'not-answering'; record: PidRecord; reason: string }
  | { state: 'stopped'; staleRecord: PidRecord | undefined };

function probeHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** probe asks `/v2/` and checks that the answer comes from the recorded instance. */
export function probe(rec: PidRecord, timeoutMs = 2000): Promise<{ ok: boolean; status: number; reason: string }> {
  return new Promise((resolve) => {
    const request = rec.tls ? httpsRequest : httpRequest;
    // Only the instance header is trusted, so the certificate need not be verified here.
    const req = request({ host: probeHost(rec.host), port: rec.port, path: '/v2/', method: 'GET', timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      const instance = res.headers[INSTANCE_HEADER.toLowerCase()];
      if (instance !== rec.instance) {
        resolve({ ok: false, status: res.statusCode ?? 0, reason: `another server answers on ${rec.host}:${rec.port}` });
      } else {
        resolve({ ok: true, status: res.statusCode ?? 0, reason: '' });
      }
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ ok: false, status: 0, reason: err.message }));
    req.end();
  });
}

/** serverState reads the PID file (else takes `known`, an instance record), checks the process and asks the server. */
export async function serverState(pidFile: string, known?: PidRecord): Promise<ServerState> {
  const rec = (await readPidFile(pidFile)) ?? known;
  if (!rec) return { state: 'stopped', staleRecord: undefined };
  if (!isAlive(rec)) return { state: 'stopped', staleRecord: rec };
  const answer = await probe(rec);
  if (answer.ok) return { state: 'running', record: rec, httpStatus: answer.status };
  return { state: 'not-answering', record: rec, reason: answer.reason };
}

/** tailOf returns the last `lines` lines of a log file (empty when unreadable). */
export function tailOf(path: string, lines = 15): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** StartResult tells how start ended. */
export type StartResult = { ok: true; record: PidRecord; already: boolean } | { ok: false; reason: string; logTail: string };

/**
 * startDetached runs `node <script> serve <args>` in the background with its output appended to
 * the log, and waits until the PID file names the child and `/v2/` answers from it.
 */
export async function startDetached(opts: { pidFile: string; logFile: string; serveArgs: string[]; timeoutMs?: number }): Promise<StartResult> {
  const current = await serverState(opts.pidFile);
  if (current.state === 'running') return { ok: true, record: current.record, already: true };
  const logFd = openSync(opts.logFile, 'a', 0o644);
  const script = process.argv[1]!;
  const child = execa(process.execPath, [...process.execArgv, script, 'serve', ...opts.serveArgs], {
    detached: true,
    // execa's types only take literal fd numbers; any open fd works at run time.
    stdio: ['ignore', logFd as 1, logFd as 1],
    cleanup: false,
    reject: false,
    env: { ...process.env, CONTAINER_REGISTRY_DETACHED: '1' },
  });
  closeSync(logFd);
  let exited: { code: number | undefined; signal: string | undefined } | undefined;
  void child.then((r) => {
    exited = { code: r.exitCode, signal: r.signal };
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  try {
    while (Date.now() < deadline) {
      if (exited) {
        return { ok: false, reason: `the server exited (${exited.signal ?? `code ${exited.code}`}) before answering`, logTail: tailOf(opts.logFile) };
      }
      const rec = await readPidFile(opts.pidFile);
      if (rec && rec.pid === child.pid && (await probe(rec, 1000)).ok) {
        return { ok: true, record: rec, already: false };
      }
      await sleep(50);
    }
    child.kill('SIGKILL');
    return { ok: false, reason: `the server did not answer within ${Math.round((opts.timeoutMs ?? 20_000) / 1000)} s`, logTail: tailOf(opts.logFile) };
  } finally {
    // Let this process exit while the server goes on.
    child.unref();
    (child.stdout as { unref?: () => void } | null)?.unref?.();
  }
}

/**
 * beforeDeadline settles as `work` does, or fails with `start-failed` saying `what` at `deadline`
 * (ms since the epoch), so `start` keeps to --timeout even when preparing hangs (a storage on a
 * dead mount, a FIFO where config.toml should be). What `work` waits on may hold the process (a
 * system call that does not return): it exits shortly after the error is told, once it can.
 */
export async function beforeDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  const late = new HelperError('start-failed', what);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, expired]);
  } catch (err) {
    if (err === late) {
      // The work goes on unobserved: its end must not be an unhandled rejection, nor keep the process.
      work.catch(() => undefined);
      process.exitCode = late.exitStatus;
      setTimeout(() => process.exit(), 500).unref();
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** StopResult tells how stop ended. */
export type StopResult = { stopped: 'not-running' } | { stopped: 'term' | 'kill'; pid: number; ms: number };

/**
 * stopServer sends SIGTERM, waits up to `timeoutMs` for the drain, then SIGKILL. The PID file names
 * the process (else `known`, an instance record); its instance record goes with it.
 */
export async function stopServer(pidFile: string, timeoutMs = 10_000, known?: PidRecord): Promise<StopResult> {
  const rec = (await readPidFile(pidFile)) ?? known;
  if (!rec || !isAlive(rec)) {
    if (rec) await removePidFileIfOurs(pidFile, rec.pid);
    return { stopped: 'not-running' };
  }
  const started = Date.now();
  try {
    process.kill(rec.pid, 'SIGTERM');
  } catch {
    await removePidFileIfOurs(pidFile, rec.pid);
    return { stopped: 'not-running' };
  }
  while (Date.now() - started < timeoutMs) {
    if (!isAlive(rec)) {
      await removePidFileIfOurs(pidFile, rec.pid);
      removeInstanceRecord(rec);
      return { stopped: 'term', pid: rec.pid, ms: Date.now() - started };
    }
    await sleep(50);
  }
  try {
    process.kill(rec.pid, 'SIGKILL');
  } catch {
    // gone in between
  }
  while (isAlive(rec) && Date.now() - started < timeoutMs + 5000) await sleep(20);
  await removePidFileIfOurs(pidFile, rec.pid);
  // A killed server could not remove its record.
  removeInstanceRecord(rec);
  return { stopped: 'kill', pid: rec.pid, ms: Date.now() - started };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
