SUMMARY = "Podman, skopeo, buildah and CRI-O configuration to pull from the build's container registry"
DESCRIPTION = "A registries.conf.d drop-in that searches the build's registry first, then docker.io \
and quay.io, and its CA in /etc/containers/certs.d/<host:port>/ca.crt in secure mode."

CONTAINER_REGISTRY_CONFIG_KIND = "containers"
require container-registry-config.inc

FILES:${PN} = "${sysconfdir}/containers"
