"""The ansible-builder definition `make ee` builds: execution-environment.yml (the repository's, for a public
base) with the changes a base needs, written to OUT/execution-environment.yml with absolute paths.

    python containers/ee/definition.py BASE IMAGE OUT
    python containers/ee/definition.py --pip BASE        what the build installs with pip, one a line
    python containers/ee/definition.py --public-base     the repository's base image

BASE is ``public`` (the definition as it is, on IMAGE) or ``debian`` (a Debian 12 base made on this machine,
IMAGE, that already has python3 and python3-pip: containers/ee/build-ee.sh). On Debian, ansible-builder 3 cannot
use its defaults: its package manager is dnf, and its pip step runs ``python3 -m ensurepip``, which Debian's
Python refuses. The Debian build uses the definition's own options instead:

- ``python_interpreter``: Debian's /usr/bin/python3 (3.11), already in the base - nothing to install;
- ``options.skip_pip_install``: pip is the base's python3-pip (ensurepip is disabled on Debian);
- ``options.package_manager_path``: /usr/bin/apt-get, for a system package a bindep file would ask for
  (the collection asks for none), and ``PKGMGR_PRESERVE_CACHE: always``: ansible-builder's ``$PKGMGR clean all``
  is dnf's command, not apt-get's;
- a pip configuration for the build only (/etc/pip.conf: no index, the wheelhouse /wheels that build-ee.sh
  mounts into every RUN step), written first in the base stage and removed last in the final one: every Python
  package comes from a wheelhouse downloaded on this machine with its own pip configuration (its mirror, its
  certificates), not from the network inside the build. Every later stage starts from the base stage.
"""

import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WHEELHOUSE = "/wheels"
PIP_CONF_IN = "RUN printf '[global]\\nno-index = true\\nfind-links = %s\\n' > /etc/pip.conf" % WHEELHOUSE
PIP_CONF_OUT = "RUN rm -f /etc/pip.conf"


SOURCE = os.path.join(ROOT, "execution-environment.yml")


def _source():
    with open(SOURCE) as handle:
        return yaml.safe_load(handle)


def public_base():
    """The base image of the repository's definition (images.base_image.name)."""
    return _source()["images"]["base_image"]["name"]


def definition(base, image):
    """The definition for *base* (public or debian) on *image*, its paths absolute."""
    data = _source()
    data["images"]["base_image"]["name"] = image
    deps = data["dependencies"]
    deps["python"] = os.path.join(ROOT, deps["python"])
    for item in data.get("additional_build_files", []):
        item["src"] = os.path.join(ROOT, item["src"])
    data.get("options", {}).pop("tags", None)  # build-ee.sh tags the image
    if base == "debian":
        deps["python_interpreter"] = {"python_path": "/usr/bin/python3"}
        options = data.setdefault("options", {})
        options["skip_pip_install"] = True
        options["package_manager_path"] = "/usr/bin/apt-get"
        data.setdefault("build_arg_defaults", {})["PKGMGR_PRESERVE_CACHE"] = "always"
        steps = data.setdefault("additional_build_steps", {})
        steps["prepend_base"] = [PIP_CONF_IN] + list(steps.get("prepend_base", []))
        steps["append_final"] = list(steps.get("append_final", [])) + [PIP_CONF_OUT]
    elif base != "public":
        raise ValueError("base %r: public or debian" % base)
    return data


# What ansible-builder 3.2 itself installs with pip besides the definition's packages: its builder stage's
# tools and container_init's default init (its defaults; requirements-test.txt pins ansible-builder).
BUILDER_PIP = ["bindep", "pyyaml", "packaging", "dumb-init==1.2.5"]


def pip_requirements(data):
    """Every requirement the build installs with pip: ansible-core, ansible-runner, the definition's Python
    requirements file (as ``-r PATH``), and ansible-builder's own."""
    deps = data["dependencies"]
    return [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"],
            "-r", deps["python"]] + BUILDER_PIP


def main(argv):
    if len(argv) == 3 and argv[1] == "--pip":  # the pip requirements of the definition for BASE, one a line
        print("\n".join(pip_requirements(definition(argv[2], "unused"))))
        return
    if argv[1:] == ["--public-base"]:  # the repository's base image
        print(public_base())
        return
    if len(argv) != 4:
        sys.exit("usage: definition.py public|debian IMAGE OUT | definition.py --pip BASE | definition.py --public-base")
    base, image, out = argv[1:]
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "execution-environment.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(definition(base, image), handle, sort_keys=False)
    print(path)


if __name__ == "__main__":
    main(sys.argv)
