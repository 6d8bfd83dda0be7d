// Tag strategies: every rule, with edge cases.
import t from 'tap';
import { DEFAULT_STRATEGY, baseTags, parseStrategies, sanitizeTag, semverTags, timestampTag, versionTag, withArch } from '../tools/src/push/tags.js';
import { archSuffix, normalizePlatform, platformKey } from '../tools/src/oci/platform.js';
import { isValidTag } from '../tools/src/oci/names.js';

const now = new Date(Date.UTC(2026, 0, 12, 14, 30, 22));

t.test('timestamp is UTC YYYYMMDD-HHMMSS, zero-padded', async (t) => {
  t.equal(timestampTag(now), '20260112-143022');
  t.equal(timestampTag(new Date(Date.UTC(2026, 8, 1, 3, 4, 5))), '20260901-030405');
  // 23:59:59 in UTC-1 is already the next day in UTC: the tag follows UTC, not the local clock
  t.equal(timestampTag(new Date('2026-12-31T23:59:59-01:00')), '20270101-005959');
});

t.test('semver: nested tags, short versions, leading v, pre-releases only their own tag', async (t) => {
  t.same(semverTags('1.2.3'), ['1.2.3', '1.2', '1']);
  t.same(semverTags('v1.2.3'), ['1.2.3', '1.2', '1']);
  t.same(semverTags('V2.0.10'), ['2.0.10', '2.0', '2']);
  t.same(semverTags('1'), ['1'], '1 gives 1, not 1.1.1 (the reference bug)');
  t.same(semverTags('v7'), ['7']);
  t.same(semverTags('1.2'), ['1.2', '1']);
  t.same(semverTags('0.0.1'), ['0.0.1', '0.0', '0']);
  t.same(semverTags('1.2.3-rc1'), ['1.2.3-rc1'], 'a pre-release never moves 1.2 or 1');
  t.same(semverTags('v1.2.3-beta.2'), ['1.2.3-beta.2']);
  t.same(semverTags('1.2.3+build.7'), ['1.2.3_build.7'], "build metadata: '+' is not a tag character");
  t.throws(() => semverTags('1.2.3.4'), { message: /not semantic versioning/ });
  t.throws(() => semverTags('1.0+gitAUTOINC+abc'), { message: /not semantic versioning/ });
  t.throws(() => semverTags('latest'), { message: /not semantic versioning/ });
  t.throws(() => semverTags(''), { message: /not semantic versioning/ });
});

t.test('version: one tag, illegal characters replaced', async (t) => {
  t.equal(versionTag('1.2.3'), '1.2.3');
  t.equal(versionTag('1.0+git0+abc'), '1.0_git0_abc');
  t.equal(versionTag('  2.1  '), '2.1');
  t.throws(() => versionTag('...'), { message: /does not make a valid tag/ });
});

t.test('branch sanitising follows the tag grammar', async (t) => {
  t.equal(sanitizeTag('main'), 'main');
  t.equal(sanitizeTag('feature/login'), 'feature-login');
  t.equal(sanitizeTag('feat/ü-ñ@{x}'), 'feat-x');
  t.equal(sanitizeTag('-leading-dash'), 'leading-dash', 'a tag cannot start with -');
  t.equal(sanitizeTag('.hidden'), 'hidden', 'nor with .');
  t.equal(sanitizeTag('_ok'), '_ok', '_ may start a tag');
  t.equal(sanitizeTag('a//b'), 'a-b');
  t.equal(sanitizeTag('UPPER_case.1'), 'UPPER_case.1', 'tags may hold capitals');
  const long = sanitizeTag(`x${'y'.repeat(300)}`)!;
  t.equal(long.length, 128, '128 characters at most');
  t.ok(isValidTag(long));
  t.equal(sanitizeTag('///'), undefined, 'nothing left');
  t.equal(sanitizeTag(''), undefined);
});

t.test('strategies parse and combine in order, without duplicates', async (t) => {
  t.same(parseStrategies(DEFAULT_STRATEGY), ['timestamp', 'latest']);
  t.same(parseStrategies(' sha,branch  latest sha'), ['sha', 'branch', 'latest']);
  t.same(parseStrategies('LATEST'), ['latest']);
  t.throws(() => parseStrategies('timestamp nightly'), { message: /unknown tag strategy "nightly"/ });
  t.same(await baseTags({ strategies: ['timestamp', 'latest'], now }), ['20260112-143022', 'latest']);
  t.same(await baseTags({ strategies: [], now }), ['latest'], 'no tag at all gives latest');
  t.same(await baseTags({ strategies: ['arch'], now }), ['latest'], 'arch alone suffixes latest');
  t.same(await baseTags({ strategies: ['semver', 'latest'], now, version: '1.2.3' }), ['1.2.3', '1.2', '1', 'latest']);
  t.same(await baseTags({ strategies: ['semver', 'version'], now, version: '1.2.3' }), ['1.2.3', '1.2', '1'], 'version repeats no tag');
  t.same(await baseTags({ strategies: ['sha', 'git'], now, commit: async () => '8a3f2b1' }), ['8a3f2b1'], 'sha and git are the same tag');
  t.same(await baseTags({ strategies: ['branch'], now, branch: async () => 'feature/login' }), ['feature-login']);
  await t.rejects(baseTags({ strategies: ['sha'], now, commit: async () => undefined }), { message: /needs a git commit/ });
  await t.rejects(baseTags({ strategies: ['branch'], now, branch: async () => undefined }), { message: /detached HEAD/ });
  await t.rejects(baseTags({ strategies: ['semver'], now }), { message: /needs a version/ });
  await t.rejects(baseTags({ strategies: ['version'], now }), { message: /needs a version/ });
  let asked = 0;
  await baseTags({ strategies: ['latest'], now, commit: async () => String(++asked) });
  t.equal(asked, 0, 'git is not asked when no strategy needs it');
});

t.test('configured strategies (warn given): one without its input is skipped with one warning line; none left is an error', async (t) => {
  const warnings: string[] = [];
  const warn = (line: string) => warnings.push(line);
  const none = async () => undefined;
  t.same(await baseTags({ strategies: ['sha', 'latest'], now, commit: none, warn }), ['latest'], 'sha skipped, latest kept');
  t.same(warnings, ['tag strategy sha skipped: it needs a git commit (TOPDIR or COREBASE in a git checkout, METADATA_REVISION, or OCI_IMAGE_REVISION)']);
  warnings.length = 0;
  t.same(await baseTags({ strategies: ['timestamp', 'branch', 'version'], now, branch: none, warn }), ['20260112-143022']);
  t.equal(warnings.length, 2, 'one line per skipped strategy');
  t.match(warnings[0], /^tag strategy branch skipped: it needs a git branch \(a detached HEAD has none; .*OCI_IMAGE_BRANCH\)$/);
  t.match(warnings[1], /^tag strategy version skipped: it needs a version \(--version, IMAGE_VERSION or PV\)$/);
  warnings.length = 0;
  await t.rejects(baseTags({ strategies: ['sha', 'arch'], now, commit: none, warn }), {
    code: 'tag',
    message: /^no tag left to push: tag strategy sha skipped/,
  });
  t.equal(warnings.length, 1, 'the skipped strategy was still named');
  t.same(await baseTags({ strategies: ['arch'], now, warn }), ['latest'], 'nothing skipped: no tag still gives latest');
  // A value that is there but unusable stays an error: skipping is for a missing input only.
  await t.rejects(baseTags({ strategies: ['semver', 'latest'], now, version: 'soon', warn }), { code: 'tag', message: /not semantic versioning/ });
});

t.test('arch: each image its own platform, OCI spellings', async (t) => {
  t.equal(archSuffix({ architecture: 'amd64' }), 'amd64');
  t.equal(archSuffix({ architecture: 'x86_64' }), 'amd64', 'from the build system spelling');
  t.equal(archSuffix({ architecture: 'aarch64' }), 'arm64');
  t.equal(archSuffix({ architecture: 'arm64', variant: 'v8' }), 'arm64', "arm64's v8 is implied");
  t.equal(archSuffix({ architecture: 'arm', variant: 'v7' }), 'arm-v7');
  t.equal(archSuffix({ architecture: 'armv7l' }), 'arm-v7');
  t.same(withArch(['latest', '1.2.3'], 'arm-v7'), ['latest-arm-v7', '1.2.3-arm-v7']);
  const long = withArch(['a'.repeat(128)], 'amd64')[0]!;
  t.equal(long.length, 128);
  t.ok(long.endsWith('-amd64') && isValidTag(long));
  t.equal(platformKey(normalizePlatform({ os: 'linux', architecture: 'x86_64' })), 'linux/amd64');
  t.equal(platformKey({ architecture: 'arm', variant: 'v6' }), 'linux/arm/v6', 'os defaults to linux');
});
