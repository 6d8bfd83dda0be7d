// pki init | show | renew | signing-key: thin calls into pki/ and signing/keys.ts.
import type { CommandModule } from 'yargs';
import { existingStorage, storageChoice, storageOption } from '../options.js';
import type { PkiResult } from '../../pki/pki.js';
import { pkiSettingsFromEnv } from '../../pki/settings.js';
import { KEY_ALGORITHMS, parseKeyAlgorithm } from '../../pki/algorithms.js';
import { HelperError } from '../../errors/helper-error.js';
import { StateDir } from '../../state/state-dir.js';

interface PkiArgs {
  storage?: string;
  algorithm?: string;
}

function report(r: PkiResult): void {
  const out: string[] = [];
  out.push(r.caCreated ? `Created CA ${r.files.caCert} (clients trust ${r.files.clientCaCert})` : `Kept CA ${r.files.caCert}`);
  out.push(r.serverIssued ? `Issued server certificate ${r.files.serverCert} (${r.serverIssued})` : `Server certificate ${r.files.serverCert} is up to date`);
  process.stdout.write(`${out.join('\n')}\n`);
  for (const w of r.warnings) process.stderr.write(`container-registry: warning: ${w}\n`);
}

function algorithmOption<T>(y: import('yargs').Argv<T>) {
  return y.option('algorithm', { type: 'string', describe: `Type of new keys: ${KEY_ALGORITHMS.join(', ')} [default: ecdsa-p256, or the CA's]` });
}

const init: CommandModule<object, PkiArgs> = {
  command: 'init',
  describe: 'Create the CA and server certificate if missing; re-issue the server certificate when names change or it nears expiry',
  builder: (y) => algorithmOption(storageOption(y)) as never,
  handler: async (args) => {
    // init makes the storage directory when needed; renew and show need one that exists.
    const state = new StateDir(storageChoice(args.storage).dir);
    const algorithm = args.algorithm ? parseKeyAlgorithm(args.algorithm) : undefined;
    // pki/ (and @peculiar/x509) load only for the commands that use them; see daemon/secure-mode.ts.
    const { ensurePki } = await import('../../pki/pki.js');
    report(await ensurePki({ storageDir: state, algorithm, ...pkiSettingsFromEnv(process.env) }));
  },
};

const renew: CommandModule<object, PkiArgs & { ca: boolean }> = {
  command: 'renew',
  describe: 'Issue a new server certificate and key now; with --ca also a new CA (targets must then trust it)',
  builder: (y) => algorithmOption(storageOption(y)).option('ca', { type: 'boolean', default: false, describe: 'Replace the CA too' }) as never,
  handler: async (args) => {
    const state = await existingStorage(storageChoice(args.storage).dir);
    const algorithm = args.algorithm ? parseKeyAlgorithm(args.algorithm) : undefined;
    const { renewPki } = await import('../../pki/pki.js');
    report(await renewPki({ storageDir: state, algorithm, ca: args.ca, ...pkiSettingsFromEnv(process.env) }));
  },
};

const show: CommandModule<object, { storage?: string; json: boolean }> = {
  command: 'show',
  describe: 'Print subjects, names, validity and SHA-256 fingerprints of the CA and server certificates',
  builder: (y) => storageOption(y).option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args) => {
    const state = await existingStorage(storageChoice(args.storage).dir);
    const { formatSummary, showPki } = await import('../../pki/show.js');
    const list = await showPki(state);
    if (list.length === 0) throw new HelperError('pki-missing', `no PKI in ${state.dir}; create it with \`container-registry pki init\``);
    process.stdout.write(args.json ? `${JSON.stringify(list, null, 2)}\n` : `${formatSummary(list)}\n`);
  },
};

const signingKey: CommandModule<object, { storage?: string }> = {
  command: 'signing-key',
  describe: 'Create the image signing key (ECDSA P-256: pki/signing.key 0600, pki/signing.pub) if missing; print where it is',
  builder: (y) => storageOption(y) as never,
  handler: async (args) => {
    const state = new StateDir(storageChoice(args.storage).dir);
    const { ensureSigningKey } = await import('../../signing/keys.js');
    const r = await ensureSigningKey(state);
    // Paths only: the private key's content is never printed.
    process.stdout.write(`${r.created ? 'Created' : 'Kept'} signing key ${r.files.privateKey}\nPublic key ${r.files.publicKey}\n`);
  },
};

/** pkiCommand is `pki init | show | renew | signing-key`. */
export const pkiCommand: CommandModule<object, object> = {
  command: 'pki <command>',
  describe: 'The CA and server certificate of secure mode, and the image signing key',
  builder: (y) =>
    y.command(init).command(show).command(renew).command(signingKey).demandCommand(1, 'Name a pki command: init, show, renew or signing-key.') as never,
  handler: () => {},
};
