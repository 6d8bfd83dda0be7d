SUMMARY = "Docker configuration to pull from the build's container registry"
DESCRIPTION = "/etc/docker/daemon.json (insecure-registries) in insecure mode, addressed as the \
target sees the registry; in secure mode it depends on container-registry-ca, which installs the CA \
in /etc/docker/certs.d/<host:port>/ca.crt."

CONTAINER_REGISTRY_CONFIG_KIND = "docker"
require container-registry-config.inc

FILES:${PN} = "${sysconfdir}/docker"
# Neither secure nor insecure (a registry with a publicly trusted certificate): nothing to install.
ALLOW_EMPTY:${PN} = "1"
