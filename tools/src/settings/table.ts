// The settings table: every environment variable the helper or the layer reads, once, with its
// type, default, CLI flag and one line of doc. Everything else is derived from it or checked
// against it: the CLI's options (cli/setting-options.ts), the generated script's variables
// (script/render.ts), the layer's Python list (lib/containerregistry/variables.py, written by
// `npm run build`) and the bbclass's `??=` defaults (test/settings-table.test.ts).
//
// How a value is read (settings/values.ts): empty or blank means unset, and unset means the
// default here, as BitBake (helper_env drops empty values) and the script's conf (no line for an
// empty value) already treat it. Booleans are 1/true/yes/on or 0/false/no/off; anything else is
// an error naming the variable, as are bad numbers and values outside an enum's choices.

/** SettingType is how a value is parsed. */
export type SettingType = 'string' | 'boolean' | 'number' | 'enum' | 'list';

/** SettingSpec is one row of the table. */
export interface SettingSpec {
  readonly type: SettingType;
  /** one line of doc; the CLI's option help adds `[env NAME]` */
  readonly doc: string;
  /**
   * the default as text, parsed like a value from the environment; absent: none. A default that
   * starts with `$XDG_DATA_HOME/` is under the user's data folder (settings/values.ts settingDefault).
   */
  readonly default?: string;
  /** CLI flags (without `--`) that set the same thing; the first is the usual one */
  readonly flags?: readonly string[];
  /** enum: the values allowed (compared trimmed and in lower case) */
  readonly choices?: readonly string[];
  /** number: bounds, whether it must be whole, and its unit for messages */
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  readonly unit?: string;
  /** list: what separates the items (default: white space) */
  readonly separator?: 'space' | 'comma-or-space';
  /**
   * How BitBake hands it to the helper: `class` = container-registry.bbclass declares it
   * (`??=` with a [doc] line) and helper_env passes it; `oe-core` = BitBake's own variable
   * (DEPLOY_DIR_IMAGE, TOPDIR), which helper_env passes too. Either way the generated script's conf
   * carries it. Absent: the helper reads it from its environment only.
   */
  readonly bitbake?: 'class' | 'oe-core';
  /** the bbclass's default where it differs from the helper's (BitBake expressions) */
  readonly bitbakeDefault?: string;
  /** `layer`: only the layer's Python reads it (never handed to the helper) */
  readonly readBy?: 'layer';
  /** it changes what a target config package contains (CONTAINER_REGISTRY_TARGET_VARS) */
  readonly target?: true;
  /** a secret: never in the generated script, never in helper_env's list, never an argument */
  readonly secret?: true;
}

/**
 * SETTINGS is the table, in the order the generated script writes its settings. The defaults are
 * the ones users have today (README, and the reference's variables they came from).
 */
export const SETTINGS = {
  CONTAINER_REGISTRY_STORAGE: {
    type: 'string',
    doc: 'Registry storage directory: blobs, PKI (certs/ca.crt), users (auth/password), PID file, log and the generated script; or s3://BUCKET[/PREFIX] for the images in an S3 bucket (docs/storage-s3.md)',
    // Per user, so every folder finds the same registry ($XDG_DATA_HOME, else ~/.local/share:
    // settings/values.ts settingDefault). A build keeps its own: ${TOPDIR}/container-registry.
    default: '$XDG_DATA_HOME/container-registry',
    flags: ['storage'],
    bitbake: 'class',
    bitbakeDefault: '${TOPDIR}/container-registry',
  },
  CONTAINER_REGISTRY_STATE_DIR: {
    type: 'string',
    doc: "With an s3:// storage: the local folder for the helper's own files (pki/, auth/, PID file, log, config.toml, the generated script); default one per bucket and prefix",
    default: '$XDG_DATA_HOME/container-registry/s3',
    flags: ['state-dir'],
    bitbake: 'class',
    // A build keeps its own beside its storage's usual place (read only with an s3:// storage).
    bitbakeDefault: '${TOPDIR}/container-registry-state',
  },
  CONTAINER_REGISTRY_READ_ONLY: {
    type: 'boolean',
    doc: 'Serve read-only (maintenance, a restore under way): pulls, the UI and /metrics work; pushes, deletes and uploads get 405 UNSUPPORTED',
    default: '0',
    flags: ['read-only'],
  },
  CONTAINER_REGISTRY_URL: {
    type: 'string',
    doc: 'Registry as the build host reaches it: host[:port], http(s)://host[:port] to fix the scheme, a /path is a namespace prefix',
    default: 'localhost:5000',
    flags: ['registry', 'url'],
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_LISTEN: {
    type: 'string',
    doc: 'Address the registry listens on, HOST:PORT (default 127.0.0.1 and the port of CONTAINER_REGISTRY_URL, or 5000)',
    flags: ['listen'],
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_NAMESPACE: {
    type: 'string',
    doc: 'Repository namespace images are pushed under (<url>/<namespace>/<image>)',
    default: 'yocto',
    flags: ['namespace'],
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_TAG_STRATEGY: {
    type: 'string',
    doc: 'Tag strategies of a push, space-separated: timestamp sha git branch semver version latest arch',
    default: 'timestamp latest',
    flags: ['strategy'],
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_IMAGES: {
    type: 'list',
    doc: 'Images a push takes from deploy/, space-separated (default: every OCI image found)',
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_SECURE: {
    type: 'boolean',
    doc: 'Serve HTTPS only with a CA generated in <storage>/pki and require a login to pull and push (--pull/--push or auth/access.toml open it), creating the PKI and default user if missing; targets get the CA',
    default: '0',
    flags: ['tls'],
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_AUTH: {
    type: 'boolean',
    doc: 'Require logins to pull and push, as secure mode now does by default (kept for old configurations; needs secure mode; in BitBake it implies SECURE)',
    default: '0',
    flags: ['auth'],
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_INSECURE: {
    type: 'boolean',
    doc: 'Allow plain HTTP and skip certificate verification; targets list the registry as insecure',
    default: '0',
    flags: ['insecure'],
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_AUTH_MODE: {
    type: 'enum',
    doc: 'Where push credentials come from: none, home (~/.docker/config.json), authfile, credsfile, env',
    default: 'none',
    choices: ['none', 'home', 'authfile', 'credsfile', 'env'],
    flags: ['auth-mode'],
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_AUTHFILE: {
    type: 'string',
    doc: 'Docker-style config.json with credentials (auth mode authfile)',
    flags: ['authfile'],
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_CREDSFILE: {
    type: 'string',
    doc: 'KEY=VALUE credentials file: CONTAINER_REGISTRY_USER/_PASSWORD/_TOKEN lines (auth mode credsfile)',
    flags: ['credsfile'],
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_USERNAME: {
    type: 'string',
    doc: "The local registry's default user in secure mode",
    default: 'yocto',
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_CERT_DAYS: {
    type: 'number',
    doc: 'Validity of a new server certificate',
    default: '365',
    integer: true,
    min: 1,
    max: 36500,
    unit: 'days',
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_CA_DAYS: {
    type: 'number',
    doc: 'Validity of a new CA certificate',
    default: '3650',
    integer: true,
    min: 1,
    max: 36500,
    unit: 'days',
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_CERT_SAN: {
    type: 'string',
    doc: 'More names for the server certificate, DNS:x,IP:y (10.0.2.2, 192.168.7.1 and TARGET_HOST are added)',
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_TARGET_HOST: {
    type: 'string',
    doc: 'The build host as targets reach it, host or host:port; replaces the 10.0.2.2/192.168.7.1 rewrite',
    flags: ['target-host'],
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_TARGET_NETWORK: {
    type: 'enum',
    doc: 'How QEMU targets reach the build host: slirp (user networking, 10.0.2.2; "user" is the same) or tap (runqemu, 192.168.7.1)',
    default: 'slirp',
    choices: ['slirp', 'user', 'tap'],
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_SEARCH_REGISTRIES: {
    type: 'list',
    doc: 'Registries podman/skopeo on targets search after ours for unqualified names, space-separated',
    default: 'docker.io quay.io',
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_MIRRORS: {
    type: 'list',
    doc: 'Upstream registries served as a pull-through cache and used by targets through us: host (docker.io, quay.io) or host=http(s)://host[:port] (docs/cache.md)',
    separator: 'comma-or-space',
    flags: ['mirror'],
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_CACHE_TTL: {
    type: 'string',
    doc: 'How long serve trusts a cached tag of an upstream before it asks the upstream again with a HEAD (30s, 5m, 1h); config.toml may set one per upstream (docs/cache.md)',
    default: '5m',
    flags: ['cache-ttl'],
  },
  DOCKER_REGISTRY_INSECURE: {
    type: 'list',
    doc: 'More registries docker on targets treats as insecure, space-separated (loopback hosts rewritten like the URL)',
    bitbake: 'class',
    target: true,
  },
  CONTAINER_REGISTRY_SIGN: {
    type: 'boolean',
    doc: "push signs what it pushed (sigstore signatures podman and skopeo check) with the storage's pki/signing.key",
    default: '0',
    flags: ['sign'],
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_REQUIRE_SIGNATURES: {
    type: 'boolean',
    doc: 'Targets (podman, skopeo, CRI-O) refuse images of this registry without a valid signature by the signing key',
    default: '0',
    bitbake: 'class',
    target: true,
  },
  DEPLOY_DIR_IMAGE: {
    type: 'string',
    doc: 'Deploy folder of the current machine; a push also reads the machine folders next to it',
    flags: ['deploy-dir'],
    bitbake: 'oe-core',
  },
  CONTAINER_REGISTRY_PASSWORD: {
    type: 'string',
    doc: "Password of the local registry's default user, at least 8 characters (empty: generated); kept 0600 in <storage>/auth/password. Also a credsfile/env-mode key",
    bitbake: 'class',
    secret: true,
  },
  CONTAINER_REGISTRY_USER: {
    type: 'string',
    doc: 'User a push logs in as in auth mode env (also a credsfile key)',
    secret: true,
  },
  CONTAINER_REGISTRY_TOKEN: {
    type: 'string',
    doc: 'Registry token a push uses in auth mode env; wins over USER/PASSWORD (also a credsfile key)',
    secret: true,
  },
  CONTAINER_REGISTRY_UI: {
    type: 'boolean',
    doc: 'Serve the web UI at /ui/ (--no-ui to turn it off)',
    default: '1',
    flags: ['ui'],
  },
  CONTAINER_REGISTRY_METRICS_ACCESS: {
    type: 'enum',
    doc: 'Who may read /metrics: loopback (anonymous from this machine, others per the access policy), policy, anonymous, off',
    default: 'loopback',
    choices: ['loopback', 'policy', 'anonymous', 'off'],
    flags: ['metrics-access'],
  },
  CONTAINER_REGISTRY_MIN_FREE_MB: {
    type: 'number',
    doc: 'MiB of free disk below which /readyz reports not ready',
    default: '256',
    min: 0,
    unit: 'MiB',
    flags: ['min-free-disk'],
  },
  CONTAINER_REGISTRY_WORKERS: {
    type: 'number',
    doc: 'Registry processes serving the port together (default: half the CPU count, 1 to 4; 1 = one process)',
    min: 1,
    max: 64,
    integer: true,
    flags: ['workers'],
  },
  CONTAINER_REGISTRY_MDNS: {
    type: 'boolean',
    doc: 'Announce the registry on the local network with mDNS',
    default: '0',
    flags: ['mdns'],
  },
  CONTAINER_REGISTRY_MDNS_NAME: {
    type: 'string',
    doc: 'Host name to announce with mDNS',
    default: 'registry.local',
    flags: ['mdns-name'],
  },
  CONTAINER_REGISTRY_NOTIFY: {
    type: 'list',
    doc: 'Webhook URLs that get registry events, comma or space separated (more in <storage>/config.toml)',
    separator: 'comma-or-space',
  },
  CONTAINER_REGISTRY_BACKUP_DIR: {
    type: 'string',
    doc: 'Backup folder for serve --backup-every and the default of the backup commands (--to, --from): blobs stored once, one index per backup',
    flags: ['backup-dir'],
  },
  CONTAINER_REGISTRY_BACKUP_EVERY: {
    type: 'string',
    doc: 'How often serve makes a backup into the backup folder (30m, 6h, 1d, 1h30m); unset: no scheduled backups',
    flags: ['backup-every'],
  },
  CONTAINER_REGISTRY_BACKUP_KEEP: {
    type: 'number',
    doc: 'Scheduled backups keep the newest this many backups in the backup folder, pruning older ones after each run',
    default: '7',
    integer: true,
    min: 1,
    unit: 'backups',
    flags: ['backup-keep'],
  },
  CONTAINER_REGISTRY_CACHE_MAX_AGE: {
    type: 'string',
    doc: 'gc expires pull-through cache content last pulled longer ago than this (30d, 12h, 1d12h); pushed content never expires; unset: no age limit',
    flags: ['cache-max-age'],
  },
  CONTAINER_REGISTRY_CACHE_MAX_SIZE: {
    type: 'number',
    doc: 'gc expires the least recently pulled cache content until what the cache holds is at most this; pushed content never counts; unset: no size limit',
    min: 0,
    unit: 'MiB',
    flags: ['cache-max-size'],
  },
  CONTAINER_REGISTRY_SBOM: {
    type: 'string',
    doc: "SBOM push attaches to each platform's manifest: auto (the image's SPDX document beside it in deploy/), none, or an SPDX JSON file",
    default: 'auto',
    flags: ['sbom'],
    bitbake: 'class',
    bitbakeDefault: "${@bb.utils.contains_any('INHERIT', 'create-spdx create-spdx-2.2 create-spdx-3.0', 'auto', 'none', d)}",
  },
  CONTAINER_REGISTRY_BUILD_TRACE: {
    type: 'string',
    doc: "Build trace push attaches to each platform's manifest: none, auto (the trace-event JSON of the build that made the image, from buildstats), or a buildstats folder",
    default: 'none',
    flags: ['build-trace'],
    bitbake: 'class',
  },
  CONTAINER_REGISTRY_PROVENANCE: {
    type: 'string',
    doc: 'Provenance push attaches: auto (SLSA v1 from the build: testdata.json, BBLAYERS, buildstats; nothing outside a build), none, or a statement/DSSE file',
    default: 'auto',
    flags: ['provenance'],
    bitbake: 'class',
  },
  BBLAYERS: {
    type: 'list',
    doc: "The build's layers; provenance records each one's git remote and revision",
    bitbake: 'oe-core',
  },
  DISTRO: {
    type: 'string',
    doc: "The build's distro, for provenance when the image's testdata.json does not say",
    bitbake: 'oe-core',
  },
  BUILDSTATS_BASE: {
    type: 'string',
    doc: "BitBake's buildstats folder (${TMPDIR}/buildstats): provenance's start and end times (default: TOPDIR/tmp/buildstats)",
    bitbake: 'oe-core',
  },
  IMAGE_VERSION: {
    type: 'string',
    doc: 'Version for the semver and version tag strategies',
    flags: ['version'],
  },
  PV: {
    type: 'string',
    doc: "The recipe's version: the version tag strategies use it when IMAGE_VERSION is unset",
  },
  OCI_IMAGE_REVISION: {
    type: 'string',
    doc: 'Commit for the sha/git tag strategies, "none" for none (default: git at TOPDIR, else COREBASE, else METADATA_REVISION)',
  },
  OCI_IMAGE_BRANCH: {
    type: 'string',
    doc: 'Branch for the branch tag strategy, "none" for none (default: git at TOPDIR, else COREBASE, else METADATA_BRANCH)',
  },
  TOPDIR: {
    type: 'string',
    doc: 'Build directory; its git checkout is the first asked for the sha/git and branch tags (default: the current folder)',
    bitbake: 'oe-core',
  },
  COREBASE: {
    type: 'string',
    doc: 'The openembedded-core (or poky) checkout of the build; its git gives the sha/git and branch tags when TOPDIR is no checkout',
    bitbake: 'oe-core',
  },
  METADATA_REVISION: {
    type: 'string',
    doc: 'The metadata revision BitBake computed; the sha/git tag when neither TOPDIR nor COREBASE is a git checkout',
    bitbake: 'oe-core',
  },
  METADATA_BRANCH: {
    type: 'string',
    doc: 'The metadata branch BitBake computed; the branch tag when neither TOPDIR nor COREBASE is a git checkout',
    bitbake: 'oe-core',
  },
  CONTAINER_REGISTRY_ENGINE: {
    type: 'list',
    doc: 'Container engine(s) of an image for IMAGE_FEATURES container-registry (default: VIRTUAL-RUNTIME_container_engine, CONTAINER_PROFILE, docker)',
    bitbake: 'class',
    readBy: 'layer',
  },
  CONTAINER_REGISTRY_NODE: {
    type: 'string',
    doc: 'node (>= 20) that runs the helper (default: node on the PATH)',
    bitbake: 'class',
    readBy: 'layer',
  },
  CONTAINER_REGISTRY_HELPER: {
    type: 'string',
    doc: "The bundled helper, the layer's files/container-registry.mjs",
    bitbake: 'class',
    bitbakeDefault: "${@bb.utils.which(d.getVar('BBPATH'), 'files/container-registry.mjs')}",
    readBy: 'layer',
  },
  CONTAINER_REGISTRY_SIGNING_PUBKEY: {
    type: 'string',
    doc: 'Public key targets verify signatures with when CONTAINER_REGISTRY_REQUIRE_SIGNATURES is on',
    bitbake: 'class',
    // In the storage folder, or in CONTAINER_REGISTRY_STATE_DIR for an s3:// storage (settings.py local_dir).
    bitbakeDefault: '${@containerregistry.settings.local_dir(d)}/pki/signing.pub',
    readBy: 'layer',
  },
  CONTAINER_REGISTRY_CA: {
    type: 'string',
    doc: 'CA certificate targets trust in secure mode',
    bitbake: 'class',
    bitbakeDefault: '${@containerregistry.settings.local_dir(d)}/pki/ca.crt',
    readBy: 'layer',
  },
} as const satisfies Record<string, SettingSpec>;

/** SettingName is a variable of the table. */
export type SettingName = keyof typeof SETTINGS;

type Table = typeof SETTINGS;
type NamesOfType<T extends SettingType> = { [K in SettingName]: Table[K]['type'] extends T ? K : never }[SettingName];

/** StringSetting names the string settings. */
export type StringSetting = NamesOfType<'string'>;
/** BooleanSetting names the boolean settings. */
export type BooleanSetting = NamesOfType<'boolean'>;
/** NumberSetting names the number settings. */
export type NumberSetting = NamesOfType<'number'>;
/** EnumSetting names the enum settings. */
export type EnumSetting = NamesOfType<'enum'>;
/** ListSetting names the list settings. */
export type ListSetting = NamesOfType<'list'>;
/** EnumValue is the union of an enum setting's choices. */
export type EnumValue<K extends EnumSetting> = Table[K]['choices'][number];

/** settingSpec gives a row of the table. */
export function settingSpec(name: SettingName): SettingSpec {
  return SETTINGS[name];
}

/** SETTING_NAMES lists the table's variables in its order. */
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];
