// The helper's error codes, declared once: the word the CLI prints in `error [code]`, the exit
// status it leaves with, and a hint it adds. Every module throws HelperError (helper-error.ts) with
// one of these codes; a code not in this table does not compile. Modelled on distribution's
// registry/api/errcode/register.go. This folder imports nothing from the rest of the project.

/** ErrorSpec is one row of the table. */
export interface ErrorSpec {
  /** the process exit status: 2 for bad input (flags, variables, settings), 3 for "not there yet", else 1 */
  readonly exit: number;
  /** what the code means, for people reading the table */
  readonly about: string;
  /** a short hint the CLI prints after the message, in parentheses */
  readonly hint?: string;
}

const TABLE = {
  // Bad input: exit 2.
  usage: { exit: 2, about: 'a flag, argument or CONTAINER_REGISTRY_* variable is malformed or missing' },
  config: { exit: 2, about: 'settings that cannot be used (target config, config.toml, CONTAINER_REGISTRY_NOTIFY)' },
  'config-conflict': { exit: 2, about: 'two settings exclude each other' },
  'auth-needs-tls': { exit: 2, about: 'logins were asked for without HTTPS' },
  'missing-ca': { exit: 2, about: "a secure registry's target config without its CA certificate" },
  'bad-ca': { exit: 2, about: 'the CA certificate given is not PEM' },
  name: { exit: 2, about: 'a repository name outside the OCI name grammar' },
  'no-storage': {
    exit: 2,
    about: 'the storage directory a command reads does not exist (a typo is never made a registry)',
    hint: 'create one with `container-registry start --storage DIR`',
  },
  // Not there yet: exit 3 (as `status` for a stopped registry).
  'pki-missing': { exit: 3, about: 'the storage directory has no PKI yet' },
  'signing-key-missing': { exit: 3, about: 'the image signing key (or its public key) does not exist yet' },
  'not-running': { exit: 3, about: 'the local registry a client command talks to does not run (its address refuses connections)' },
  // Users and the access policy of secure mode.
  'access-config': { exit: 1, about: 'auth/access.toml cannot be used' },
  'auth-read': { exit: 1, about: 'a file of auth/ cannot be read' },
  password: { exit: 1, about: 'a password bcrypt cannot take (empty, too long, a line break)' },
  'user-exists': { exit: 1, about: 'the user to add exists' },
  'user-unknown': { exit: 1, about: 'no such user' },
  locked: { exit: 1, about: 'another process keeps holding a lock file' },
  'verify-queue-full': { exit: 1, about: 'too many password checks wait (the server answers 429)' },
  // The PKI.
  'pki-read': { exit: 1, about: 'a file of pki/ cannot be read or is not PEM' },
  'pki-ca': { exit: 1, about: 'the CA certificate and its key do not make a pair' },
  'pki-key': { exit: 1, about: 'a private key of a type the PKI does not handle' },
  // Image signatures.
  unsigned: { exit: 1, about: 'an image has no signature (no sha256-<hex>.sig manifest, or no signature layer in it)' },
  'bad-signature': { exit: 1, about: 'no signature of an image is valid for the key, its digest and its name' },
  // Talking to a registry.
  credentials: { exit: 1, about: 'credentials cannot be found or read' },
  tls: { exit: 1, about: 'a CA certificate or cert dir cannot be used' },
  network: { exit: 1, about: 'no answer: refused, reset, DNS, TLS' },
  unauthorized: { exit: 1, about: 'the registry answered 401', hint: 'credentials missing or rejected: see --auth-mode, --authfile, --credsfile' },
  denied: { exit: 1, about: 'the registry answered 403' },
  registry: { exit: 1, about: 'the registry gave an answer the command cannot use' },
  'not-found': { exit: 1, about: 'no such repository, tag or image' },
  'shared-digest': { exit: 1, about: 'a delete by digest would remove other tags too' },
  unsupported: { exit: 1, about: 'the registry does not allow what was asked' },
  // Images on disk and what push makes of them.
  layout: { exit: 1, about: 'an OCI image layout or archive cannot be read' },
  discovery: { exit: 1, about: 'the deploy folder cannot be read or lacks the image named' },
  'no-images': { exit: 1, about: 'the deploy folder holds no OCI image' },
  import: { exit: 1, about: 'the source image cannot be imported' },
  tag: { exit: 1, about: 'a tag strategy cannot make a valid tag' },
  // Build traces.
  buildstats: { exit: 1, about: 'a buildstats folder cannot be read or holds no build' },
  trace: { exit: 1, about: 'a trace file cannot be written' },
  // Backups.
  'no-backup': {
    exit: 2,
    about: 'a backup folder or archive named does not exist, is another folder, or its index cannot be read',
    hint: 'a backup folder holds backup-store.json; create one with `container-registry backup create --to DIR`',
  },
  backup: { exit: 1, about: 'a backup cannot be written or read (I/O, an archive that exists, a corrupt blob in the storage)' },
  'backup-corrupt': { exit: 1, about: 'backup verify found a blob missing, of the wrong size or not matching its digest, or a reference not in the backup' },
  'restore-target': {
    exit: 2,
    about: 'the restore target is served by a running registry, or holds images and is not the storage the backup was taken from (see --merge)',
  },
  'restore-conflict': { exit: 1, about: 'restore left files that differ from the backup as they were, or could not restore some blobs' },
  // The server process.
  storage: { exit: 1, about: 'the storage directory or a file in it cannot be written' },
  listen: { exit: 1, about: 'the server cannot listen' },
  'port-in-use': { exit: 1, about: 'the address is taken' },
  'port-denied': { exit: 1, about: 'listening there needs privileges' },
  'bad-address': { exit: 1, about: 'no such local address to listen on' },
  'start-failed': { exit: 1, about: 'the detached server did not come up' },
  script: { exit: 1, about: 'node or the helper to put in the script cannot be found' },
  // Anything else.
  internal: { exit: 1, about: 'a failure with no code of its own (a bug, or an unexpected system error)' },
} satisfies Record<string, ErrorSpec>;

/** ErrorCode is one of the codes of ERROR_CODES. */
export type ErrorCode = keyof typeof TABLE;

/** ERROR_CODES maps every code to its exit status, meaning and hint. */
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorSpec>> = TABLE;
