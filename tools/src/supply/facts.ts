// The build facts a provenance statement records, gathered where BitBake left them:
//   - the image's `${IMAGE_NAME}.testdata.json` beside its OCI layout (oe-core's
//     rootfs-postcommands write_image_test_data: the image recipe's datastore, so MACHINE, DISTRO,
//     DISTRO_VERSION, PN, IMAGE_FEATURES as that image saw them);
//   - BBLAYERS (handed over by the layer: helper_env, and the generated script's conf), each
//     layer's collection name from its conf/layer.conf and its git remote, revision and branch;
//   - buildstats (BUILDSTATS_BASE, ${TMPDIR}/buildstats): the build that made the image (the newest
//     one with a folder of the image recipe), its `build_stats` start and the image tasks' end.
// Every fact is optional: what cannot be read is left out, never guessed.
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readList, readString, type Env } from '../settings/values.js';

/** LayerFact is one layer of BBLAYERS. */
export interface LayerFact {
  /** the collection name (BBFILE_COLLECTIONS of its layer.conf), else the folder name */
  name: string;
  path: string;
  /** the git remote's URL (origin, else the first), credentials removed */
  url: string | undefined;
  revision: string | undefined;
  branch: string | undefined;
  /** tracked files differ from the revision */
  modified: boolean;
}

/** BuildFacts are what a provenance statement says of the build. */
export interface BuildFacts {
  machine: string | undefined;
  distro: string | undefined;
  distroVersion: string | undefined;
  /** the image recipe (PN) */
  image: string | undefined;
  imageFeatures: string[] | undefined;
  /** IMAGE_NAME */
  imageName: string | undefined;
  layers: LayerFact[];
  /** the buildstats folder name (BUILDNAME) of the build that made the image */
  buildName: string | undefined;
  startedOn: Date | undefined;
  finishedOn: Date | undefined;
}

/** MAX_TESTDATA_BYTES bounds the testdata.json read (a whole datastore: a few MiB). */
const MAX_TESTDATA_BYTES = 64 * 1024 * 1024;

async function git(dir: string, args: string[]): Promise<string | undefined> {
  const { execa } = await import('execa');
  const r = await execa('git', ['-C', dir, ...args], { reject: false, timeout: 10_000 });
  return r.exitCode === 0 ? String(r.stdout).trim() || undefined : undefined;
}

/** withoutCredentials drops user:password@ from a URL (a remote may carry a token). */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    // scp-like (git@host:path) or a local path: no password can be in it
    return url;
  }
}

async function collectionName(path: string): Promise<string | undefined> {
  const conf = await readFile(join(path, 'conf', 'layer.conf'), 'utf8').catch(() => '');
  return /^\s*BBFILE_COLLECTIONS\s*\+?[:.]?=\s*"\s*([^"\s]+)/m.exec(conf)?.[1];
}

/** layerFacts remembers each layer's facts for the run: every image of a push shares BBLAYERS. */
const layerFacts = new Map<string, Promise<LayerFact>>();

/** layerFact reads one layer's name and git state (once per process). */
export function layerFact(path: string): Promise<LayerFact> {
  let fact = layerFacts.get(path);
  if (!fact) {
    fact = readLayerFact(path);
    layerFacts.set(path, fact);
  }
  return fact;
}

async function readLayerFact(path: string): Promise<LayerFact> {
  const remotes = (await git(path, ['remote']))?.split(/\s+/) ?? [];
  const remote = remotes.includes('origin') ? 'origin' : remotes[0];
  const url = remote ? await git(path, ['remote', 'get-url', remote]) : undefined;
  const revision = await git(path, ['rev-parse', 'HEAD']);
  const branch = await git(path, ['rev-parse', '--abbrev-ref', 'HEAD']);
  const status = revision ? await git(path, ['status', '--porcelain', '--untracked-files=no']) : undefined;
  return {
    name: (await collectionName(path)) ?? basename(path),
    path,
    url: url ? withoutCredentials(url) : undefined,
    revision,
    branch: branch && branch !== 'HEAD' ? branch : undefined,
    modified: status !== undefined && status.length > 0,
  };
}

/** readTestdata reads the variables of `${IMAGE_NAME}.testdata.json`; undefined when it is missing or not JSON. */
export async function readTestdata(path: string): Promise<Record<string, string> | undefined> {
  try {
    if ((await stat(path)).size > MAX_TESTDATA_BYTES) return undefined;
    const doc = JSON.parse(await readFile(path, 'utf8')) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return undefined;
  }
}

/** findTestdata finds the image's testdata.json in its machine folder by the names its deploy files share. */
export async function findTestdata(folder: string, stems: string[]): Promise<Record<string, string> | undefined> {
  for (const stem of stems) {
    const data = await readTestdata(join(folder, `${stem}.testdata.json`));
    if (data) return data;
  }
  return undefined;
}

function epoch(text: string | undefined): Date | undefined {
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? new Date(Math.round(n * 1000)) : undefined;
}

/** BuildTimes are the start of a build and the end of the image recipe's last task. */
export interface BuildTimes {
  buildName: string;
  startedOn: Date | undefined;
  finishedOn: Date | undefined;
}

/**
 * buildTimes reads buildstats: the newest build folder holding a `<recipe>-<PV>-<PR>` folder of
 * the image recipe (a later `bitbake -c push_images` has its own folder, without one); its
 * build_stats' "Build Started:" and the latest "Ended:" of the recipe's task files. Without a
 * recipe name the newest build is taken.
 */
export async function buildTimes(base: string, recipe: string | undefined): Promise<BuildTimes | undefined> {
  let builds: string[];
  try {
    builds = (await readdir(base, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return undefined;
  }
  for (const build of builds.sort().reverse()) {
    const dir = join(base, build);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const recipeDirs = entries.filter((e) => e.isDirectory() && (recipe === undefined || e.name.startsWith(`${recipe}-`)));
    if (recipe !== undefined && !recipeDirs.length) continue;
    const stats = await readFile(join(dir, 'build_stats'), 'utf8').catch(() => '');
    const startedOn = epoch(/^Build Started:\s*([\d.]+)/m.exec(stats)?.[1]);
    let ended: number | undefined;
    for (const r of recipe === undefined ? [] : recipeDirs) {
      for (const task of await readdir(join(dir, r.name)).catch(() => [] as string[])) {
        const text = await readFile(join(dir, r.name, task), 'utf8').catch(() => '');
        const m = /^Ended:\s*([\d.]+)/m.exec(text);
        if (m && (ended === undefined || Number(m[1]) > ended)) ended = Number(m[1]);
      }
    }
    let finishedOn = ended !== undefined ? epoch(String(ended)) : undefined;
    const elapsed = Number(/^Elapsed time:\s*([\d.]+)/m.exec(stats)?.[1]);
    if (!finishedOn && startedOn && Number.isFinite(elapsed)) finishedOn = new Date(startedOn.getTime() + Math.round(elapsed * 1000));
    return { buildName: build, startedOn, finishedOn };
  }
  return undefined;
}

/** buildstatsBase is where the build's buildstats are: BUILDSTATS_BASE, else ${TOPDIR}/tmp/buildstats. */
export function buildstatsBase(env: Env): string | undefined {
  const topdir = readString(env, 'TOPDIR');
  return readString(env, 'BUILDSTATS_BASE') ?? (topdir ? join(topdir, 'tmp', 'buildstats') : undefined);
}

/**
 * gatherFacts collects the facts of the image in machine folder `folder` (its deploy files named by
 * `stems`): testdata.json first, the environment (what the layer handed over) where it is silent.
 * undefined when nothing at all is known of a build (no testdata, no BBLAYERS): a push outside
 * BitBake has no provenance to tell.
 */
export async function gatherFacts(env: Env, folder: string, stems: string[], machine: string): Promise<BuildFacts | undefined> {
  const testdata = await findTestdata(folder, stems);
  const bblayers = readList(env, 'BBLAYERS');
  if (!testdata && !bblayers.length) return undefined;
  const layers: LayerFact[] = [];
  for (const path of bblayers) layers.push(await layerFact(path));
  const image = testdata?.PN;
  const base = buildstatsBase(env);
  const times = base ? await buildTimes(base, image) : undefined;
  return {
    // The machine folder is named after MACHINE (DEPLOY_DIR_IMAGE = deploy/images/${MACHINE}).
    machine: testdata?.MACHINE || machine,
    distro: testdata?.DISTRO || readString(env, 'DISTRO'),
    distroVersion: testdata?.DISTRO_VERSION,
    image,
    imageFeatures: testdata?.IMAGE_FEATURES !== undefined ? testdata.IMAGE_FEATURES.split(/\s+/).filter(Boolean) : undefined,
    imageName: testdata?.IMAGE_NAME,
    layers,
    buildName: times?.buildName,
    startedOn: times?.startedOn,
    finishedOn: times?.finishedOn,
  };
}
