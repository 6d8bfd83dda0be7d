# oci-image-labels.bbclass: standard OCI traceability labels on the container images a build makes.
#
# Usage: INHERIT += "oci-image-labels" in local.conf, or `inherit oci-image-labels` in an image
# recipe. It appends to OCI_IMAGE_LABELS, which meta-virtualization's image-oci writes into the
# image config:
#   org.opencontainers.image.revision  short git commit of TOPDIR's checkout   (OCI_IMAGE_REVISION)
#   org.opencontainers.image.ref.name  git branch of TOPDIR's checkout         (OCI_IMAGE_BRANCH)
#   org.opencontainers.image.created   SOURCE_DATE_EPOCH as RFC 3339 UTC       (OCI_IMAGE_BUILD_DATE)
#   org.opencontainers.image.version   PV                                      (OCI_IMAGE_VERSION)
# Setting one of those variables overrides the label, "none" leaves it out, and
# OCI_IMAGE_AUTO_LABELS = "0" leaves them all out. The created date follows SOURCE_DATE_EPOCH so a
# rebuild of the same sources gives the same image.

OCI_IMAGE_AUTO_LABELS[doc] = "Set to 0 to add none of the automatic org.opencontainers.image.* labels."
OCI_IMAGE_AUTO_LABELS ??= "1"

OCI_IMAGE_REVISION[doc] = "org.opencontainers.image.revision; empty means the short git commit of TOPDIR, none leaves it out."
OCI_IMAGE_REVISION ??= ""

OCI_IMAGE_BRANCH[doc] = "org.opencontainers.image.ref.name; empty means the git branch of TOPDIR, none leaves it out."
OCI_IMAGE_BRANCH ??= ""

OCI_IMAGE_BUILD_DATE[doc] = "org.opencontainers.image.created (RFC 3339); empty means SOURCE_DATE_EPOCH, none leaves it out."
OCI_IMAGE_BUILD_DATE ??= ""

OCI_IMAGE_VERSION[doc] = "org.opencontainers.image.version; defaults to PV, none leaves it out."
OCI_IMAGE_VERSION ??= "${PV}"

OCI_IMAGE_LABELS ??= ""
OCI_IMAGE_LABELS:append = " ${@containerregistry.labels.oci_labels(d)}"
OCI_IMAGE_LABELS[vardeps] += "OCI_IMAGE_AUTO_LABELS OCI_IMAGE_REVISION OCI_IMAGE_BRANCH OCI_IMAGE_BUILD_DATE OCI_IMAGE_VERSION"
