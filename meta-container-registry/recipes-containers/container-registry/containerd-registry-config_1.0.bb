SUMMARY = "containerd configuration to pull from the build's container registry"
DESCRIPTION = "/etc/containerd/certs.d/<host:port>/hosts.toml (http in insecure mode, https with \
the registry's CA in secure mode) for containerd, k3s and Kind-style targets. containerd reads it \
when its CRI registry config_path (or ctr --hosts-dir) is /etc/containerd/certs.d."

CONTAINER_REGISTRY_CONFIG_KIND = "containerd"
require container-registry-config.inc

FILES:${PN} = "${sysconfdir}/containerd/certs.d"
