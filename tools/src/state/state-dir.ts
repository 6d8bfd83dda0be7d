// The helper's own files in a storage directory, beside distribution's tree:
//
//   <storage>/
//   ├── docker/registry/v2/...                              distribution's layout (storage/paths.ts)
//   ├── container-registry.pid, container-registry.log     the running server (never inside docker/)
//   ├── config.toml, gc-stats.json                          server settings (webhooks); totals of gc runs for /metrics
//   ├── pki/{ca.key,ca.crt,server.key,server.crt}            secure mode; keys 0600, folder 0700
//   ├── pki/{signing.key,signing.pub}                         the image signing key (0600) and its public key
//   ├── certs/ca.crt                                          the CA alone: a client cert dir (skopeo --cert-dir)
//   └── auth/{htpasswd,password,access.toml}                 users (bcrypt), the default user's password (0600), policy
//
// Every path of these is built here, and reading, atomic writing, making folders and locking go
// through this type, so pki/ and auth/ share one copy of each. The directory is handed around as
// this object (its StoragePaths built once), not as a string.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StoragePaths } from '../storage/paths.js';
import { formatObjectStoreUrl, type ObjectStoreLocation } from '../storage/object-store-url.js';
import { writeFileAtomic } from '../common/atomic-write.js';
import { makeDirs } from '../common/make-dirs.js';
import { HelperError } from '../errors/helper-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { withLock } from './lock.js';

/** StateDir is one storage directory: distribution's tree (`storage`) and the helper's own files. */
export class StateDir {
  /** storage builds the paths of distribution's `docker/registry/v2` tree in this directory. */
  readonly storage: StoragePaths;

  /**
   * objectStore: distribution's tree is in this bucket (an s3:// storage), not under `dir`; `dir` is
   * then the local state directory that keeps the helper's own files (pki/, auth/, PID file, log).
   */
  constructor(
    readonly dir: string,
    readonly objectStore?: ObjectStoreLocation,
  ) {
    this.storage = new StoragePaths(dir);
  }

  /** of takes a StateDir as it is and makes one of a path (for callers that have only the path). */
  static of(dir: StateDir | string): StateDir {
    return dir instanceof StateDir ? dir : new StateDir(dir);
  }

  /** location names the storage for messages and backup indexes: the s3:// URL of a bucket, else the directory. */
  location(): string {
    return this.objectStore ? formatObjectStoreUrl(this.objectStore) : this.dir;
  }

  /** pidFile is where a running server writes its PID. */
  pidFile(): string {
    return join(this.dir, 'container-registry.pid');
  }

  /** logFile is where a detached server writes its log. */
  logFile(): string {
    return join(this.dir, 'container-registry.log');
  }

  /** serverConfig is the optional server configuration (TOML: notification endpoints). */
  serverConfig(): string {
    return join(this.dir, 'config.toml');
  }

  /** gcStats holds the totals of every gc run, which the server's /metrics reads. */
  gcStats(): string {
    return join(this.dir, 'gc-stats.json');
  }

  /** pkiDir holds the CA and the server certificate with their keys (mode 0700). */
  pkiDir(): string {
    return join(this.dir, 'pki');
  }

  /** caKey is the CA's private key (PKCS#8 PEM, 0600). */
  caKey(): string {
    return join(this.pkiDir(), 'ca.key');
  }

  /** caCert is the CA certificate (PEM). */
  caCert(): string {
    return join(this.pkiDir(), 'ca.crt');
  }

  /** serverKey is the server's private key (PKCS#8 PEM, 0600). */
  serverKey(): string {
    return join(this.pkiDir(), 'server.key');
  }

  /** serverCert is the server certificate the registry presents (PEM). */
  serverCert(): string {
    return join(this.pkiDir(), 'server.crt');
  }

  /** signingKey is the private key images are signed with (ECDSA P-256, PKCS#8 PEM, 0600). */
  signingKey(): string {
    return join(this.pkiDir(), 'signing.key');
  }

  /** signingPublicKey is the signing key's public half (SPKI PEM, 0644): what verifiers and targets get. */
  signingPublicKey(): string {
    return join(this.pkiDir(), 'signing.pub');
  }

  /** certsDir holds only the CA certificate, so clients can use it as a cert dir without seeing keys. */
  certsDir(): string {
    return join(this.dir, 'certs');
  }

  /** certsCaCert is the copy of the CA certificate in the clients' cert dir. */
  certsCaCert(): string {
    return join(this.certsDir(), 'ca.crt');
  }

  /** authDir holds users and the access policy (mode 0700). */
  authDir(): string {
    return join(this.dir, 'auth');
  }

  /** htpasswd is the users file (bcrypt, as Apache's `htpasswd -B` writes it). */
  htpasswd(): string {
    return join(this.authDir(), 'htpasswd');
  }

  /** passwordFile holds the default user's password (0600). */
  passwordFile(): string {
    return join(this.authDir(), 'password');
  }

  /** accessConfig is the optional access policy (TOML). */
  accessConfig(): string {
    return join(this.authDir(), 'access.toml');
  }

  /** readText reads a small file; a missing file is undefined, any other failure a HelperError with `failCode`. */
  async readText(path: string, failCode: ErrorCode): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new HelperError(failCode, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
  }

  /** writeFile replaces a file atomically, created with `mode` (0600 for secrets from the first byte). */
  writeFile(path: string, data: string, mode: number): Promise<void> {
    return writeFileAtomic(path, data, mode);
  }

  /** removeFile deletes a file of this directory; a missing one is no error. */
  async removeFile(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /** makeDir creates a folder of this directory (and its parents) with `mode`. */
  async makeDir(path: string, mode: number): Promise<void> {
    await makeDirs(path, mode);
  }

  /** locked runs `fn` while holding `<folder>/.lock`; another process holding it too long is LockBusy (`locked`). */
  locked<T>(folder: string, fn: () => Promise<T>): Promise<T> {
    return withLock(join(folder, '.lock'), fn);
  }
}
