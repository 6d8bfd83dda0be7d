SUMMARY = "Docker configuration to pull from the build's container registry"
DESCRIPTION = "/etc/docker/daemon.json (insecure-registries) in insecure mode, and the registry's \
CA in /etc/docker/certs.d/<host:port>/ca.crt in secure mode, addressed as the target sees the registry."

CONTAINER_REGISTRY_CONFIG_KIND = "docker"
require container-registry-config.inc

FILES:${PN} = "${sysconfdir}/docker"
# Neither secure nor insecure (a registry with a publicly trusted certificate): nothing to install.
ALLOW_EMPTY:${PN} = "1"
