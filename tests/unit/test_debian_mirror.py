"""containers/debian.sh's debian_mirrors: the machine's own Debian mirror, read from its apt configuration
(the image's base and make deps' deb-src entry use it; no mirror host is written in the tree)."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELPER = os.path.join(ROOT, "containers", "debian.sh")


def mirrors(apt_dir, **env):
    """(DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, rc, stderr) as the helper finds them under apt_dir."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MC_DEBIAN_")}
    environ.update(env, MC_APT_DIR=str(apt_dir), MC_PODMAN_FLAGS="")
    proc = subprocess.run(["bash", "-c", '. "$0"; debian_mirrors; rc=$?; echo "$DEBIAN_MIRROR"; '
                           'echo "$DEBIAN_SECURITY_MIRROR"; echo "$rc"', HELPER],
                          capture_output=True, text=True, env=environ, timeout=30, check=True)
    main, security, rc = proc.stdout.splitlines()
    return main, security, int(rc), proc.stderr


def write(apt_dir, name, text):
    path = apt_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def apt(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_sources_a_deb_entry_before_a_deb_src_one(apt):
    # a deb-src entry of another host in a file read earlier does not win over the deb entry
    write(apt, "sources.list.d/a-src.sources",
          "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n")
    write(apt, "sources.list.d/debian.sources",
          "Types: deb\n# http://snapshot.example/archive/debian/20250520T000000Z\n"
          "URIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n"
          "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
          "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
          "Components: main\n")
    assert mirrors(apt)[:3] == ("http://mirror.example/debian", "http://security.example/debian-security", 0)


def test_other_repositories_and_disabled_entries_are_not_debian(apt):
    write(apt, "sources.list.d/nodejs.sources",
          "Types: deb\nURIs: https://node.example/node_20.x\nSuites: nodistro\nComponents: main\n")
    write(apt, "sources.list.d/off.sources",
          "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\n")
    write(apt, "sources.list.d/vendor.list", "deb https://vendor.example/apt cloud-sdk-bookworm main\n")
    write(apt, "sources.list.d/z.sources",
          "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n")
    # no bookworm-security entry: the same host's /debian-security
    assert mirrors(apt)[:3] == ("http://mirror.example/debian", "http://mirror.example/debian-security", 0)


def test_one_line_sources_list_with_options_and_comments(apt):
    write(apt, "sources.list",
          "# deb http://commented.example/debian bookworm main\n"
          "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
          "http://mirror.example/debian bookworm main contrib\n"
          "deb http://mirror.example/debian-security bookworm-security main\n")
    assert mirrors(apt)[:3] == ("http://mirror.example/debian", "http://mirror.example/debian-security", 0)


def test_a_mirror_list_file_stands_for_its_first_mirror(apt, tmp_path):
    listing = tmp_path / "mirrors-debian.list"
    listing.write_text("# the cloud image's mirrors\nhttp://first.example/debian priority:1\n"
                       "http://second.example/debian\n")
    write(apt, "sources.list.d/debian.sources",
          "Types: deb\nURIs: mirror+file://%s\nSuites: bookworm\nComponents: main\n" % listing)
    assert mirrors(apt)[:3] == ("http://first.example/debian", "http://first.example/debian-security", 0)


def test_the_environment_overrides_the_apt_configuration(apt):
    write(apt, "sources.list", "deb http://mirror.example/debian bookworm main\n")
    found = mirrors(apt, MC_DEBIAN_MIRROR="http://own.example/debian",
                    MC_DEBIAN_SECURITY_MIRROR="http://own.example/security")
    assert found[:3] == ("http://own.example/debian", "http://own.example/security", 0)


def test_no_mirror_is_an_error_that_says_how_to_give_one(apt):
    write(apt, "sources.list", "deb https://vendor.example/apt cloud-sdk-bookworm main\n")
    main, security, rc, err = mirrors(apt)
    assert (main, security, rc) == ("", "", 1)
    assert "no Debian mirror for bookworm" in err and "MC_DEBIAN_MIRROR" in err


def test_a_mirror_not_ending_in_debian_needs_its_security_mirror_named(apt):
    write(apt, "sources.list", "deb http://mirror.example/ bookworm main\n")
    main, security, rc, err = mirrors(apt)
    assert (main, security, rc) == ("http://mirror.example", "", 1)
    assert "MC_DEBIAN_SECURITY_MIRROR" in err
