# The layer's rules in one place: validated settings (AUTH implies SECURE; SECURE with INSECURE is
# fatal), which config package an image's container engine needs, where node and the helper are,
# and running the helper with the build's settings in its environment.
#
# Unset variables read as their documented defaults ("0", "none", ...), so these functions give
# the same answer in recipes that inherit container-registry.bbclass and in those that do not
# (an image expanding FEATURE_PACKAGES_container-registry).

import os
import re
import subprocess

import bb

NODE_MIN_MAJOR = 20

AUTH_MODES = ("none", "home", "authfile", "credsfile", "env")

# Image container engines (VIRTUAL-RUNTIME_container_engine, CONTAINER_PROFILE or
# CONTAINER_REGISTRY_ENGINE) and the config package each needs.
ENGINE_PACKAGES = {
    "docker": "docker-registry-config",
    "docker-ce": "docker-registry-config",
    "docker-moby": "docker-registry-config",
    "moby": "docker-registry-config",
    "default": "docker-registry-config",
    "podman": "container-oci-registry-config",
    "cri-o": "container-oci-registry-config",
    "crio": "container-oci-registry-config",
    "skopeo": "container-oci-registry-config",
    "buildah": "container-oci-registry-config",
    "containerd": "containerd-registry-config",
    "containerd-opencontainers": "containerd-registry-config",
    "k3s": "containerd-registry-config",
    "kind": "containerd-registry-config",
    "vdkr": "vdkr-registry-config",
}

# Settings the helper reads from its environment; the password is never among them.
HELPER_VARIABLES = (
    "CONTAINER_REGISTRY_URL",
    "CONTAINER_REGISTRY_LISTEN",
    "CONTAINER_REGISTRY_NAMESPACE",
    "CONTAINER_REGISTRY_TAG_STRATEGY",
    "CONTAINER_REGISTRY_IMAGES",
    "CONTAINER_REGISTRY_SECURE",
    "CONTAINER_REGISTRY_AUTH",
    "CONTAINER_REGISTRY_INSECURE",
    "CONTAINER_REGISTRY_AUTH_MODE",
    "CONTAINER_REGISTRY_AUTHFILE",
    "CONTAINER_REGISTRY_CREDSFILE",
    "CONTAINER_REGISTRY_USERNAME",
    "CONTAINER_REGISTRY_CERT_DAYS",
    "CONTAINER_REGISTRY_CA_DAYS",
    "CONTAINER_REGISTRY_CERT_SAN",
    "CONTAINER_REGISTRY_TARGET_HOST",
    "CONTAINER_REGISTRY_TARGET_NETWORK",
    "CONTAINER_REGISTRY_SEARCH_REGISTRIES",
    "DOCKER_REGISTRY_INSECURE",
)


def flag(d, name):
    """flag reads a 1/0 variable (unset or empty is 0); anything else is fatal."""
    value = (d.getVar(name) or "0").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    bb.fatal('%s must be "1" or "0", not "%s"' % (name, d.getVar(name)))


def secure_requested(d):
    """secure_requested: CONTAINER_REGISTRY_SECURE = "1", or AUTH = "1" (AUTH implies SECURE).
    It does not read INSECURE, so INSECURE's own default may be derived from it."""
    return flag(d, "CONTAINER_REGISTRY_SECURE") or flag(d, "CONTAINER_REGISTRY_AUTH")


def secure(d):
    """secure is the effective secure mode: CONTAINER_REGISTRY_SECURE, or AUTH (which implies it).
    SECURE (or AUTH) together with INSECURE is fatal: a TLS registry with our CA is not insecure."""
    on = secure_requested(d)
    if on and flag(d, "CONTAINER_REGISTRY_INSECURE"):
        bb.fatal('CONTAINER_REGISTRY_SECURE (or CONTAINER_REGISTRY_AUTH) = "1" and CONTAINER_REGISTRY_INSECURE = "1" '
                 "contradict each other: secure mode serves TLS with the build's CA, targets trust that CA and "
                 'need no insecure entry. Set CONTAINER_REGISTRY_INSECURE = "0" (or drop SECURE/AUTH).')
    return on


def check(d):
    """check validates the settings at parse time (fatal on the first problem)."""
    secure(d)
    mode = (d.getVar("CONTAINER_REGISTRY_AUTH_MODE") or "none").strip()
    if mode not in AUTH_MODES:
        bb.fatal('CONTAINER_REGISTRY_AUTH_MODE = "%s": use one of %s' % (mode, ", ".join(AUTH_MODES)))
    if mode == "authfile" and not d.getVar("CONTAINER_REGISTRY_AUTHFILE"):
        bb.fatal('CONTAINER_REGISTRY_AUTH_MODE = "authfile" needs CONTAINER_REGISTRY_AUTHFILE')
    if mode == "credsfile" and not d.getVar("CONTAINER_REGISTRY_CREDSFILE"):
        bb.fatal('CONTAINER_REGISTRY_AUTH_MODE = "credsfile" needs CONTAINER_REGISTRY_CREDSFILE')
    network = (d.getVar("CONTAINER_REGISTRY_TARGET_NETWORK") or "slirp").strip()
    if network not in ("slirp", "tap"):
        bb.fatal('CONTAINER_REGISTRY_TARGET_NETWORK = "%s": use slirp (10.0.2.2) or tap (192.168.7.1)' % network)
    url = d.getVar("CONTAINER_REGISTRY_URL") or ""
    if not url.strip() or re.search(r"\s", url.strip()):
        bb.fatal('CONTAINER_REGISTRY_URL = "%s": expected host:port, e.g. localhost:5000' % url)


def engines(d):
    """engines lists the image's container engines: CONTAINER_REGISTRY_ENGINE, else
    VIRTUAL-RUNTIME_container_engine, else CONTAINER_PROFILE, else docker."""
    value = (d.getVar("CONTAINER_REGISTRY_ENGINE")
             or d.getVar("VIRTUAL-RUNTIME_container_engine")
             or d.getVar("CONTAINER_PROFILE")
             or "docker")
    return value.split()


def feature_packages(d):
    """feature_packages is FEATURE_PACKAGES_container-registry for the image being built."""
    packages = []
    for engine in engines(d):
        package = ENGINE_PACKAGES.get(engine)
        if package is None:
            bb.fatal('IMAGE_FEATURES "container-registry": unknown container engine "%s" (from '
                     "CONTAINER_REGISTRY_ENGINE, VIRTUAL-RUNTIME_container_engine or CONTAINER_PROFILE); "
                     "known: %s" % (engine, " ".join(sorted(ENGINE_PACKAGES))))
        if package not in packages:
            packages.append(package)
    if secure(d):
        packages.append("container-registry-ca")
    return " ".join(packages)


def node_version(path):
    """node_version runs `node --version` and returns (major, text), or (None, why)."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        return None, str(e)
    text = (out.stdout or out.stderr).strip()
    m = re.match(r"v(\d+)\.", text)
    if out.returncode != 0 or not m:
        return None, text or ("exit %d" % out.returncode)
    return int(m.group(1)), text


def node(d):
    """node is the absolute, resolved path of the node that runs the helper: CONTAINER_REGISTRY_NODE
    when set, else `node` on the task's PATH (HOSTTOOLS). Fatal when missing or older than 20.
    The path is resolved so the generated script keeps working after tmp/ (and HOSTTOOLS_DIR) is gone."""
    wanted = (d.getVar("CONTAINER_REGISTRY_NODE") or "").strip()
    if wanted:
        path = wanted if os.path.isabs(wanted) else bb.utils.which(d.getVar("PATH"), wanted)
        origin = 'CONTAINER_REGISTRY_NODE = "%s"' % wanted
    else:
        path = bb.utils.which(d.getVar("PATH"), "node")
        origin = "node on PATH (HOSTTOOLS_NONFATAL)"
    if not path or not os.path.exists(path):
        bb.fatal("meta-container-registry needs Node.js >= %d on the build host, and %s was not found. "
                 "Install it (e.g. apt-get install nodejs, or from nodejs.org) and make sure `node` is on "
                 "PATH when bitbake starts, or set CONTAINER_REGISTRY_NODE to its absolute path."
                 % (NODE_MIN_MAJOR, origin))
    path = os.path.realpath(path)
    major, text = node_version(path)
    if major is None:
        bb.fatal("%s (%s) does not run: %s" % (path, origin, text))
    if major < NODE_MIN_MAJOR:
        bb.fatal("%s is Node.js %s; meta-container-registry needs >= %d. Install a newer Node.js or "
                 "set CONTAINER_REGISTRY_NODE to one." % (path, text, NODE_MIN_MAJOR))
    return path


def helper(d):
    """helper is the bundled helper (files/container-registry.mjs of this layer)."""
    path = d.getVar("CONTAINER_REGISTRY_HELPER") or ""
    if not path or not os.path.isfile(path):
        bb.fatal('the container-registry helper was not found (CONTAINER_REGISTRY_HELPER = "%s"); '
                 "it ships as files/container-registry.mjs in meta-container-registry" % path)
    return path


def file_sha256(path):
    """file_sha256 is the hex sha256 of a file, or "none" when it does not exist."""
    import hashlib
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return "none"


def helper_env(d):
    """helper_env is the environment the helper runs with: the host's PATH/HOME/locale plus the
    build's settings (effective SECURE). Never the password."""
    env = {}
    for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"):
        value = os.environ.get(name) or d.getVar(name)
        if value:
            env[name] = value
    for name in HELPER_VARIABLES:
        value = d.getVar(name)
        if value:
            env[name] = value
    env["CONTAINER_REGISTRY_SECURE"] = "1" if secure(d) else "0"
    env["CONTAINER_REGISTRY_STORAGE"] = d.getVar("CONTAINER_REGISTRY_STORAGE")
    env["DEPLOY_DIR_IMAGE"] = d.getVar("DEPLOY_DIR_IMAGE")
    return env


def run_helper(d, args, extra_env=None, check=True):
    """run_helper runs `node helper ARGS` with the build's settings; fatal (with its output) on failure."""
    env = helper_env(d)
    env.update(extra_env or {})
    cmd = [node(d), helper(d)] + list(args)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        bb.fatal("container-registry %s failed (exit %d):\n%s%s" % (" ".join(args), out.returncode, out.stdout, out.stderr))
    return out


def write_config(d, kind, dest):
    """write_config writes a target config package's files under dest (${D}) with the helper."""
    args = ["config", kind, "--output", dest]
    if kind == "ca" or secure(d):
        ca = d.getVar("CONTAINER_REGISTRY_CA")
        if kind != "vdkr":
            args += ["--ca", ca]
    out = run_helper(d, args)
    for line in out.stdout.splitlines():
        bb.note("installed %s" % line)


def needs_ca(d, kind):
    """needs_ca tells whether a config package of this kind installs the CA."""
    return kind == "ca" or (kind != "vdkr" and secure(d))


def config_recipe_setup(d, kind):
    """config_recipe_setup makes a target config recipe's inputs real: the helper's and the CA's
    checksums become variables its do_install depends on, and the recipe is re-parsed when either
    file changes. The CA recipe is skipped outside secure mode; any recipe that needs a CA that
    does not exist yet is skipped with the command that creates it."""
    import bb.parse
    helper_path = d.getVar("CONTAINER_REGISTRY_HELPER") or ""
    d.setVar("CONTAINER_REGISTRY_HELPER_SHA256", file_sha256(helper_path) if helper_path else "none")
    if helper_path:
        bb.parse.mark_dependency(d, helper_path)
    if kind == "ca" and not secure(d):
        raise bb.parse.SkipRecipe('the registry CA is for secure mode (CONTAINER_REGISTRY_SECURE = "1" or AUTH = "1")')
    if needs_ca(d, kind):
        ca = d.getVar("CONTAINER_REGISTRY_CA")
        bb.parse.mark_dependency(d, ca)
        sha = file_sha256(ca)
        if sha == "none":
            raise bb.parse.SkipRecipe("secure mode needs the registry CA %s, which does not exist yet: run "
                                      "`bitbake container-registry-index -c generate_registry_script` first" % ca)
        d.setVar("CONTAINER_REGISTRY_CA_SHA256", sha)
    else:
        d.setVar("CONTAINER_REGISTRY_CA_SHA256", "")


def has_command(d, command):
    """has_command tells whether the bundled helper lists a command in its --help."""
    out = run_helper(d, ["--help"], check=False)
    return re.search(r"^\s*container-registry %s\b" % re.escape(command), out.stdout, re.M) is not None


def generate_script(d):
    """generate_script writes STORAGE/container-registry.sh (+ .conf, the helper copy and, from
    CONTAINER_REGISTRY_PASSWORD, auth/password 0600) and, in secure mode, the PKI."""
    storage = d.getVar("CONTAINER_REGISTRY_STORAGE")
    bb.utils.mkdirhier(storage)
    extra = {}
    password = d.getVar("CONTAINER_REGISTRY_PASSWORD")
    if password:
        extra["CONTAINER_REGISTRY_PASSWORD"] = password  # environment only, never argv
    out = run_helper(d, ["script", "--storage", storage, "--node", node(d)], extra)
    for line in out.stdout.splitlines():
        bb.plain(line)
    if secure(d):
        script = os.path.join(storage, "container-registry.sh")
        if has_command(d, "pki"):
            res = subprocess.run([script, "pki", "init"], env=helper_env(d), capture_output=True, text=True)
            if res.returncode != 0:
                bb.fatal("container-registry.sh pki init failed (exit %d):\n%s%s" % (res.returncode, res.stdout, res.stderr))
            for line in res.stdout.splitlines():
                bb.plain(line)
        elif not os.path.exists(d.getVar("CONTAINER_REGISTRY_CA")):
            bb.fatal("secure mode: this helper has no `pki` command, and %s does not exist" % d.getVar("CONTAINER_REGISTRY_CA"))
        else:
            bb.warn("secure mode: this helper has no `pki` command; using the existing %s" % d.getVar("CONTAINER_REGISTRY_CA"))
    bb.plain("Next: %s start, then %s push" % (os.path.join(storage, "container-registry.sh"), os.path.join(storage, "container-registry.sh")))


def push(d):
    """push runs the generated script's `push` (every image found in deploy/, or CONTAINER_REGISTRY_IMAGES)."""
    script = os.path.join(d.getVar("CONTAINER_REGISTRY_STORAGE"), "container-registry.sh")
    if not os.path.exists(script):
        bb.fatal("%s does not exist: run bitbake container-registry-index -c generate_registry_script" % script)
    res = subprocess.run([script, "push"], env=helper_env(d), capture_output=True, text=True)
    for line in (res.stdout + res.stderr).splitlines():
        bb.plain(line)
    if res.returncode != 0:
        bb.fatal("container-registry.sh push failed (exit %d); is the registry running? (%s start)" % (res.returncode, script))
