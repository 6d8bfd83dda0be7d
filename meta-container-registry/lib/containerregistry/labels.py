# org.opencontainers.image.* labels for OCI images: revision and ref.name from the git checkout at
# TOPDIR, else the metadata's (oe-core's METADATA_REVISION / METADATA_BRANCH), unless
# OCI_IMAGE_REVISION / OCI_IMAGE_BRANCH say; created is the build's time (DATETIME, UTC), or
# SOURCE_DATE_EPOCH's with OCI_IMAGE_BUILD_DATE = "reproducible", or OCI_IMAGE_BUILD_DATE itself;
# version from PV. "none" turns one label off, OCI_IMAGE_AUTO_LABELS = "0" turns them all off.
# https://github.com/opencontainers/image-spec/blob/v1.1.0/annotations.md#pre-defined-annotation-keys

import datetime
import re
import subprocess

_git_cache = {}

REVISION = "org.opencontainers.image.revision"
REF_NAME = "org.opencontainers.image.ref.name"
CREATED = "org.opencontainers.image.created"
VERSION = "org.opencontainers.image.version"


def git(topdir, *args):
    """git runs a read-only git query in topdir, once per parse; '' when it is not a checkout."""
    key = (topdir,) + args
    if key not in _git_cache:
        try:
            out = subprocess.run(["git", "-C", topdir] + list(args), capture_output=True, text=True, timeout=30)
            _git_cache[key] = out.stdout.strip() if out.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            _git_cache[key] = ""
    return _git_cache[key]


def clean(value):
    """clean makes a value fit OCI_IMAGE_LABELS (space-separated key=value): no whitespace or quotes."""
    return re.sub(r"[\s\"'\\]+", "-", value.strip())


def created(epoch):
    """created is an RFC 3339 UTC time from a Unix epoch string."""
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_time(datetime_var):
    """build_time is an RFC 3339 UTC time from BitBake's DATETIME (YYYYmmddHHMMSS, taken from gmtime
    once per build), or '' when it is not that."""
    try:
        stamp = datetime.datetime.strptime(datetime_var.strip(), "%Y%m%d%H%M%S")
    except ValueError:
        return ""
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def known(value):
    """known drops the placeholders oe-core writes when it cannot tell a revision or branch."""
    value = (value or "").strip()
    return "" if value in ("<unknown>", "unknown") else value


def oci_labels(d):
    """oci_labels is the `key=value ...` list for OCI_IMAGE_LABELS."""
    if (d.getVar("OCI_IMAGE_AUTO_LABELS") or "1").strip() == "0":
        return ""
    topdir = d.getVar("TOPDIR") or "."
    labels = []

    revision = (d.getVar("OCI_IMAGE_REVISION") or "").strip()
    if not revision:
        revision = git(topdir, "rev-parse", "--short", "HEAD") or known(d.getVar("METADATA_REVISION"))[:7]
    if revision and revision != "none":
        labels.append((REVISION, revision))

    branch = (d.getVar("OCI_IMAGE_BRANCH") or "").strip()
    if not branch:
        branch = git(topdir, "rev-parse", "--abbrev-ref", "HEAD")
        if branch == "HEAD":
            branch = ""
        branch = branch or known(d.getVar("METADATA_BRANCH"))
        if branch == "HEAD":
            branch = ""
    if branch and branch != "none":
        labels.append((REF_NAME, branch))

    date = (d.getVar("OCI_IMAGE_BUILD_DATE") or "").strip()
    if date == "reproducible":
        epoch = (d.getVar("SOURCE_DATE_EPOCH") or "").strip()
        date = created(epoch) if epoch.isdigit() else ""
    elif not date:
        date = build_time(d.getVar("DATETIME") or "")
    if date and date != "none":
        labels.append((CREATED, date))

    version = (d.getVar("OCI_IMAGE_VERSION") or "").strip()
    if version and version != "none":
        labels.append((VERSION, version))

    return " ".join("%s=%s" % (k, clean(v)) for k, v in labels if clean(v))
