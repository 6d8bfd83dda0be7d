SUMMARY = "Podman, skopeo, buildah and CRI-O configuration to pull from the build's container registry"
DESCRIPTION = "A registries.conf.d drop-in that searches the build's registry first, then docker.io \
and quay.io; in secure mode it depends on container-registry-ca, which installs the CA in \
/etc/containers/certs.d/<host:port>/ca.crt. With CONTAINER_REGISTRY_REQUIRE_SIGNATURES = "1" it also \
ships /etc/containers/policy.json, a registries.d entry and the build's public signing key, so images \
of the registry without a valid signature are refused."

CONTAINER_REGISTRY_CONFIG_KIND = "containers"
require container-registry-config.inc

FILES:${PN} = "${sysconfdir}/containers"
