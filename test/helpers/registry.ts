// Runs the real registry process (the built bundle) on a free loopback port for a test.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './ports.js';
import { tempDir } from './tmp.js';

/** ROOT is the checkout. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** BUNDLE is the built helper the layer carries; the tests run exactly that file. */
export const BUNDLE = join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs');

let userDirs: Record<string, string> | undefined;

/**
 * testUserEnv gives the processes a test starts XDG data and runtime folders of this test process's
 * own, so a registry records itself there (daemon/instances.ts) and the per-user default storage is
 * never the user's. A test's own env wins over them.
 */
export function testUserEnv(): Record<string, string> {
  if (!userDirs) {
    const root = mkdtempSync(join(tmpdir(), 'cr-xdg-'));
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    userDirs = { XDG_DATA_HOME: join(root, 'data'), XDG_RUNTIME_DIR: join(root, 'run') };
  }
  return userDirs;
}

/** TestRegistry is a running server process. */
export interface TestRegistry {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, as skopeo and docker want it */
  host: string;
  port: number;
  storage: string;
  process: ChildProcess;
  /** output so far (stdout + stderr) */
  output(): string;
  /** SIGTERM and wait */
  stop(): Promise<void>;
  /** SIGKILL and wait */
  kill(): Promise<void>;
}

type Teardown = { teardown(fn: () => unknown): void };

/**
 * OBJECT_STORE_ENV, when set (to the JSON of a gateway's AWS_* variables: helpers/radosgw.ts), makes
 * startTestRegistry serve each registry from a fresh bucket instead of a temp folder: a suite
 * written for the filesystem registry then runs against S3 (test/s3-api.test.ts).
 */
export const OBJECT_STORE_ENV = 'CR_TEST_OBJECT_STORE';

let buckets = 0;

/** objectStoreStorage makes a fresh bucket and a local state folder for one registry. */
async function objectStoreStorage(t: Teardown, gatewayEnv: Record<string, string>): Promise<{ url: string; stateDir: string; env: Record<string, string> }> {
  const { createBucket } = await import('./radosgw.js');
  const bucket = `test-${process.pid}-${++buckets}`;
  await createBucket(gatewayEnv, bucket);
  const stateDir = await tempDir(t, 'cr-state-');
  return { url: `s3://${bucket}/registry`, stateDir, env: { ...gatewayEnv, CONTAINER_REGISTRY_STATE_DIR: stateDir } };
}

/** startTestRegistry runs `serve` on a free port; it is stopped at teardown. */
export async function startTestRegistry(
  t: Teardown,
  opts: { storage?: string; args?: string[]; env?: Record<string, string>; port?: number } = {},
): Promise<TestRegistry> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build`);
  const gateway = process.env[OBJECT_STORE_ENV];
  const s3 = opts.storage === undefined && gateway ? await objectStoreStorage(t, JSON.parse(gateway) as Record<string, string>) : undefined;
  // With S3, `storage` is the local state folder (PID file, pki/, auth/): what the tests look into.
  const named = opts.storage?.startsWith('s3://') ? { url: opts.storage, stateDir: opts.env?.CONTAINER_REGISTRY_STATE_DIR } : undefined;
  if (named && !named.stateDir) throw new Error('an s3:// storage needs CONTAINER_REGISTRY_STATE_DIR in opts.env');
  const storage = s3?.stateDir ?? named?.stateDir ?? opts.storage ?? (await tempDir(t, 'cr-storage-'));
  const port = opts.port ?? (await freePort());
  let out = '';
  const child = spawn(
    process.execPath,
    [BUNDLE, 'serve', '--storage', s3?.url ?? named?.url ?? storage, '--listen', `127.0.0.1:${port}`, ...(opts.args ?? [])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...testUserEnv(), ...s3?.env, ...opts.env },
    },
  );
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let gone = false;
  void exited.then(() => (gone = true));
  const reg: TestRegistry = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    storage,
    process: child,
    output: () => out,
    async stop() {
      if (!gone) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
  t.teardown(() => reg.kill());
  await waitFor(
    async () => {
      if (gone) throw new Error(`registry exited: ${out}`);
      return existsSync(join(storage, 'container-registry.pid')) && JSON.parse(readFileSync(join(storage, 'container-registry.pid'), 'utf8')).pid === child.pid;
    },
    15_000,
    'the registry to start',
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${out}`);
  });
  return reg;
}

/** runCli runs the bundle with `args` and returns its exit code and output. */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BUNDLE, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...testUserEnv(), ...opts.env },
      cwd: opts.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    // A command that exits without reading its input makes that write EPIPE: the exit code tells.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
