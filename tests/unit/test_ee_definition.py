"""containers/ee/definition.py: the ansible-builder definition make ee builds, from execution-environment.yml."""

import importlib.util
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("ee_definition", os.path.join(ROOT, "containers", "ee", "definition.py"))
definition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(definition)

with open(os.path.join(ROOT, "execution-environment.yml")) as _handle:
    REPO = yaml.safe_load(_handle)


def test_the_public_build_is_the_repositorys_definition_with_absolute_paths():
    data = definition.definition("public", "quay.io/centos/centos:stream9")
    assert data["dependencies"]["python_interpreter"] == REPO["dependencies"]["python_interpreter"]
    assert data["dependencies"]["python"] == os.path.join(ROOT, "requirements.txt")
    assert [f["src"] for f in data["additional_build_files"]] == [
        os.path.join(ROOT, "build", "ee", "coreos-multicluster.tar.gz")]
    assert "options" not in data or "skip_pip_install" not in data["options"]
    assert "additional_build_steps" not in data


def test_the_debian_build_uses_the_bases_python_and_pip_and_apt_get():
    data = definition.definition("debian", "localhost/base:1")
    assert data["images"]["base_image"]["name"] == "localhost/base:1"
    assert data["dependencies"]["python_interpreter"] == {"python_path": "/usr/bin/python3"}
    assert data["options"]["skip_pip_install"] is True  # Debian refuses ensurepip for its Python
    assert data["options"]["package_manager_path"] == "/usr/bin/apt-get"
    assert data["build_arg_defaults"]["PKGMGR_PRESERVE_CACHE"] == "always"  # no `apt-get clean all`
    # the build's pip reads the wheelhouse only, and the final image keeps no pip configuration
    assert data["additional_build_steps"]["prepend_base"][0].endswith("> /etc/pip.conf")
    assert "no-index = true" in data["additional_build_steps"]["prepend_base"][0]
    assert data["additional_build_steps"]["append_final"][-1] == "RUN rm -f /etc/pip.conf"
    # what the image holds is the repository's: ansible-core, ansible-runner, the collection's tarball
    assert data["dependencies"]["ansible_core"] == REPO["dependencies"]["ansible_core"]
    assert data["dependencies"]["galaxy"] == REPO["dependencies"]["galaxy"]


def test_the_wheelhouse_holds_every_package_the_build_installs():
    wanted = definition.pip_requirements(definition.definition("debian", "x"))
    assert wanted[:2] == [REPO["dependencies"]["ansible_core"]["package_pip"],
                          REPO["dependencies"]["ansible_runner"]["package_pip"]]
    assert ["-r", os.path.join(ROOT, "requirements.txt")] == wanted[2:4]
    assert set(definition.BUILDER_PIP) <= set(wanted)


def test_the_public_base_is_the_repositorys():
    assert definition.public_base() == REPO["images"]["base_image"]["name"]


def test_another_base_is_refused():
    with pytest.raises(ValueError) as raised:
        definition.definition("alpine", "x")
    assert "public or debian" in str(raised.value)
