# Running the helper (files/container-registry.mjs) for the layer's tasks: finding node (>= 20) and
# the bundled helper, the environment it runs with (the build's settings, never the password), and
# the tasks' steps: a target config package's files, container-registry.sh (and the PKI), a push.
# The rules these steps follow (effective secure mode, which package carries the CA) are
# settings.py's; they are called by their full name, containerregistry.settings.<rule>, which is
# how BitBake's code parser follows them into a task's dependencies.

import os
import re
import subprocess

import bb

import containerregistry.settings
from containerregistry.variables import HELPER_VARIABLES

NODE_MIN_MAJOR = 20


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


def helper_path(d):
    """helper_path is the bundled helper (files/container-registry.mjs of this layer)."""
    path = d.getVar("CONTAINER_REGISTRY_HELPER") or ""
    if not path or not os.path.isfile(path):
        bb.fatal('the container-registry helper was not found (CONTAINER_REGISTRY_HELPER = "%s"); '
                 "it ships as files/container-registry.mjs in meta-container-registry" % path)
    return path


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
    env["CONTAINER_REGISTRY_SECURE"] = "1" if containerregistry.settings.secure(d) else "0"
    env["CONTAINER_REGISTRY_STORAGE"] = d.getVar("CONTAINER_REGISTRY_STORAGE")
    env["DEPLOY_DIR_IMAGE"] = d.getVar("DEPLOY_DIR_IMAGE")
    return env


def run_helper(d, args, extra_env=None, check=True):
    """run_helper runs `node helper ARGS` with the build's settings; fatal (with its output) on failure."""
    env = helper_env(d)
    env.update(extra_env or {})
    cmd = [node(d), helper_path(d)] + list(args)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        bb.fatal("container-registry %s failed (exit %d):\n%s%s" % (" ".join(args), out.returncode, out.stdout, out.stderr))
    return out


def write_config(d, kind, dest):
    """write_config writes a target config package's files under dest (${D}) with the helper."""
    args = ["config", kind, "--output", dest]
    if containerregistry.settings.needs_ca(d, kind):
        args += ["--ca", d.getVar("CONTAINER_REGISTRY_CA")]
    if containerregistry.settings.requires_signatures(d, kind):
        args += ["--signing-key", d.getVar("CONTAINER_REGISTRY_SIGNING_PUBKEY")]
    out = run_helper(d, args)
    for line in out.stdout.splitlines():
        bb.note("installed %s" % line)


def has_command(d, command):
    """has_command tells whether the bundled helper lists a command in its --help."""
    out = run_helper(d, ["--help"], check=False)
    return re.search(r"^\s*container-registry %s\b" % re.escape(command), out.stdout, re.M) is not None


def script_path(d):
    """script_path is the generated container-registry.sh: in the storage folder, or in
    CONTAINER_REGISTRY_STATE_DIR when the storage is an s3:// bucket."""
    return os.path.join(containerregistry.settings.local_dir(d), "container-registry.sh")


def generate_script(d):
    """generate_script writes container-registry.sh (+ .conf, the helper copy and, from
    CONTAINER_REGISTRY_PASSWORD, auth/password 0600) into the storage folder (the state folder for
    an s3:// storage) and, in secure mode, the PKI. AWS credentials are never the script's: it
    reads them from the environment it runs in (or ~/.aws/credentials)."""
    storage = d.getVar("CONTAINER_REGISTRY_STORAGE")
    bb.utils.mkdirhier(containerregistry.settings.local_dir(d))
    extra = {}
    password = d.getVar("CONTAINER_REGISTRY_PASSWORD")
    if password:
        extra["CONTAINER_REGISTRY_PASSWORD"] = password  # environment only, never argv
    out = run_helper(d, ["script", "--storage", storage, "--node", node(d)], extra)
    for line in out.stdout.splitlines():
        bb.plain(line)
    if containerregistry.settings.secure(d):
        script = script_path(d)
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
    if containerregistry.settings.signing_key_wanted(d):
        script = script_path(d)
        res = subprocess.run([script, "pki", "signing-key"], env=helper_env(d), capture_output=True, text=True)
        if res.returncode != 0:
            bb.fatal("container-registry.sh pki signing-key failed (exit %d):\n%s%s" % (res.returncode, res.stdout, res.stderr))
        for line in res.stdout.splitlines():
            bb.plain(line)
    bb.plain("Next: %s start, then %s push" % (script_path(d), script_path(d)))


def push(d):
    """push runs the generated script's `push` (every image found in deploy/, or CONTAINER_REGISTRY_IMAGES)."""
    script = script_path(d)
    if not os.path.exists(script):
        bb.fatal("%s does not exist: run bitbake container-registry-index -c generate_registry_script" % script)
    res = subprocess.run([script, "push"], env=helper_env(d), capture_output=True, text=True)
    for line in (res.stdout + res.stderr).splitlines():
        bb.plain(line)
    if res.returncode != 0:
        bb.fatal("container-registry.sh push failed (exit %d); is the registry running? (%s start)" % (res.returncode, script))


def build_hint(d):
    """build_hint is what a plain `bitbake container-registry-index` prints: pushing has its own task."""
    script = script_path(d)
    bb.plain("container-registry-index pushes nothing by itself (no network task hangs off do_build): "
             "push with `bitbake container-registry-index -c push_images` or `%s push`" % script)
