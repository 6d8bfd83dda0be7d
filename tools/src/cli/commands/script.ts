// script: write container-registry.sh, its conf and the helper copy into the storage directory, and
// hand CONTAINER_REGISTRY_PASSWORD (from local.conf, through the task's environment) to the default
// user: auth/htpasswd and auth/password (0600). Thin: the text comes from script/, users from auth/.
import { realpathSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { storageChoice, storageOption } from '../options.js';
import { asCliError } from '../errors.js';
import { certSanForTargets } from '../../target/address.js';
import { resolveTargetSettings, targetInputFromEnv } from '../../target/settings.js';
import { installScript, type InstallResult } from '../../script/install.js';
import { SCRIPT_VARIABLES, type ScriptVariable } from '../../settings/layer.js';
import { checkSettings, rawSetting, readBoolean } from '../../settings/values.js';
import { ensureDefaultUser, type DefaultUserResult } from '../../auth/users.js';

interface ScriptArgs {
  storage?: string;
  node: string;
  helper: string;
}

/** scriptSettings picks the SCRIPT_VARIABLES from the environment (never the password), completing the certificate's SANs; AUTH implies SECURE. */
export function scriptSettings(env: NodeJS.ProcessEnv): Partial<Record<ScriptVariable, string>> {
  const out: Partial<Record<ScriptVariable, string>> = {};
  for (const name of SCRIPT_VARIABLES) {
    const v = rawSetting(env, name);
    if (v !== undefined) out[name] = v;
  }
  out.CONTAINER_REGISTRY_CERT_SAN = certSanForTargets(rawSetting(env, 'CONTAINER_REGISTRY_CERT_SAN'), rawSetting(env, 'CONTAINER_REGISTRY_TARGET_HOST'));
  if (readBoolean(env, 'CONTAINER_REGISTRY_AUTH')) out.CONTAINER_REGISTRY_SECURE = '1';
  return out;
}

/** GenerateResult is what `script` wrote. */
export interface GenerateResult extends InstallResult {
  /** set when CONTAINER_REGISTRY_PASSWORD was given to the default user */
  user: DefaultUserResult | undefined;
}

/**
 * generateScript validates the settings (every one the script carries, by the settings table's
 * rules, then the target rules), writes the script, and gives CONTAINER_REGISTRY_PASSWORD
 * (when set) to the default user, so a password set in local.conf is the registry's password
 * without ever being written into the script or passed as an argument.
 */
export async function generateScript(o: {
  storage: string;
  objectStore?: string;
  node: string;
  helper: string;
  env: NodeJS.ProcessEnv;
}): Promise<GenerateResult> {
  checkSettings(o.env, SCRIPT_VARIABLES);
  try {
    resolveTargetSettings(targetInputFromEnv(o.env));
  } catch (err) {
    throw asCliError(err);
  }
  const result = await installScript({
    storage: o.storage,
    ...(o.objectStore ? { objectStore: o.objectStore } : {}),
    node: o.node,
    helper: o.helper,
    settings: scriptSettings(o.env),
  });
  const user = rawSetting(o.env, 'CONTAINER_REGISTRY_PASSWORD') ? await ensureDefaultUser(o.storage, o.env) : undefined;
  return { ...result, user };
}

const script: CommandModule<object, ScriptArgs> = {
  command: ['script', 'generate-script'],
  describe: 'Write container-registry.sh (+ .conf and a copy of this helper) into the storage directory (the state directory for an s3:// storage)',
  builder: (y) =>
    storageOption(y)
      .option('node', { type: 'string', default: process.execPath, describe: 'node the script runs (absolute)' })
      .option('helper', { type: 'string', default: process.argv[1] ?? '', describe: 'helper to copy next to the script (default: this one)' }) as never,
  handler: async (args) => {
    let node: string;
    let helper: string;
    try {
      node = realpathSync(args.node);
      helper = realpathSync(args.helper);
    } catch (err) {
      throw new HelperError('script', `cannot find ${(err as NodeJS.ErrnoException).path ?? 'node or the helper'}`);
    }
    // An s3:// storage: the script goes into its local state directory (CONTAINER_REGISTRY_STATE_DIR).
    const choice = storageChoice(args.storage);
    const result = await generateScript({ storage: choice.dir, ...(choice.url ? { objectStore: choice.url } : {}), node, helper, env: process.env });
    process.stdout.write(`Wrote ${result.script}\n`);
    if (result.user) {
      process.stdout.write(
        `User ${result.user.user} ${result.user.action} with the password from CONTAINER_REGISTRY_PASSWORD (kept in ${result.user.passwordFile}, 0600)\n`,
      );
    }
  },
};

/** scriptCommands is `script` (alias `generate-script`). */
export const scriptCommands = [script];
