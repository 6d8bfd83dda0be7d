SUMMARY = "The build's container registry CA for the system trust store, docker and podman"
DESCRIPTION = "Installs the registry's CA (secure mode) as \
/usr/local/share/ca-certificates/container-registry-ca.crt (update-ca-certificates runs on the \
target, never on the build host) and as ca.crt in /etc/docker/certs.d/<host:port>/ and \
/etc/containers/certs.d/<host:port>/, addressed as the target sees the registry. The docker, \
podman and vdkr config packages depend on it in secure mode; containerd's copy sits beside its hosts.toml."

CONTAINER_REGISTRY_CONFIG_KIND = "ca"
require container-registry-config.inc

FILES:${PN} = "/usr/local/share/ca-certificates ${sysconfdir}/docker/certs.d ${sysconfdir}/containers/certs.d"
RDEPENDS:${PN} = "ca-certificates"

# On the target only: at image creation oe-core defers this to first boot (run-postinsts).
pkg_postinst_ontarget:${PN}() {
    update-ca-certificates
}
