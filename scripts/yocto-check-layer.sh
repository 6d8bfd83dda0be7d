#!/bin/bash
# Run oe-core's yocto-check-layer on meta-container-registry, in a fresh build folder, offline.
#
#   BITBAKE_DIR=... OECORE_DIR=... scripts/yocto-check-layer.sh [MACHINE...]
#
# BITBAKE_DIR and OECORE_DIR name checkouts of openembedded/bitbake and openembedded-core of one
# release (scarthgap: yocto-5.0.x with bitbake 2.8; wrynose: yocto-6.0.x with bitbake 2.18; master
# with master). oe-core is parsed whole (no mask), so a run takes a few minutes. As root, BitBake's
# sanity class refuses to run: the build folder drops it (INHERIT:remove), nothing else changes.
# Prints yocto-check-layer's own report and exits with its status.
set -euo pipefail

: "${BITBAKE_DIR:?set BITBAKE_DIR to an openembedded/bitbake checkout}"
: "${OECORE_DIR:?set OECORE_DIR to an openembedded-core checkout}"
layer=$(cd "$(dirname "$0")/../meta-container-registry" && pwd)
machines=("${@:-qemux86-64}")
build=$(mktemp -d "${TMPDIR:-/tmp}/cr-check-layer.XXXXXX")
trap 'rm -rf "$build"' EXIT

export BITBAKEDIR=$BITBAKE_DIR LANG=${LANG:-en_US.UTF-8} LC_ALL=${LC_ALL:-en_US.UTF-8}
# oe-init-build-env reads unset variables: not under set -u.
set +u
# shellcheck source=/dev/null
. "$OECORE_DIR/oe-init-build-env" "$build" >/dev/null
set -u
cat >>conf/local.conf <<EOF
BB_NO_NETWORK = "1"
DL_DIR = "$build/downloads"
SSTATE_DIR = "$build/sstate-cache"
EOF
if [ "$(id -u)" = 0 ]; then echo 'INHERIT:remove = "sanity"' >>conf/local.conf; fi
echo "yocto-check-layer: oe-core $(git -C "$OECORE_DIR" describe --tags --always 2>/dev/null || echo '?'), bitbake $(git -C "$BITBAKE_DIR" describe --tags --always 2>/dev/null || echo '?'), machines ${machines[*]}"
yocto-check-layer "$layer" --no-auto-dependency --machines "${machines[@]}"
