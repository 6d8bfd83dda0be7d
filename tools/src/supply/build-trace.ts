// The build trace as a referrer: `push --build-trace auto|DIR` attaches the trace-event JSON of the
// build that made an image (trace/buildstats.ts) to each platform manifest, beside its SBOM and
// provenance, so whoever pulls the image can open how it was built in Perfetto. `auto` takes the
// newest build under BUILDSTATS_BASE that ran the image recipe (supply/facts.ts buildTimes: a later
// `bitbake -c push_images` is a build of its own without it); one trace per build, however many
// images it made. Off by default: a whole image build's trace is megabytes. The trace code loads
// only when asked for (a push's start-up does not pay for it).
import { join } from 'node:path';
import { HelperError } from '../errors/helper-error.js';
import type { Env } from '../settings/values.js';
import type { ImageInDeploy, PlannedArtifact } from './attach-push.js';
import { buildTimes, buildstatsBase, findTestdata } from './facts.js';

/** BuildTraceMode is `--build-trace`: none, auto (the build that made the image), or a buildstats folder. */
export type BuildTraceMode = { kind: 'none' } | { kind: 'auto' } | { kind: 'dir'; path: string };

/** parseBuildTraceMode reads `--build-trace` / CONTAINER_REGISTRY_BUILD_TRACE (unset: none). */
export function parseBuildTraceMode(value: string | undefined): BuildTraceMode {
  const v = value?.trim() ?? '';
  if (v === '' || v === 'none') return { kind: 'none' };
  if (v === 'auto') return { kind: 'auto' };
  return { kind: 'dir', path: v };
}

interface Traced {
  content: Buffer;
  build: string;
  finishedOn: Date | undefined;
}

/**
 * buildTraceArtifacts is planSupply's `more` for `mode` (undefined for none): the trace artifact of
 * each image. An explicit folder that cannot be read fails the push before anything is sent (the
 * first image asks); `auto` without buildstats for an image says so once and attaches nothing.
 */
export function buildTraceArtifacts(
  mode: BuildTraceMode,
  env: Env,
  info: (line: string) => void,
): ((image: ImageInDeploy) => Promise<PlannedArtifact[]>) | undefined {
  if (mode.kind === 'none') return undefined;
  const traces = new Map<string, Promise<Traced>>();
  const code = Promise.all([import('../trace/buildstats.js'), import('../trace/events.js')]);
  code.catch(() => undefined);
  const traceOf = (dir: string, finishedOn: Date | undefined): Promise<Traced> => {
    let t = traces.get(dir);
    if (!t) {
      t = code.then(async ([{ buildstatsTrace }, { traceBytes }]) => {
        const doc = await buildstatsTrace(dir);
        return { content: traceBytes(doc), build: String(doc.otherData.build ?? ''), finishedOn };
      });
      traces.set(dir, t);
    }
    return t;
  };
  const base = buildstatsBase(env);
  let saidNone = false;
  return async (image) => {
    let traced: Traced;
    if (mode.kind === 'dir') {
      try {
        const [{ resolveBuildDir }] = await code;
        traced = await traceOf(await resolveBuildDir(mode.path), undefined);
      } catch (err) {
        if (err instanceof HelperError) throw err;
        throw new HelperError('buildstats', `--build-trace ${mode.path}: ${(err as Error).message}`);
      }
    } else {
      const recipe = (await findTestdata(image.folder, image.stems))?.PN;
      const times = base ? await buildTimes(base, recipe) : undefined;
      if (!base || !times) {
        if (!saidNone) info(`build trace: no buildstats${base ? ` in ${base}` : ''} for ${recipe ?? image.repository}; none attached`);
        saidNone = true;
        return [];
      }
      traced = await traceOf(join(base, times.buildName), times.finishedOn);
    }
    const [, { TRACE_ARTIFACT_TYPE, TRACE_MEDIA_TYPE }] = await code;
    return [
      {
        kind: 'build-trace',
        artifactType: TRACE_ARTIFACT_TYPE,
        layers: [
          { mediaType: TRACE_MEDIA_TYPE, content: traced.content, annotations: { 'org.opencontainers.image.title': `${traced.build || 'build'}.trace.json` } },
        ],
        annotations: { 'org.opencontainers.image.description': `BitBake build ${traced.build}: Chrome trace-event JSON (open in https://ui.perfetto.dev)` },
        ...(traced.finishedOn ? { created: traced.finishedOn } : {}),
        path: mode.kind === 'dir' ? mode.path : undefined,
        required: mode.kind === 'dir',
      },
    ];
  };
}
