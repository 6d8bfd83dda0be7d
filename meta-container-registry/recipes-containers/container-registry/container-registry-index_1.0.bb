SUMMARY = "The build's container registry: generate container-registry.sh, push the OCI images"
DESCRIPTION = "bitbake container-registry-index -c generate_registry_script writes \
${CONTAINER_REGISTRY_STORAGE}/container-registry.sh (and, in secure mode, the PKI). \
bitbake container-registry-index pushes every OCI image in deploy/ to the registry \
(like package-index for packages). Nothing else depends on it; it is not part of world."
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

inherit nopackages container-registry

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
addtask push_images after do_generate_registry_script before do_build
do_push_images[nostamp] = "1"
# The registry is a network service (even on loopback): without this the task runs in its own
# network namespace and cannot reach it.
do_push_images[network] = "1"
do_push_images[vardepsexclude] += "CONTAINER_REGISTRY_PASSWORD"
