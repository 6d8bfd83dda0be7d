// container-registry.sh and container-registry.conf: the thin bash wrapper a build gets, as text.
// The script bakes in where node, the helper and the storage are; the conf holds the settings as
// environment variables the helper reads (CONTAINER_REGISTRY_*). No secret is ever written to
// either: a password goes to auth/password (0600), see install.ts. Which settings the conf carries,
// and in what order, is the settings table's SCRIPT_VARIABLES (settings/layer.ts).
import { SCRIPT_VARIABLES, type ScriptVariable } from '../settings/layer.js';

/** SCRIPT_NAME is the wrapper's file name in the storage directory. */
export const SCRIPT_NAME = 'container-registry.sh';
/** CONF_NAME is the settings file the wrapper sources. */
export const CONF_NAME = 'container-registry.conf';
/** HELPER_NAME is the copy of the bundled helper's entry kept next to the script (it outlives tmp/). */
export const HELPER_NAME = 'container-registry.mjs';
/** HELPER_CHUNKS is the folder of the helper's chunks beside its entry (scripts/bundle-files.mjs names it the same). */
export const HELPER_CHUNKS = 'container-registry-chunks';
/**
 * SCRIPT_ENV is the variable the wrapper exports for the helper: the wrapper as it was run (`$0`),
 * so a hint names the command the user types (`./container-registry.sh start`). Not a setting.
 */
export const SCRIPT_ENV = 'CR_SCRIPT';

/**
 * SCRIPT_GC_FLAGS go before the user's arguments of `container-registry.sh gc`, so that gc right
 * after `delete` frees the space: a manifest whose tag was deleted goes at once with the blobs only
 * it used, while the grace period still keeps pushes in flight whole (storage/gc.ts). The helper's
 * own default stays distribution's (untagged manifests kept); `--no-delete-untagged` after it wins.
 */
export const SCRIPT_GC_FLAGS = ['--delete-untagged'] as const;

/** ScriptSpec is what the wrapper bakes in. */
export interface ScriptSpec {
  /** absolute storage directory (where the script, conf and helper copy live); for an s3:// storage, its local state directory */
  storage: string;
  /** the s3:// storage URL, when the images are in a bucket (the conf names it; `storage` is then the state directory) */
  objectStore?: string;
  /** absolute path of node */
  node: string;
  /** settings; empty or missing values are left out */
  settings: Partial<Record<ScriptVariable, string>>;
}

/** shellQuote single-quotes a word for bash (`it's` → `'it'\''s'`). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function assertPlain(name: string, value: string): void {
  // A newline or NUL in a baked value would break the line-per-setting format.
  if (/[\n\r\0]/.test(value)) throw new Error(`${name} must not contain a newline or NUL`);
}

/** renderConf is container-registry.conf: one `cr_set NAME 'value'` line per non-empty setting. */
export function renderConf(spec: ScriptSpec): string {
  const lines = [
    '# container-registry.conf: settings of container-registry.sh, written by',
    '# `bitbake container-registry-index -c generate_registry_script` (regenerating overwrites it).',
    '# A variable already set in the environment wins: CONTAINER_REGISTRY_TAG_STRATEGY="sha latest" container-registry.sh push',
  ];
  // An s3:// storage: the conf names the bucket and pins the state directory the script lives in.
  // Nothing of S3's credentials: the script reads AWS_* (or ~/.aws/credentials) where it runs.
  const pinned: Partial<Record<ScriptVariable, string>> = spec.objectStore
    ? { CONTAINER_REGISTRY_STORAGE: spec.objectStore, CONTAINER_REGISTRY_STATE_DIR: spec.storage }
    : { CONTAINER_REGISTRY_STORAGE: spec.storage };
  for (const name of SCRIPT_VARIABLES) {
    const value = pinned[name] ?? spec.settings[name];
    if (value === undefined || value === '') continue;
    assertPlain(name, value);
    lines.push(`cr_set ${name} ${shellQuote(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** USAGE is the wrapper's own help, printed before the helper's. */
export const USAGE = `Usage: container-registry.sh <command> [options]

Commands (run by the container-registry helper with this build's settings):
  start                   Start the registry in the background
  stop                    Stop it
  status                  Tell whether it runs
  push [image] [options]  Push the OCI images in deploy/ (--tag, --strategy, --version, --auth-mode, ...)
  import <image> [name]   Copy an image from another registry into this one
  delete <image>:<tag>    Delete one tag
  gc [options]            Free what deleted tags left (gc --delete-untagged)
  list                    List images with their tags
  tags <image>            List the tags of one image
  catalog                 List repositories (raw API)
  help                    This text, then the helper's own help

Settings: container-registry.conf next to this script; the environment overrides them.`;

/** renderScript is container-registry.sh. */
export function renderScript(spec: ScriptSpec): string {
  assertPlain('storage', spec.storage);
  assertPlain('node', spec.node);
  return `#!/usr/bin/env bash
# container-registry.sh: the container registry of this Yocto build (meta-container-registry).
# Generated by \`bitbake container-registry-index -c generate_registry_script\`; regenerate rather
# than edit. It runs the container-registry helper kept next to it with the settings in
# container-registry.conf. Run \`container-registry.sh help\` for the commands.
set -euo pipefail

CR_DIR=${shellQuote(spec.storage)}
CR_NODE=${shellQuote(spec.node)}
CR_HELPER="$CR_DIR/${HELPER_NAME}"

# cr_set NAME VALUE exports NAME=VALUE unless the environment already sets NAME.
cr_set() {
  if [ -z "\${!1+set}" ]; then export "$1=$2"; else export "\${1?}"; fi
}
# shellcheck source=/dev/null
. "$CR_DIR/${CONF_NAME}"

cr_usage() {
  cat <<'CR_USAGE'
${USAGE}
CR_USAGE
}

if [ ! -x "$CR_NODE" ]; then
  CR_NODE=$(command -v node || true)
fi

case "\${1:-help}" in
  help | -h | --help)
    cr_usage
    if [ -n "$CR_NODE" ] && [ -f "$CR_HELPER" ]; then
      echo
      "$CR_NODE" "$CR_HELPER" --help
    fi
    exit 0
    ;;
esac

if [ -z "$CR_NODE" ]; then
  echo "container-registry.sh: node (>= 20) not found: install Node.js or regenerate with CONTAINER_REGISTRY_NODE set" >&2
  exit 127
fi
if [ ! -f "$CR_HELPER" ]; then
  echo "container-registry.sh: $CR_HELPER is missing: run bitbake container-registry-index -c generate_registry_script" >&2
  exit 1
fi
# Hints name this script, as it was run, rather than the helper.
export ${SCRIPT_ENV}="$0"
if [ "\${1:-}" = gc ]; then
  # gc frees what deleted tags left (manifests no tag reaches, then their blobs); flags after win.
  shift
  exec "$CR_NODE" "$CR_HELPER" gc ${SCRIPT_GC_FLAGS.join(' ')} "$@"
fi
exec "$CR_NODE" "$CR_HELPER" "$@"
`;
}
