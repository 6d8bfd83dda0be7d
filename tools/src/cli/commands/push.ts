// push [image]: the images of deploy/ to the registry. Thin: the work is in push/.
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { imageName, jobsOption, openTarget, registryOptions, resolveRegistry, type RegistryArgs } from '../registry-options.js';
import { isValidTag } from '../../oci/names.js';
import { parseLabel } from '../../layout/labels.js';
import { planDeployPush, pushPlanned } from '../../push/deploy.js';
import { newPushContext } from '../../push/push.js';
import { chooseReporter, summaryLines } from '../../push/progress.js';
import { humanBytes } from '../../common/format.js';
import { baseTags, parseStrategies } from '../../push/tags.js';
import { settingOption } from '../setting-options.js';
import { readList, readString } from '../../settings/values.js';
import { GitFacts } from '../../push/git.js';
import { commandName } from '../options.js';
import { parseRegistryAddress, registryHost } from '../../oci/reference.js';
import type { RegistrySession } from '../../client/session.js';
import type { PushResult } from '../../push/push.js';
import { parseSbomMode } from '../../supply/sbom.js';
import { attachSupply, parseProvenanceMode, planSupply, type AttachedSupply } from '../../supply/attach-push.js';
import { TOOL_VERSION } from '../../supply/tool.js';
import { buildTraceArtifacts, parseBuildTraceMode } from '../../supply/build-trace.js';

interface PushArgs extends RegistryArgs {
  image: string | undefined;
  tag: string[] | undefined;
  strategy: string | undefined;
  version: string | undefined;
  label: string[] | undefined;
  'deploy-dir': string | undefined;
  json: boolean;
  quiet: boolean;
  trace: string | undefined;
  sign: boolean;
  sbom: string | undefined;
  provenance: string | undefined;
  'build-trace': string | undefined;
}

/** signingFor loads the signing key and the signing module (only for `push --sign`). */
async function signingFor(args: PushArgs) {
  const { signingKeyPath, SIGN_CREATOR } = await import('./sign.js');
  const { signPushed } = await import('../../signing/sign.js');
  const { loadSigningKey, dsseSigner } = await import('../../signing/keys.js');
  const key = await loadSigningKey(signingKeyPath(undefined, args.storage), `${commandName()} pki signing-key`);
  return {
    sign: (session: RegistrySession, host: string, results: PushResult[]) => signPushed(session, host, results, key, SIGN_CREATOR),
    // The provenance's DSSE envelope is signed with the same key.
    signDsse: dsseSigner(key),
  };
}

/** versionOption is push's `-v, --version V`: IMAGE_VERSION's option, its help naming the helper's own --version. */
function versionOption() {
  const option = settingOption('IMAGE_VERSION', { fromEnv: false, alias: 'v' });
  return { ...option, describe: `${option.describe} (the helper's own version: container-registry --version)` };
}

/** pushCommand is `container-registry push [image]`. */
export const pushCommand: CommandModule<object, PushArgs> = {
  command: 'push [image]',
  describe: 'Push the OCI images of deploy/ (every machine folder) to the registry',
  builder: (y) =>
    // --version here is the image version (IMAGE_VERSION), as documented; the helper's own is
    // `container-registry --version`, before the command word (cli.ts).
    jobsOption(registryOptions(y.version(false)))
      .positional('image', { type: 'string', describe: 'Push only this image (name without machine and timestamp)' })
      .option('tag', { alias: 't', type: 'string', array: true, describe: 'Explicit tag (repeatable; needs an image name)' })
      // The variables of these three are read by the handler, after the flag. A strategy given with
      // the flag is strict (no input: an error); the variable's are skipped with a warning.
      .option('strategy', settingOption('CONTAINER_REGISTRY_TAG_STRATEGY', { fromEnv: false, alias: 's' }))
      .option('version', versionOption())
      .option('label', { type: 'string', array: true, describe: 'KEY=VALUE label set in the image config (repeatable)' })
      .option('deploy-dir', settingOption('DEPLOY_DIR_IMAGE', { fromEnv: false }))
      .option('sign', settingOption('CONTAINER_REGISTRY_SIGN'))
      .option('sbom', settingOption('CONTAINER_REGISTRY_SBOM'))
      .option('provenance', settingOption('CONTAINER_REGISTRY_PROVENANCE'))
      .option('build-trace', settingOption('CONTAINER_REGISTRY_BUILD_TRACE'))
      .option('json', { type: 'boolean', default: false, describe: 'Print what was pushed as JSON' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors' })
      .option('trace', {
        type: 'string',
        describe: 'Write a trace of the push to FILE (Chrome trace-event JSON: a span per blob and manifest; open in https://ui.perfetto.dev)',
      }) as never,
  handler: async (args: PushArgs) => {
    const started = Date.now();
    const now = new Date();
    if (args.version === '') {
      throw new HelperError('usage', "push --version takes the image version (push --version 1.2); the helper's own version is `container-registry --version`");
    }
    const explicit = (args.tag ?? []).filter((t) => t !== '');
    if (explicit.length && !args.image) throw new HelperError('usage', '--tag needs an image name: push <image> --tag <tag>');
    // IMAGE as every command reads an image (imageName): its repository's last component is the
    // deploy/ name, the rest the namespace; a tag in it is one more --tag.
    const named = args.image === undefined ? undefined : imageName(args.image, resolveRegistry(args.registry, args.namespace));
    if (named?.digest) throw new HelperError('usage', `push IMAGE is a name, not a digest (got ${JSON.stringify(args.image)})`);
    if (named?.tag && !explicit.includes(named.tag)) explicit.push(named.tag);
    const slash = named?.repository.lastIndexOf('/') ?? -1;
    const image = named && { name: named.repository.slice(slash + 1), namespace: named.repository.slice(0, Math.max(slash, 0)) };
    for (const t of explicit)
      if (!isValidTag(t)) throw new HelperError('usage', `invalid tag ${JSON.stringify(t)}: tags match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
    const env = process.env;
    const deployDir = args['deploy-dir'] ?? readString(env, 'DEPLOY_DIR_IMAGE');
    if (!deployDir) throw new HelperError('usage', 'no deploy folder: set DEPLOY_DIR_IMAGE or pass --deploy-dir');
    const strategies = parseStrategies(args.strategy ?? readString(env, 'CONTAINER_REGISTRY_TAG_STRATEGY'));
    const labels: Record<string, string> = {};
    for (const l of args.label ?? []) {
      try {
        const [k, v] = parseLabel(l);
        labels[k] = v;
      } catch (err) {
        throw new HelperError('usage', (err as Error).message);
      }
    }
    const facts = new GitFacts();
    const tags = explicit.length
      ? [...new Set(explicit)]
      : await baseTags({
          strategies,
          now,
          version: args.version ?? readString(env, 'IMAGE_VERSION') ?? readString(env, 'PV'),
          commit: () => facts.commit(),
          branch: () => facts.branch(),
          // A strategy given here is asked for: without its input it fails. The configured ones
          // (CONTAINER_REGISTRY_TAG_STRATEGY, the default) skip it with a warning.
          warn: args.strategy === undefined ? (line) => process.stderr.write(`warning: ${line}\n`) : undefined,
        });
    const arch = !explicit.length && strategies.includes('arch');
    const only = image ? [image.name] : readList(env, 'CONTAINER_REGISTRY_IMAGES');
    if (args.trace === '') throw new HelperError('usage', 'push --trace takes the file to write the trace to');
    // The trace code loads only for --trace (a push's start-up does not pay for it).
    const traceCode = args.trace === undefined ? undefined : await Promise.all([import('../../trace/tracer.js'), import('../../trace/events.js')]);
    if (args.trace !== undefined) await traceCode![1].checkTraceTarget(args.trace);
    const tracer = traceCode ? new traceCode[0].Tracer('container-registry push', 'blobs') : undefined;
    const pushSpan = tracer?.begin('push', 'push', { deployDir, tags });
    // The signing key is read before anything is sent: a missing key fails the push up front.
    const signing = args.sign ? await signingFor(args) : undefined;
    const target = await openTarget(args);
    const reporter = await chooseReporter(args);
    // Reach the registry while the layouts are read (a plan error still wins: it is reported first).
    const ping = target.session.baseUrl();
    ping.catch(() => undefined);
    try {
      const namespace = image?.namespace ?? target.namespace;
      const plans = await planDeployPush({ deployDir, only, namespace, tags, arch, labels }, (w) => process.stderr.write(`warning: ${w}\n`));
      if (!plans.length) throw new HelperError('no-images', `no OCI images (*-oci folders or archives) in ${deployDir} or the machine folders next to it`);
      // SBOM and provenance are read before anything is sent: a bad --sbom FILE stops the run here.
      const supply = await planSupply(plans, {
        sbom: parseSbomMode(args.sbom),
        provenance: parseProvenanceMode(args.provenance),
        signDsse: signing?.signDsse,
        more: buildTraceArtifacts(parseBuildTraceMode(args['build-trace']), env, (line) => reporter.info(line)),
        env,
        deployDir,
        registry: target.registry,
        toolVersion: TOOL_VERSION,
        info: (line) => reporter.info(line),
        warn: (line) => process.stderr.write(`warning: ${line}\n`),
      });
      await ping;
      const ctx = newPushContext(target.session, reporter, args.jobs);
      ctx.tracer = tracer;
      const results = await pushPlanned(ctx, plans, { tags, arch });
      const attached: AttachedSupply[] = await attachSupply(target.session, supply, {
        toolVersion: TOOL_VERSION,
        info: (line) => reporter.info(line),
        warn: (line) => process.stderr.write(`warning: ${line}\n`),
      });
      pushSpan?.end({ registry: target.registry, images: results.length, bytesSent: results.reduce((n, r) => n + r.bytesSent, 0) });
      reporter.close();
      const signed = signing ? await signing.sign(target.session, registryHost(parseRegistryAddress(target.registry)), results) : [];
      if (args.json) {
        process.stdout.write(
          `${JSON.stringify({ registry: target.registry, seconds: (Date.now() - started) / 1000, results, attached, ...(signing ? { signed } : {}) }, null, 2)}\n`,
        );
      } else if (!args.quiet) {
        const sent = results.reduce((n, r) => n + r.bytesSent, 0);
        const skipped = results.reduce((n, r) => n + r.bytesSkipped, 0);
        for (const r of results) for (const line of summaryLines(target.registry, r)) process.stdout.write(`${line}\n`);
        for (const r of signed) process.stdout.write(`Signed ${r.identity} (${r.signed.length} manifest(s))\n`);
        process.stdout.write(
          `Pushed ${results.length} image(s): ${humanBytes(sent)} sent, ${humanBytes(skipped)} already there, ${((Date.now() - started) / 1000).toFixed(2)} s\n`,
        );
      }
    } catch (err) {
      pushSpan?.end({ error: err instanceof Error ? err.message : String(err) });
      // Written on failure too (where a push stopped is what a trace is for); the push's error wins.
      if (tracer && traceCode && args.trace !== undefined)
        await traceCode[1]
          .writeTraceDocument(args.trace, tracer.document({ command: 'push', registry: target.registry }))
          .catch((e: unknown) => process.stderr.write(`warning: ${(e as Error).message}\n`));
      throw err;
    } finally {
      reporter.close();
      target.session.close();
    }
    if (tracer && traceCode && args.trace !== undefined) {
      await traceCode[1].writeTraceDocument(args.trace, tracer.document({ command: 'push', registry: target.registry }));
      if (!args.quiet && !args.json) process.stderr.write(`Trace written to ${args.trace} (open it in https://ui.perfetto.dev)\n`);
    }
  },
};
