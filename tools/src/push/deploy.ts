// Push from deploy/: discover, name, open, label, then push each image name once — the platforms
// of every machine folder together (one index per tag), or each platform under its own
// arch-suffixed tags when the `arch` strategy is on.
import { basename, resolve } from 'node:path';
import { OciLayout, type ImageContent } from '../layout/layout.js';
import { withLabels } from '../layout/labels.js';
import { archSuffix, platformKey } from '../oci/platform.js';
import { discoverImages, type DeployImage } from './discover.js';
import { repositoryFor } from './naming.js';
import { pushImageSet, type PushContext, type PushResult } from './push.js';
import { withArch } from './tags.js';

/** DeployPushOptions says what to push and how to tag it. */
export interface DeployPushOptions {
  deployDir: string;
  /** image names to push (CONTAINER_REGISTRY_IMAGES, or the one named on the command line) */
  only: string[];
  namespace: string;
  tags: string[];
  /** the `arch` strategy: each platform under its own suffixed tags */
  arch: boolean;
  labels: Record<string, string>;
}

/** PlannedImage is one repository's content, opened and checked before anything is sent. */
export interface PlannedImage {
  name: string;
  repository: string;
  images: ImageContent[];
  sources: DeployImage[];
  /** the deploy entry each of `images` was read from (same order) */
  origins: DeployImage[];
}

/** planDeployPush discovers and opens every image; a bad name or layout stops the run before any upload. */
export async function planDeployPush(opts: DeployPushOptions, warn: (line: string) => void = () => {}): Promise<PlannedImage[]> {
  const found = await discoverImages(opts.deployDir, opts.only);
  const current = basename(resolve(opts.deployDir));
  const byName = new Map<string, DeployImage[]>();
  for (const f of found) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  const plans: PlannedImage[] = [];
  for (const [name, sources] of byName) {
    const repository = repositoryFor(opts.namespace, name, `image ${JSON.stringify(sources[0]!.entry)} (machine ${sources[0]!.machine})`);
    // The current machine's build wins a platform two machine folders both provide.
    const ordered = [...sources].sort((a, b) => (a.machine === current ? -1 : b.machine === current ? 1 : a.machine.localeCompare(b.machine)));
    const byPlatform = new Map<string, { image: ImageContent; source: DeployImage }>();
    for (const source of ordered) {
      const layout = await OciLayout.open(source.path);
      for (const raw of await layout.images()) {
        const image = withLabels(raw, opts.labels);
        const key = platformKey(image.platform);
        const prev = byPlatform.get(key);
        if (prev) {
          if (prev.image.manifestDigest !== image.manifestDigest)
            warn(`${name}: machines ${prev.source.machine} and ${source.machine} both build ${key}; pushing ${prev.source.machine}'s`);
          continue;
        }
        byPlatform.set(key, { image, source });
      }
    }
    const chosen = [...byPlatform.values()];
    plans.push({ name, repository, images: chosen.map((v) => v.image), sources, origins: chosen.map((v) => v.source) });
  }
  return plans;
}

/** pushPlanned pushes planned images in order (sequentially, so shared layers mount instead of uploading twice). */
export async function pushPlanned(ctx: PushContext, plans: PlannedImage[], opts: { tags: string[]; arch: boolean }): Promise<PushResult[]> {
  const results: PushResult[] = [];
  for (const plan of plans) {
    ctx.reporter.info(
      `Pushing ${plan.repository} (${plan.images.map((i) => platformKey(i.platform)).join(', ')}) from ${plan.sources.map((s) => `${s.machine}/${s.entry}`).join(', ')}`,
    );
    if (opts.arch) {
      for (const image of plan.images) results.push(await pushImageSet(ctx, plan.repository, [image], withArch(opts.tags, archSuffix(image.platform))));
    } else {
      results.push(await pushImageSet(ctx, plan.repository, plan.images, opts.tags));
    }
  }
  return results;
}
