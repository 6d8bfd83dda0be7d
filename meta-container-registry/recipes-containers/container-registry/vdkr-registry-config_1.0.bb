SUMMARY = "vdkr configuration to pull from the build's container registry"
DESCRIPTION = "/etc/vdkr/registry.conf: the default registry (with namespace) and insecure list \
vdkr's init reads, addressed as the QEMU guest sees the registry; in secure mode DOCKER_REGISTRY_SECURE \
and a dependency on container-registry-ca (the CA in /etc/docker/certs.d/<host:port>/ca.crt)."

CONTAINER_REGISTRY_CONFIG_KIND = "vdkr"
require container-registry-config.inc

FILES:${PN} = "${sysconfdir}/vdkr"
