// import <ref> [name]: copy an image from another registry into ours. Thin: the work is in push/import.ts.
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { imageName, jobsOption, loadCaDir, openTarget, registryOptions, repositoryOf, resolveRegistry, type RegistryArgs } from '../registry-options.js';
import { credentialSource, type AuthMode } from '../../client/credentials.js';
import { readFile } from 'node:fs/promises';
import { nameProblem } from '../../oci/names.js';
import { importImage, openSource, parsePlatform, parseSourceReference } from '../../push/import.js';
import { newPushContext } from '../../push/push.js';
import { chooseReporter } from '../../push/progress.js';
import { humanBytes } from '../../common/format.js';

interface ImportArgs extends RegistryArgs {
  ref: string;
  name: string | undefined;
  platform: string[] | undefined;
  'src-authfile': string | undefined;
  'src-credsfile': string | undefined;
  'src-creds': string | undefined;
  'src-token': string | undefined;
  'src-insecure': boolean;
  'src-ca-cert': string | undefined;
  'src-cert-dir': string | undefined;
  json: boolean;
  quiet: boolean;
}

/** importCommand is `container-registry import <ref> [name]`. */
export const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import <ref> [name]',
  describe: 'Copy an image from another registry (all platforms, digests kept) into the registry',
  builder: (y) =>
    jobsOption(registryOptions(y))
      .positional('ref', { type: 'string', describe: 'Source: [registry/]repository[:tag|@digest] (no registry: Docker Hub)' })
      .positional('name', { type: 'string', describe: 'Target name[:tag] in the namespace (default: the source name and tag)' })
      .option('platform', { type: 'string', array: true, describe: 'Only these platforms, os/arch[/variant] (repeatable)' })
      .option('src-authfile', { type: 'string', describe: 'Docker-style config.json for the source' })
      .option('src-credsfile', { type: 'string', describe: 'KEY=VALUE credentials file for the source' })
      .option('src-creds', { type: 'string', describe: 'USER:PASSWORD for the source (visible in ps)' })
      .option('src-token', { type: 'string', describe: 'Token for the source (visible in ps)' })
      .option('src-insecure', { type: 'boolean', default: false, describe: 'Source: allow plain HTTP, skip certificate verification' })
      .option('src-ca-cert', { type: 'string', describe: 'Source: CA certificate (PEM)' })
      .option('src-cert-dir', { type: 'string', describe: 'Source: folder of CA certificates (no private keys)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print what was imported as JSON' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors' }) as never,
  handler: async (args: ImportArgs) => {
    const source = parseSourceReference(args.ref);
    const platforms = (args.platform ?? [])
      .flatMap((p) => p.split(','))
      .filter(Boolean)
      .map(parsePlatform);
    // NAME as every command reads an image (imageName); without it, the source's last component in the namespace.
    const named = args.name === undefined ? undefined : imageName(args.name, resolveRegistry(args.registry, args.namespace));
    if (named?.digest) throw new HelperError('usage', `import's NAME is name[:tag] (got ${JSON.stringify(args.name)}); the digests are the source's`);
    const tag = named?.tag ?? source.tag ?? 'latest';
    const target = await openTarget(args);
    const repository = named?.repository ?? repositoryOf(source.repository.split('/').pop()!, target.namespace);
    const problem = nameProblem(repository);
    if (problem) throw new HelperError('name', `target name ${JSON.stringify(repository)} is not valid: ${problem}`);
    const ca: Buffer[] = [];
    if (args['src-ca-cert']) ca.push(await readFile(args['src-ca-cert']));
    if (args['src-cert-dir']) ca.push(...(await loadCaDir(args['src-cert-dir'])));
    const srcMode: AuthMode = args['src-authfile'] ? 'authfile' : args['src-credsfile'] ? 'credsfile' : 'none';
    const src = openSource(source, {
      insecure: args['src-insecure'],
      ca,
      credentials: credentialSource({
        mode: srcMode,
        authfile: args['src-authfile'],
        credsfile: args['src-credsfile'],
        creds: args['src-creds'],
        token: args['src-token'],
      }),
    });
    const reporter = await chooseReporter(args);
    try {
      const ctx = newPushContext(target.session, reporter, args.jobs);
      reporter.info(`Importing ${source.registry}/${source.repository}:${source.reference} → ${target.registry}/${repository}:${tag}`);
      const result = await importImage(ctx, src, source, repository, tag, platforms);
      reporter.close();
      if (args.json) process.stdout.write(`${JSON.stringify({ registry: target.registry, results: [result] }, null, 2)}\n`);
      else if (!args.quiet) {
        process.stdout.write(`${target.registry}/${repository}:${tag} ${result.digest} (${result.platforms.join(', ')})\n`);
        process.stdout.write(`Imported: ${humanBytes(result.bytesSent)} sent, ${humanBytes(result.bytesSkipped)} already there\n`);
      }
    } finally {
      reporter.close();
      src.close();
      target.session.close();
    }
  },
};
