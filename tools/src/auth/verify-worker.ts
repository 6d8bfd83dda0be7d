// The body of a password-verification worker (see verify-pool.ts): one bcrypt comparison per
// message, run synchronously here so the server's event loop never does one. Bundled on its own
// (scripts/build.mjs; verify-worker-source.ts when run from the sources) and started from a string,
// so it must import nothing but bcryptjs and node: built-ins.
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

/** VerifyTask is one comparison asked of the worker; the password is never kept past it. */
export interface VerifyTask {
  id: number;
  password: string;
  hash: string;
}

/** VerifyResult is the worker's answer to the task with the same id. */
export interface VerifyResult {
  id: number;
  ok: boolean;
  /** set when bcrypt threw (a malformed hash): the caller counts it as a mismatch */
  error?: string;
}

parentPort?.on('message', (task: VerifyTask) => {
  let result: VerifyResult;
  try {
    result = { id: task.id, ok: bcrypt.compareSync(task.password, task.hash) };
  } catch (err) {
    result = { id: task.id, ok: false, error: (err as Error).message };
  }
  parentPort!.postMessage(result);
});
