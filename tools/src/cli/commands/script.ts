// script: write container-registry.sh, its conf and the helper copy into the storage directory.
// Thin: settings come from the environment the BitBake task sets; the text comes from script/.
import { realpathSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.js';
import { resolveStorage, storageOption } from '../options.js';
import { asCliError } from './target.js';
import { certSanForTargets } from '../../target/address.js';
import { resolveTargetSettings, targetInputFromEnv } from '../../target/settings.js';
import { installScript } from '../../script/install.js';
import { SCRIPT_VARIABLES, type ScriptVariable } from '../../script/render.js';

interface ScriptArgs {
  storage: string;
  node: string;
  helper: string;
}

/** scriptSettings picks the SCRIPT_VARIABLES from the environment, completing the certificate's SANs. */
export function scriptSettings(env: NodeJS.ProcessEnv): Partial<Record<ScriptVariable, string>> {
  const out: Partial<Record<ScriptVariable, string>> = {};
  for (const name of SCRIPT_VARIABLES) {
    const v = env[name];
    if (v !== undefined && v !== '') out[name] = v;
  }
  out.CONTAINER_REGISTRY_CERT_SAN = certSanForTargets(env.CONTAINER_REGISTRY_CERT_SAN, env.CONTAINER_REGISTRY_TARGET_HOST);
  return out;
}

const script: CommandModule<object, ScriptArgs> = {
  command: ['script', 'generate-script'],
  describe: 'Write container-registry.sh (+ .conf and a copy of this helper) into the storage directory',
  builder: (y) =>
    storageOption(y)
      .option('node', { type: 'string', default: process.execPath, describe: 'node the script runs (absolute)' })
      .option('helper', { type: 'string', default: process.argv[1] ?? '', describe: 'helper to copy next to the script (default: this one)' }) as never,
  handler: async (args) => {
    const storage = resolveStorage(args.storage);
    try {
      resolveTargetSettings(targetInputFromEnv(process.env));
    } catch (err) {
      throw asCliError(err);
    }
    const settings = scriptSettings(process.env);
    // Secure is what the helper reads; AUTH implies it.
    if (settings.CONTAINER_REGISTRY_AUTH === '1') settings.CONTAINER_REGISTRY_SECURE = '1';
    let node: string;
    let helper: string;
    try {
      node = realpathSync(args.node);
      helper = realpathSync(args.helper);
    } catch (err) {
      throw new CliError('script', `cannot find ${(err as NodeJS.ErrnoException).path ?? 'node or the helper'}`);
    }
    const result = await installScript({ storage, node, helper, settings, password: process.env.CONTAINER_REGISTRY_PASSWORD });
    process.stdout.write(`Wrote ${result.script}\n`);
    if (result.passwordFile) process.stdout.write(`Password from CONTAINER_REGISTRY_PASSWORD kept in ${result.passwordFile} (0600)\n`);
    if (result.htpasswdReset) process.stdout.write('The password changed: auth/htpasswd removed, `start` writes a new one\n');
  },
};

/** scriptCommands is `script` (alias `generate-script`). */
export const scriptCommands = [script];
