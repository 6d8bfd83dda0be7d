SUMMARY = "The build's container registry: generate container-registry.sh, push the OCI images"
DESCRIPTION = "bitbake container-registry-index -c generate_registry_script writes \
${CONTAINER_REGISTRY_STORAGE}/container-registry.sh (and, in secure mode, the PKI). \
bitbake container-registry-index -c push_images pushes every OCI image in deploy/ to the registry. \
Nothing else depends on it; it is not part of world, and no task reachable from do_build uses the network."
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

# nospdx: the recipe builds nothing, so it needs no SBOM, nor the natives create-spdx pulls in (quilt,
# patch, autotools), which would have to be fetched before an offline build could run it.
inherit nopackages nospdx container-registry
# scarthgap's SPDX 2.2 class names this task so, and its nospdx misses it.
deltask do_create_runtime_spdx

INHIBIT_DEFAULT_DEPS = "1"
PACKAGES = ""
EXCLUDE_FROM_WORLD = "1"

deltask do_fetch
deltask do_unpack
deltask do_patch
deltask do_configure
deltask do_compile
deltask do_install
deltask do_populate_lic
deltask do_populate_sysroot

python do_generate_registry_script() {
    containerregistry.helper.generate_script(d)
}
addtask generate_registry_script
do_generate_registry_script[nostamp] = "1"
# The password reaches the helper through its environment only; it stays out of task hashes and sigdata.
do_generate_registry_script[vardepsexclude] += "CONTAINER_REGISTRY_PASSWORD"

python do_push_images() {
    containerregistry.helper.push(d)
}
# Not before do_build: a task with network access reachable from do_build fails yocto-check-layer
# since yocto-5.3 (world builds must not reach the network). Pushing is its own command.
addtask push_images after do_generate_registry_script
do_push_images[nostamp] = "1"
# The registry is a network service (even on loopback): without this the task runs in its own
# network namespace and cannot reach it.
do_push_images[network] = "1"
do_push_images[vardepsexclude] += "CONTAINER_REGISTRY_PASSWORD"

# `bitbake container-registry-index` alone pushed in the tool this layer replaces: say what does now.
python do_build() {
    containerregistry.helper.build_hint(d)
}
do_build[nostamp] = "1"
python __anonymous() {
    # base.bbclass makes do_build noexec; the task runs only when the flag is gone (not merely "0").
    d.delVarFlag("do_build", "noexec")
}
