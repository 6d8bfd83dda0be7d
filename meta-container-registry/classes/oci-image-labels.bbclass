# oci-image-labels.bbclass: standard OCI traceability labels on the container images a build makes.
#
# Usage: INHERIT += "oci-image-labels" in local.conf, or `inherit oci-image-labels` in an image
# recipe. It appends to OCI_IMAGE_LABELS, which meta-virtualization's image-oci writes into the
# image config:
#   org.opencontainers.image.revision  short git commit of TOPDIR, else METADATA_REVISION (OCI_IMAGE_REVISION)
#   org.opencontainers.image.ref.name  git branch of TOPDIR, else METADATA_BRANCH         (OCI_IMAGE_BRANCH)
#   org.opencontainers.image.created   the build's time (DATETIME) as RFC 3339 UTC       (OCI_IMAGE_BUILD_DATE)
#   org.opencontainers.image.version   PV                                                (OCI_IMAGE_VERSION)
# Setting one of those variables overrides the label, "none" leaves it out, and
# OCI_IMAGE_AUTO_LABELS = "0" leaves them all out. OCI_IMAGE_BUILD_DATE = "reproducible" takes the
# date from SOURCE_DATE_EPOCH instead, so a rebuild of the same sources gives the same image (for
# oe-core images that date is the metadata's, 2011-04-05, which is why it is not the default).
# The build time is not a task input: an image is not rebuilt because the clock moved.

OCI_IMAGE_AUTO_LABELS[doc] = "Set to 0 to add none of the automatic org.opencontainers.image.* labels."
OCI_IMAGE_AUTO_LABELS ??= "1"

OCI_IMAGE_REVISION[doc] = "org.opencontainers.image.revision; empty means the short git commit of TOPDIR, else METADATA_REVISION; none leaves it out."
OCI_IMAGE_REVISION ??= ""

OCI_IMAGE_BRANCH[doc] = "org.opencontainers.image.ref.name; empty means the git branch of TOPDIR, else METADATA_BRANCH; none leaves it out."
OCI_IMAGE_BRANCH ??= ""

OCI_IMAGE_BUILD_DATE[doc] = "org.opencontainers.image.created (RFC 3339); empty means the build's time (DATETIME), reproducible means SOURCE_DATE_EPOCH, none leaves it out."
OCI_IMAGE_BUILD_DATE ??= ""

OCI_IMAGE_VERSION[doc] = "org.opencontainers.image.version; defaults to PV, none leaves it out."
OCI_IMAGE_VERSION ??= "${PV}"

OCI_IMAGE_LABELS ??= ""
OCI_IMAGE_LABELS:append = " ${@containerregistry.labels.oci_labels(d)}"
OCI_IMAGE_LABELS[vardeps] += "OCI_IMAGE_AUTO_LABELS OCI_IMAGE_REVISION OCI_IMAGE_BRANCH OCI_IMAGE_BUILD_DATE OCI_IMAGE_VERSION"
OCI_IMAGE_LABELS[vardepsexclude] += "DATETIME"
