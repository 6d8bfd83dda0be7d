// Tag strategies: timestamp sha git branch semver version latest arch, and explicit --tag.
// Every tag is checked against the tag grammar [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
// The parser alone: semver's index evaluates every function and range module (~45 KB) as it loads.
import parseSemver from 'semver/functions/parse.js';
import { isValidTag } from '../oci/names.js';
import { HelperError } from '../errors/helper-error.js';

/** STRATEGIES are the words CONTAINER_REGISTRY_TAG_STRATEGY / --strategy accept. */
export const STRATEGIES = ['timestamp', 'sha', 'git', 'branch', 'semver', 'version', 'latest', 'arch'] as const;

/** Strategy is one of STRATEGIES. */
export type Strategy = (typeof STRATEGIES)[number];

/** DEFAULT_STRATEGY is the reference's default. */
export const DEFAULT_STRATEGY = 'timestamp latest';

/** TagError is a strategy that cannot give a tag (no git, no version, an invalid result), or a run left with no tag. */
export class TagError extends HelperError {
  constructor(message: string) {
    super('tag', message);
    this.name = 'TagError';
  }
}

/** parseStrategies splits a space- or comma-separated list and rejects unknown words. */
export function parseStrategies(text: string): Strategy[] {
  const words = text.split(/[\s,]+/).filter(Boolean);
  const out: Strategy[] = [];
  for (const w of words) {
    const s = w.toLowerCase();
    if (!(STRATEGIES as readonly string[]).includes(s)) throw new TagError(`unknown tag strategy ${JSON.stringify(w)} (known: ${STRATEGIES.join(' ')})`);
    if (!out.includes(s as Strategy)) out.push(s as Strategy);
  }
  return out;
}

/** timestampTag formats `date` in UTC as YYYYMMDD-HHMMSS (one per run: the caller passes the run's start). */
export function timestampTag(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

/**
 * sanitizeTag turns any text (a branch name) into a valid tag: characters outside [A-Za-z0-9_.-]
 * become '-', leading '.' and '-' go (a tag starts with [A-Za-z0-9_]), at most 128 characters.
 * Undefined when nothing is left.
 */
export function sanitizeTag(text: string): string | undefined {
  let t = text.replace(/[^A-Za-z0-9_.-]/g, '-');
  t = t.replace(/-{2,}/g, '-');
  t = t.replace(/^[.-]+/, '');
  t = t.slice(0, 128).replace(/[.-]+$/, '');
  return t && isValidTag(t) ? t : undefined;
}

/**
 * semverTags gives the nested tags of a version: 1.2.3 → 1.2.3 1.2 1; 1.2 → 1.2 1; 1 → 1;
 * a leading v is accepted and dropped; a pre-release or build (1.2.3-rc1, 1.2.3+b7) gets only its
 * own tag ('+' written '_'), so it never moves the floating 1.2 and 1.
 */
export function semverTags(version: string): string[] {
  const v = version.trim().replace(/^v(?=\d)/i, '');
  if (/^\d+$/.test(v)) return [String(Number(v))];
  if (/^\d+\.\d+$/.test(v)) {
    const [maj, min] = v.split('.').map(Number);
    return [`${maj}.${min}`, `${maj}`];
  }
  const parsed = parseSemver(v);
  if (!parsed)
    throw new TagError(
      `version ${JSON.stringify(version)} is not semantic versioning (MAJOR[.MINOR[.PATCH]][-PRERELEASE]); use the "version" strategy for free-form versions`,
    );
  if (parsed.prerelease.length || parsed.build.length) {
    const own = parsed.version + (parsed.build.length ? `_${parsed.build.join('.')}` : '');
    if (!isValidTag(own)) throw new TagError(`version ${JSON.stringify(version)} does not make a valid tag`);
    return [own];
  }
  return [`${parsed.major}.${parsed.minor}.${parsed.patch}`, `${parsed.major}.${parsed.minor}`, `${parsed.major}`];
}

/** versionTag is the version as one tag (characters outside the tag grammar become '_'). */
export function versionTag(version: string): string {
  const t = version
    .trim()
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^[.-]+/, '')
    .slice(0, 128);
  if (!isValidTag(t)) throw new TagError(`version ${JSON.stringify(version)} does not make a valid tag`);
  return t;
}

/** TagInputs is what the strategies read; git facts are only asked for when a strategy needs them. */
export interface TagInputs {
  strategies: Strategy[];
  /** the run's start (one timestamp per run) */
  now: Date;
  version?: string;
  /** short commit, or a function that finds it (git is run only when sha/git is asked for) */
  commit?: () => Promise<string | undefined>;
  branch?: () => Promise<string | undefined>;
  /**
   * Given: a strategy whose input is missing (no commit, no branch, no version) is skipped, and
   * this gets one line naming it and what would provide the input (the configured strategies,
   * CONTAINER_REGISTRY_TAG_STRATEGY, which a build folder outside git must not fail). Absent: that
   * is a TagError (an explicit --strategy asks for exactly those tags).
   */
  warn?: (line: string) => void;
}

/** NEEDS says what each strategy that can lack its input needs, and what provides it. */
const NEEDS = {
  sha: 'a git commit (TOPDIR or COREBASE in a git checkout, METADATA_REVISION, or OCI_IMAGE_REVISION)',
  branch: 'a git branch (a detached HEAD has none; TOPDIR or COREBASE on a branch, METADATA_BRANCH, or OCI_IMAGE_BRANCH)',
  version: 'a version (--version, IMAGE_VERSION or PV)',
} as const;

/**
 * baseTags computes the tags every image of a run gets (before the per-image `arch` suffix),
 * in strategy order, without duplicates. A strategy without its input fails, or with `warn` is
 * skipped; no strategy that gives a tag → `latest`, unless strategies were skipped (then the run
 * has no tag it was configured to give, which is a TagError rather than a surprise `latest`).
 */
export async function baseTags(inputs: TagInputs): Promise<string[]> {
  const tags: string[] = [];
  const skipped: Strategy[] = [];
  const add = (t: string) => {
    if (!isValidTag(t)) throw new TagError(`${JSON.stringify(t)} is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
    if (!tags.includes(t)) tags.push(t);
  };
  const missing = (s: Strategy, needs: string) => {
    if (!inputs.warn) throw new TagError(`strategy ${s} needs ${needs}`);
    inputs.warn(`tag strategy ${s} skipped: it needs ${needs}`);
    skipped.push(s);
  };
  for (const s of inputs.strategies) {
    switch (s) {
      case 'timestamp':
        add(timestampTag(inputs.now));
        break;
      case 'sha':
      case 'git': {
        const c = await inputs.commit?.();
        if (!c) {
          missing(s, NEEDS.sha);
          break;
        }
        const t = sanitizeTag(c.slice(0, 12));
        if (!t) throw new TagError(`commit ${JSON.stringify(c)} does not make a valid tag`);
        add(t);
        break;
      }
      case 'branch': {
        const b = await inputs.branch?.();
        if (!b) {
          missing(s, NEEDS.branch);
          break;
        }
        const t = sanitizeTag(b);
        if (!t) throw new TagError(`branch ${JSON.stringify(b)} leaves no valid tag after sanitising`);
        add(t);
        break;
      }
      case 'semver':
        if (!inputs.version) missing(s, NEEDS.version);
        else for (const t of semverTags(inputs.version)) add(t);
        break;
      case 'version':
        if (!inputs.version) missing(s, NEEDS.version);
        else add(versionTag(inputs.version));
        break;
      case 'latest':
        add('latest');
        break;
      case 'arch':
        break;
    }
  }
  if (!tags.length && skipped.length) {
    throw new TagError(`no tag left to push: tag strategy ${skipped.join(', ')} skipped (see the warnings); add timestamp or latest, or give --tag`);
  }
  if (!tags.length) tags.push('latest');
  return tags;
}

/**
 * withArch appends an image's own platform to every tag (latest → latest-arm64): the `arch`
 * strategy. A tag that would pass 128 characters keeps its suffix and loses the end of its base.
 */
export function withArch(tags: string[], suffix: string): string[] {
  return tags.map((t) => {
    const s = `-${suffix}`;
    const base = t.length + s.length > 128 ? t.slice(0, 128 - s.length).replace(/[.-]+$/, '') : t;
    return `${base}${s}`;
  });
}
