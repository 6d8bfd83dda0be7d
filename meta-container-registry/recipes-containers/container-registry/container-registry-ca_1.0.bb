SUMMARY = "The build's container registry CA in the system trust store"
DESCRIPTION = "Installs the registry's CA (secure mode) as \
/usr/local/share/ca-certificates/container-registry-ca.crt; update-ca-certificates runs on the \
target, never on the build host. The engines' certs.d copies belong to their config packages."

CONTAINER_REGISTRY_CONFIG_KIND = "ca"
require container-registry-config.inc

FILES:${PN} = "/usr/local/share/ca-certificates"
RDEPENDS:${PN} = "ca-certificates"

# On the target only: at image creation oe-core defers this to first boot (run-postinsts).
pkg_postinst_ontarget:${PN}() {
    update-ca-certificates
}
