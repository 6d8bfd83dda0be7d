# container-registry.bbclass: settings and helpers for meta-container-registry's recipes.
#
# The recipes of this layer inherit it; set the variables below in local.conf (or a distro conf).
# Quick start (README.md has the whole story):
#   CONTAINER_REGISTRY_URL = "localhost:5000"
#   CONTAINER_REGISTRY_NAMESPACE = "yocto"
#   CONTAINER_REGISTRY_INSECURE = "1"
#   bitbake container-registry-index -c generate_registry_script
#   ${CONTAINER_REGISTRY_STORAGE}/container-registry.sh start
#   ${CONTAINER_REGISTRY_STORAGE}/container-registry.sh push
# (with an s3:// STORAGE the script is in ${CONTAINER_REGISTRY_STATE_DIR})
#
# Variables read: every CONTAINER_REGISTRY_* below, DOCKER_REGISTRY_INSECURE, DEPLOY_DIR_IMAGE,
# TOPDIR, PATH (to find node); for provenance BBLAYERS, DISTRO and BUILDSTATS_BASE.
# The rules (AUTH implies SECURE, SECURE with INSECURE is fatal, engine -> package) live in
# lib/containerregistry/settings.py, shared with layer.conf's FEATURE_PACKAGES_container-registry so images that never inherit this class get the same answers;
# running the helper (node >= 20, its environment, the tasks' steps) in lib/containerregistry/helper.py.
# The variables and defaults below are those of the helper's settings table
# (tools/src/settings/table.ts); test/settings-table.test.ts fails when the two differ.

CONTAINER_REGISTRY_URL[doc] = "Registry as the build host reaches it, host:port. Targets see a localhost/127.0.0.1/::1 host rewritten (10.0.2.2 or 192.168.7.1)."
CONTAINER_REGISTRY_URL ??= "localhost:5000"

CONTAINER_REGISTRY_NAMESPACE[doc] = "Repository namespace images are pushed under (localhost:5000/<namespace>/<image>)."
CONTAINER_REGISTRY_NAMESPACE ??= "yocto"

CONTAINER_REGISTRY_TAG_STRATEGY[doc] = "Tags a push gives each image, space-separated: timestamp sha git branch semver version latest arch."
CONTAINER_REGISTRY_TAG_STRATEGY ??= "timestamp latest"

CONTAINER_REGISTRY_STORAGE[doc] = "Registry storage, PKI and the generated container-registry.sh; outside tmp/ so it survives cleanall. Or s3://BUCKET[/PREFIX]: the images in an S3 bucket (AWS_* credentials from the environment or ~/.aws/credentials when the script runs, never written), the rest in STATE_DIR."
CONTAINER_REGISTRY_STORAGE ??= "${TOPDIR}/container-registry"

CONTAINER_REGISTRY_STATE_DIR[doc] = "With an s3:// STORAGE: the local folder for pki/, auth/, the PID file, the log and the generated container-registry.sh. Unused with a storage folder."
CONTAINER_REGISTRY_STATE_DIR ??= "${TOPDIR}/container-registry-state"

CONTAINER_REGISTRY_LISTEN[doc] = "Address the registry listens on, HOST:PORT; empty means 127.0.0.1 and the URL's port. runqemu tap guests need 192.168.7.1:PORT or 0.0.0.0:PORT."
CONTAINER_REGISTRY_LISTEN ??= ""

CONTAINER_REGISTRY_INSECURE[doc] = "1: targets reach the registry over plain HTTP (insecure-registries, insecure = true). Fatal together with SECURE."
CONTAINER_REGISTRY_INSECURE ??= "0"

CONTAINER_REGISTRY_SECURE[doc] = "1: the registry serves HTTPS with a CA generated in STORAGE/pki (targets get the CA) and pull and push need a login (the user and its password in STORAGE/auth/password are created on first start). Implied by AUTH."
CONTAINER_REGISTRY_SECURE ??= "0"

CONTAINER_REGISTRY_AUTH[doc] = "1: implies SECURE, which already asks for logins; kept for configurations that set it."
CONTAINER_REGISTRY_AUTH ??= "0"

CONTAINER_REGISTRY_AUTH_MODE[doc] = "Credentials a push uses for the registry: none, home (~/.docker/config.json), authfile, credsfile, env."
CONTAINER_REGISTRY_AUTH_MODE ??= "none"

CONTAINER_REGISTRY_AUTHFILE[doc] = "Docker-style config.json for AUTH_MODE authfile."
CONTAINER_REGISTRY_AUTHFILE ??= ""

CONTAINER_REGISTRY_CREDSFILE[doc] = "KEY=value credentials file (CONTAINER_REGISTRY_USER/_PASSWORD/_TOKEN) for AUTH_MODE credsfile."
CONTAINER_REGISTRY_CREDSFILE ??= ""

CONTAINER_REGISTRY_USERNAME[doc] = "User of the local registry in AUTH mode."
CONTAINER_REGISTRY_USERNAME ??= "yocto"

CONTAINER_REGISTRY_PASSWORD[doc] = "Password of the local registry in AUTH mode, at least 8 characters; empty generates one. Written to STORAGE/auth/password (0600), never into the script or a command line."
CONTAINER_REGISTRY_PASSWORD ??= ""

CONTAINER_REGISTRY_CERT_DAYS[doc] = "Validity of the server certificate, in days."
CONTAINER_REGISTRY_CERT_DAYS ??= "365"

CONTAINER_REGISTRY_CA_DAYS[doc] = "Validity of the CA certificate, in days."
CONTAINER_REGISTRY_CA_DAYS ??= "3650"

CONTAINER_REGISTRY_CERT_SAN[doc] = "More subjectAltNames for the server certificate, DNS:x,IP:y (10.0.2.2, 192.168.7.1 and TARGET_HOST are added)."
CONTAINER_REGISTRY_CERT_SAN ??= ""

CONTAINER_REGISTRY_IMAGES[doc] = "Images a push takes from deploy/, space-separated; empty means every OCI image found."
CONTAINER_REGISTRY_IMAGES ??= ""

CONTAINER_REGISTRY_SBOM[doc] = "SBOM a push attaches to each image (an OCI 1.1 referrer): auto (the image's SPDX document create-spdx wrote beside it in deploy/), none, or an SPDX JSON file. Default: auto when create-spdx is in INHERIT, else none."
CONTAINER_REGISTRY_SBOM ??= "${@bb.utils.contains_any('INHERIT', 'create-spdx create-spdx-2.2 create-spdx-3.0', 'auto', 'none', d)}"

CONTAINER_REGISTRY_PROVENANCE[doc] = "Provenance a push attaches: auto (an in-toto SLSA v1 statement from the image's testdata.json, BBLAYERS and their git revisions, buildstats; docs/provenance.md), none, or a statement/DSSE file."
CONTAINER_REGISTRY_PROVENANCE ??= "auto"

CONTAINER_REGISTRY_BUILD_TRACE[doc] = "Build trace a push attaches to each image: none, auto (Chrome trace-event JSON of the build that made the image, from buildstats; needs INHERIT += \"buildstats\"), or a buildstats folder."
CONTAINER_REGISTRY_BUILD_TRACE ??= "none"

CONTAINER_REGISTRY_TARGET_HOST[doc] = "The build host as targets reach it (host or host:port); overrides the 10.0.2.2/192.168.7.1 rewrite, e.g. for a board on the LAN."
CONTAINER_REGISTRY_TARGET_HOST ??= ""

CONTAINER_REGISTRY_TARGET_NETWORK[doc] = "How QEMU targets reach the host: slirp (user networking, 10.0.2.2) or tap (runqemu, 192.168.7.1)."
CONTAINER_REGISTRY_TARGET_NETWORK ??= "slirp"

CONTAINER_REGISTRY_SEARCH_REGISTRIES[doc] = "Registries podman/skopeo search after ours for unqualified names."
CONTAINER_REGISTRY_SEARCH_REGISTRIES ??= "docker.io quay.io"

CONTAINER_REGISTRY_ENGINE[doc] = "Container engine(s) of an image for IMAGE_FEATURES container-registry (docker, podman, cri-o, skopeo, containerd, k3s, vdkr); empty follows VIRTUAL-RUNTIME_container_engine, then CONTAINER_PROFILE, then docker."
CONTAINER_REGISTRY_ENGINE ??= ""

CONTAINER_REGISTRY_NODE[doc] = "node (>= 20) that runs the helper; empty means node on the host's PATH (HOSTTOOLS_NONFATAL)."
CONTAINER_REGISTRY_NODE ??= ""

CONTAINER_REGISTRY_HELPER[doc] = "The bundled helper, files/container-registry.mjs of this layer."
CONTAINER_REGISTRY_HELPER ??= "${@bb.utils.which(d.getVar('BBPATH'), 'files/container-registry.mjs')}"

CONTAINER_REGISTRY_CA[doc] = "CA certificate targets trust in secure mode (generated by generate_registry_script into STORAGE/pki, or STATE_DIR/pki for an s3:// STORAGE)."
CONTAINER_REGISTRY_CA ??= "${@containerregistry.settings.local_dir(d)}/pki/ca.crt"

CONTAINER_REGISTRY_SIGN[doc] = "1: the generated script's push signs what it pushes with STORAGE/pki/signing.key (sigstore signatures podman and skopeo check); generate_registry_script creates the key."
CONTAINER_REGISTRY_SIGN ??= "0"

CONTAINER_REGISTRY_REQUIRE_SIGNATURES[doc] = "1: container-oci-registry-config ships /etc/containers/policy.json, a registries.d entry and the public key, so podman, skopeo and CRI-O on the target refuse images of this registry without a valid signature (opt-in)."
CONTAINER_REGISTRY_REQUIRE_SIGNATURES ??= "0"

CONTAINER_REGISTRY_SIGNING_PUBKEY[doc] = "Public key targets verify signatures with (generated by generate_registry_script when SIGN or REQUIRE_SIGNATURES is on)."
CONTAINER_REGISTRY_SIGNING_PUBKEY ??= "${@containerregistry.settings.local_dir(d)}/pki/signing.pub"

CONTAINER_REGISTRY_MIRRORS[doc] = "Upstream registries the registry mirrors as a pull-through cache (docker.io, quay.io, or host=http(s)://host:port); target config packages point the engines at us for them."
CONTAINER_REGISTRY_MIRRORS ??= ""

DOCKER_REGISTRY_INSECURE[doc] = "More registries docker on the target treats as insecure, space-separated (loopback hosts rewritten like the URL)."
DOCKER_REGISTRY_INSECURE ??= ""

CONTAINER_REGISTRY_TARGET_VARS[doc] = "Settings that change what a target config package contains (its do_install depends on them); internal."
CONTAINER_REGISTRY_TARGET_VARS = "CONTAINER_REGISTRY_URL CONTAINER_REGISTRY_NAMESPACE CONTAINER_REGISTRY_SECURE \
    CONTAINER_REGISTRY_AUTH CONTAINER_REGISTRY_INSECURE CONTAINER_REGISTRY_TARGET_HOST \
    CONTAINER_REGISTRY_TARGET_NETWORK CONTAINER_REGISTRY_SEARCH_REGISTRIES CONTAINER_REGISTRY_MIRRORS \
    DOCKER_REGISTRY_INSECURE \
    CONTAINER_REGISTRY_REQUIRE_SIGNATURES"

python __anonymous() {
    # BitBake's parse cache does not follow addpylib modules: re-parse when they change.
    for module in (containerregistry.variables, containerregistry.settings, containerregistry.helper, containerregistry.labels):
        bb.parse.mark_dependency(d, module.__file__)
    containerregistry.settings.check(d)
}
