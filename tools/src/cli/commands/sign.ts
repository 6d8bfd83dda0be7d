// sign IMAGE | verify IMAGE: sigstore signatures of images in a registry. Thin: the work is in signing/.
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { imageName, registryOptions, withTarget, type RegistryArgs } from '../registry-options.js';
import { commandName, storageChoice } from '../options.js';
import { parseRegistryAddress, registryHost } from '../../oci/reference.js';
import { StateDir } from '../../state/state-dir.js';
import { loadPublicKey, loadSigningKey } from '../../signing/keys.js';
import { signImage } from '../../signing/sign.js';
import type { SignTarget } from '../../signing/image.js';
import { verifyImage } from '../../signing/verify.js';

interface SignArgs extends RegistryArgs {
  image: string;
  key: string | undefined;
  json: boolean;
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/** SIGN_CREATOR is the payload's optional.creator (the version stays out: cli.ts holds it, and commands do not import the entry). */
export const SIGN_CREATOR = 'meta-container-registry';

/** signTargetOf reads IMAGE (name[:tag|@digest], `latest` when neither) as a SignTarget of the command's registry. */
export function signTargetOf(image: string, target: { registry: string; namespace: string }): SignTarget {
  const ref = imageName(image, target);
  return { registryHost: registryHost(parseRegistryAddress(target.registry)), repository: ref.repository, reference: ref.digest ?? ref.tag ?? 'latest' };
}

/** signingKeyPath is --key, else the storage's pki/signing.key. */
export function signingKeyPath(key: string | undefined, storage: string | undefined): string {
  return key ? resolve(key) : new StateDir(storageChoice(storage).dir).signingKey();
}

const signCommand: CommandModule<object, SignArgs> = {
  command: 'sign <image>',
  describe: 'Sign an image of the registry (sigstore signature podman and skopeo check; an index and each platform)',
  builder: (y) =>
    registryOptions(y)
      .positional('image', { type: 'string', describe: 'name[:tag|@digest]' })
      .option('key', { type: 'string', describe: "Private signing key (PEM, ECDSA P-256) [default: the storage's pki/signing.key]" })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args: SignArgs) => {
    const key = await loadSigningKey(signingKeyPath(args.key, args.storage), `${commandName()} pki signing-key`);
    await withTarget(args, async (target) => {
      const r = await signImage(target.session, signTargetOf(args.image, target), key, SIGN_CREATOR);
      if (args.json) return print(JSON.stringify(r, null, 2));
      print(`Signed ${r.identity} (${r.digest})`);
      for (const m of r.signed) print(`  ${m.platform ?? 'manifest'} ${m.digest} -> ${m.signatureTag}${m.added ? '' : ' (already signed)'}`);
    });
  },
};

const verifyCommand: CommandModule<object, SignArgs> = {
  command: 'verify <image>',
  describe: 'Check the sigstore signatures of an image against a public key (digest, name, signature); non-zero when unsigned or tampered',
  builder: (y) =>
    registryOptions(y)
      .positional('image', { type: 'string', describe: 'name[:tag|@digest]' })
      .option('key', { type: 'string', describe: "Public key (PEM) [default: the storage's pki/signing.pub]" })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args: SignArgs) => {
    const path = args.key ? resolve(args.key) : new StateDir(storageChoice(args.storage).dir).signingPublicKey();
    const key = await loadPublicKey(path, `${commandName()} pki signing-key`);
    await withTarget(args, async (target) => {
      const r = await verifyImage(target.session, signTargetOf(args.image, target), key);
      if (args.json) return print(JSON.stringify(r, null, 2));
      print(`Verified ${r.image} (${r.digest})`);
      for (const m of r.manifests) print(`  ${m.platform ?? 'manifest'} ${m.digest}: signed as ${m.acceptedIdentity}`);
    });
  },
};

/** signCommands are sign and verify. */
// biome-ignore lint/suspicious/noExplicitAny: commands of different argument types in one list, as yargs takes them
export const signCommands: CommandModule<any, any>[] = [signCommand, verifyCommand];
