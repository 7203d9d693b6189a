"""Stand-in for ansible-test's get-pip.py bootstrap script.

ansible-test bootstraps pip in each sanity virtualenv with a get-pip.py that
it downloads from a host outside the package registries; this machine reaches
only PyPI. This script does the same job from what is here: pip from the
standard library's bundled wheel (ensurepip), then the requested pip version
and packages from PyPI. `make sanity` copies it into ansible-test's cache.
"""

import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    # in a child: ensurepip sets PIP_CONFIG_FILE=/dev/null in its own process,
    # which would hide the machine's pip configuration from the install below
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
