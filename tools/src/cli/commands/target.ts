// config <kind>: write the files of one target config package under --output (a recipe's ${D}).
// Thin: the settings come from CONTAINER_REGISTRY_* (what the recipe exports), the files from target/.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.js';
import { AddressError } from '../../target/address.js';
import { MissingCaError, TARGET_KINDS, targetFiles, type TargetKind } from '../../target/files.js';
import { resolveTargetSettings, targetInputFromEnv } from '../../target/settings.js';
import { writeFileAtomic } from '../../script/install.js';

interface ConfigArgs {
  kind: TargetKind;
  output: string | undefined;
  ca: string | undefined;
  url: string | undefined;
  'target-host': string | undefined;
  print: boolean;
}

/** asCliError maps the target modules' errors to CLI diagnostics. */
export function asCliError(err: unknown): unknown {
  if (err instanceof AddressError) return new CliError('config', err.message, { exitCode: 2 });
  if (err instanceof MissingCaError) return new CliError('missing-ca', err.message, { exitCode: 2 });
  return err;
}

const config: CommandModule<object, ConfigArgs> = {
  command: 'config <kind>',
  describe: 'Write target configuration (docker, containers, containerd, vdkr, ca) for this registry',
  builder: (y) =>
    y
      .positional('kind', { choices: TARGET_KINDS, describe: 'Which package: docker, containers, containerd, vdkr or ca' })
      .option('output', { type: 'string', describe: 'Root directory to write under (a recipe passes ${D})' })
      .option('ca', { type: 'string', describe: "The registry's CA certificate (secure mode), e.g. STORAGE/pki/ca.crt" })
      .option('url', { type: 'string', describe: 'Registry as the build host sees it [env CONTAINER_REGISTRY_URL]' })
      .option('target-host', { type: 'string', describe: 'Build host as targets see it [env CONTAINER_REGISTRY_TARGET_HOST]' })
      .option('print', { type: 'boolean', default: false, describe: 'Print the files instead of writing them' }) as never,
  handler: async (args) => {
    if (!args.print && !args.output) throw new CliError('usage', 'name a root directory with --output DIR, or use --print', { exitCode: 2 });
    const input = targetInputFromEnv(process.env);
    if (args.url) input.url = args.url;
    if (args['target-host'] !== undefined) input.targetHost = args['target-host'];
    let files;
    try {
      const ca = args.ca ? await readFile(args.ca, 'utf8') : undefined;
      if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
        throw new CliError('bad-ca', `${args.ca} is not a PEM certificate`, { exitCode: 2 });
      }
      files = targetFiles(args.kind, resolveTargetSettings(input), ca);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError('missing-ca', `cannot read the CA ${args.ca}: no such file`, { exitCode: 2 });
      throw asCliError(err);
    }
    if (args.print) {
      for (const f of files) process.stdout.write(`### ${f.path}\n${f.content}`);
      return;
    }
    const root = resolve(args.output!);
    for (const f of files) {
      const dest = join(root, f.path);
      await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
      await writeFileAtomic(dest, f.content, f.mode);
      process.stdout.write(`${f.path}\n`);
    }
  },
};

/** targetCommands is `config`. */
export const targetCommands = [config];
