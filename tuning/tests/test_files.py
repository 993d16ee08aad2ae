"""The shipped files: every profile key is explained and exists on Linux, the systemd unit
parses, the limits snippet is well formed, and the scripts are executable."""

import os
import shutil
import subprocess

import pytest

from conftest import TUNING

from ringtune import sysctls

PROFILES = sysctls.profile_names()


def test_both_profiles_ship():
    assert set(PROFILES) == {"c1m", "c10m"}


@pytest.mark.parametrize("name", PROFILES)
def test_every_key_has_a_comment_with_its_memory_cost(name):
    """Each key sits in a block (lines without a blank between) that opens with a comment, and
    that comment says what the key costs in memory."""
    with open(sysctls.profile_path(name)) as f:
        blocks = f.read().split("\n\n")
    keys = 0
    for block in blocks:
        lines = block.strip().splitlines()
        settings = [line for line in lines if line and not line.startswith("#")]
        if not settings:
            continue
        keys += len(settings)
        comment = [line for line in lines if line.startswith("#")]
        assert lines[0].startswith("#"), f"uncommented: {settings}"
        assert "memory" in " ".join(comment).lower(), f"no memory note for {settings}"
    assert keys == len(sysctls.load_profile(name))


@pytest.mark.parametrize("name", PROFILES)
def test_every_key_exists_on_linux(name):
    for key, value in sysctls.load_profile(name):
        if key.startswith("net.netfilter.") and not os.path.exists(
                "/proc/sys/net/netfilter/nf_conntrack_max"):
            continue
        assert os.path.exists(os.path.join("/proc/sys", *key.split("."))), key
        assert value


def test_c10m_is_never_below_c1m_for_limits():
    c1m, c10m = dict(sysctls.load_profile("c1m")), dict(sysctls.load_profile("c10m"))
    assert c1m.keys() == c10m.keys()
    for key in sysctls.FLOOR_KEYS & c1m.keys():
        assert int(c10m[key]) >= int(c1m[key]), key


def test_systemd_unit_parses_and_sets_the_limits():
    path = os.path.join(TUNING, "ringgate.service")
    with open(path) as f:
        text = f.read()
    for line in ("LimitNOFILE=1048576", "LimitMEMLOCK=infinity", "KillSignal=SIGTERM",
                 "Restart=on-failure", "TimeoutStopSec="):
        assert f"\n{line}" in text, line
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    result = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True,
                            timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "/usr/local/bin/ringgate" not in line]
    assert problems == []


def test_limits_snippet_is_well_formed():
    with open(os.path.join(TUNING, "limits.d", "ringgate.conf")) as f:
        rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
    assert rows and all(len(r) == 4 for r in rows)
    assert {r[2] for r in rows} == {"nofile", "memlock"}
    assert all(r[1] in ("soft", "hard") for r in rows)
    nofile = {int(r[3]) for r in rows if r[2] == "nofile"}
    assert max(nofile) <= int(dict(sysctls.load_profile("c1m"))["fs.nr_open"])


@pytest.mark.parametrize("script", ["check", "apply", "revert"])
def test_scripts_are_executable_python(script):
    path = os.path.join(TUNING, script)
    assert os.access(path, os.X_OK)
    with open(path) as f:
        assert f.readline() == "#!/usr/bin/env python3\n"
