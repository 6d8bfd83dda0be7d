// config <kind>: write the files of one target config package under --output (a recipe's ${D}).
// Thin: the settings come from CONTAINER_REGISTRY_* (what the recipe exports), the files from target/.
// A package that installs the CA takes --ca, else the storage's own (<storage>/pki/ca.crt).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { kindNeedsCa, TARGET_KINDS, targetFiles, type TargetKind } from '../../target/files.js';
import { resolveTargetSettings, targetInputFromEnv } from '../../target/settings.js';
import { settingOption } from '../setting-options.js';
import { writeFileAtomic } from '../../common/atomic-write.js';
import { makeDirs } from '../../common/make-dirs.js';
import { StateDir } from '../../state/state-dir.js';
import { commandName, storageChoice, storageOption } from '../options.js';
import type { SignatureSettings } from '../../target/signatures.js';
import { readBoolean } from '../../settings/values.js';
import { parseRegistryAddress, registryHost } from '../../oci/reference.js';

interface ConfigArgs {
  kind: TargetKind;
  output: string | undefined;
  ca: string | undefined;
  storage: string | undefined;
  url: string | undefined;
  'target-host': string | undefined;
  'signing-key': string | undefined;
  print: boolean;
}

/** storageCa is the storage's CA certificate, the default of --ca; missing, it says which command creates it. */
function storageCa(storage: string | undefined): string {
  const dir = storageChoice(storage).dir;
  const ca = new StateDir(dir).caCert();
  if (!existsSync(ca)) {
    const cmd = commandName();
    throw new HelperError(
      'missing-ca',
      `the registry CA ${ca} does not exist yet: \`${cmd} pki init\` (or \`${cmd} start\` in secure mode) creates it; or give --ca FILE`,
    );
  }
  return ca;
}

/** signatureSettings is what the containers package needs to require signatures (CONTAINER_REGISTRY_REQUIRE_SIGNATURES), else undefined. */
async function signatureSettings(args: ConfigArgs, url: string): Promise<SignatureSettings | undefined> {
  if (args.kind !== 'containers' || !readBoolean(process.env, 'CONTAINER_REGISTRY_REQUIRE_SIGNATURES')) return undefined;
  const path = args['signing-key'] ? resolve(args['signing-key']) : new StateDir(storageChoice(args.storage).dir).signingPublicKey();
  let publicKey: string;
  try {
    publicKey = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new HelperError('pki-read', `cannot read the signing public key ${path} (${code ?? 'error'})`);
    throw new HelperError(
      'signing-key-missing',
      `CONTAINER_REGISTRY_REQUIRE_SIGNATURES is on, but the signing public key ${path} does not exist: \`${commandName()} pki signing-key\` creates it; or give --signing-key FILE`,
    );
  }
  if (!publicKey.includes('-----BEGIN PUBLIC KEY-----')) throw new HelperError('pki-read', `${path} is not a PEM public key`);
  return { publicKey, signedRegistry: registryHost(parseRegistryAddress(url)) };
}

const config: CommandModule<object, ConfigArgs> = {
  command: 'config <kind>',
  describe: 'Write target configuration (docker, containers, containerd, vdkr, ca) for this registry',
  builder: (y) =>
    storageOption(y)
      .positional('kind', { choices: TARGET_KINDS, describe: 'Which package: docker, containers, containerd, vdkr or ca' })
      .option('output', { type: 'string', describe: 'Root directory to write under (a recipe passes ${D})' })
      .option('ca', { type: 'string', describe: "The registry's CA certificate, for a package that installs it [default: the storage's pki/ca.crt]" })
      // Their variables are read with the other target settings (targetInputFromEnv); a flag wins.
      .option('url', settingOption('CONTAINER_REGISTRY_URL', { flag: 'url', fromEnv: false }))
      .option('target-host', settingOption('CONTAINER_REGISTRY_TARGET_HOST', { fromEnv: false }))
      .option('signing-key', {
        type: 'string',
        describe:
          "Public signing key targets check images with, for containers when CONTAINER_REGISTRY_REQUIRE_SIGNATURES=1 [default: the storage's pki/signing.pub]",
      })
      .option('print', { type: 'boolean', default: false, describe: 'Print the files instead of writing them' }) as never,
  handler: async (args) => {
    if (!args.print && !args.output) throw new HelperError('usage', 'name a root directory with --output DIR, or use --print');
    const input = targetInputFromEnv(process.env);
    if (args.url) input.url = args.url;
    if (args['target-host'] !== undefined) input.targetHost = args['target-host'];
    const settings = resolveTargetSettings(input);
    const caFile = args.ca ?? (kindNeedsCa(args.kind, settings) ? storageCa(args.storage) : undefined);
    let files;
    try {
      const ca = caFile ? await readFile(caFile, 'utf8') : undefined;
      if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
        throw new HelperError('bad-ca', `${caFile} is not a PEM certificate`);
      }
      files = targetFiles(args.kind, settings, ca, await signatureSettings(args, input.url));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HelperError('missing-ca', `cannot read the CA ${caFile}: no such file`);
      // target/'s own errors become CLI diagnostics in cli/errors.ts (asCliError).
      throw err;
    }
    if (args.print) {
      for (const f of files) process.stdout.write(`### ${f.path}\n${f.content}`);
      return;
    }
    const root = resolve(args.output!);
    for (const f of files) {
      const dest = join(root, f.path);
      await makeDirs(dirname(dest), 0o755);
      await writeFileAtomic(dest, f.content, f.mode);
      process.stdout.write(`${f.path}\n`);
    }
  },
};

/** targetCommands is `config`. */
export const targetCommands = [config];
