"""tuning/apply and tuning/revert: dry runs change nothing, apply records the values it replaces
(the original ones, however often it runs), revert restores them exactly and removes the record.
One round trip runs on this machine's real /proc/sys with harmless keys; the fixture restores
those keys itself even when a test fails."""

import os

import pytest

from conftest import STOCK_SYSCTLS, run, write_tree

from ringtune import sysctls
from ringtune.host import normalize


def read_real(key):
    with open(os.path.join("/proc/sys", *key.split("."))) as f:
        return f.read()


def write_real(key, value):
    with open(os.path.join("/proc/sys", *key.split(".")), "w") as f:
        f.write(value)


def fake_values(root, keys):
    return {k: sysctls.read_sysctl(root, k) for k in keys}


# --- fake tree -----------------------------------------------------------------------------------

def test_dry_run_changes_nothing_in_a_fake_tree(tmp_path):
    root = write_tree(tmp_path / "root", STOCK_SYSCTLS)
    before = fake_values(root, STOCK_SYSCTLS)
    state = tmp_path / "state.conf"
    result = run("apply", "--root", root, "--state", state, "--dry-run")
    assert result.returncode == 0
    assert "net.ipv4.tcp_mem: 766008 1021344 1532016 -> 1048576 1572864 2097152 (dry run)" in \
        result.stdout
    assert fake_values(root, STOCK_SYSCTLS) == before
    assert not state.exists()


def test_round_trip_restores_every_value_and_removes_the_state(tmp_path):
    root = write_tree(tmp_path / "root", STOCK_SYSCTLS)
    keys = [k for k, _ in sysctls.load_profile("c1m")]
    before = fake_values(root, keys)
    state = tmp_path / "state.conf"

    result = run("apply", "--root", root, "--state", state)
    assert result.returncode == 0, result.stdout
    assert "net.ipv4.ip_local_port_range: 32768 60999 -> 1024 65535" in result.stdout
    assert "net.netfilter.nf_conntrack_max: skipped, not present on this host" in result.stdout
    assert "fs.file-max: 9223372036854775807 (kept: already at least 4194304)" in result.stdout
    after = fake_values(root, keys)
    assert after["net.ipv4.tcp_mem"] == "1048576 1572864 2097152"
    assert after["fs.file-max"] == before["fs.file-max"]  # a limit is never lowered
    recorded = sysctls.load_state(state)
    assert recorded["net.ipv4.tcp_mem"] == "766008 1021344 1532016"
    assert "fs.file-max" not in recorded and "fs.nr_open" not in recorded  # untouched keys

    result = run("revert", "--root", root, "--state", state)
    assert result.returncode == 0, result.stdout
    assert fake_values(root, keys) == before
    assert not state.exists()
    assert "nothing to revert" in run("revert", "--root", root, "--state", state).stdout


def test_applying_twice_keeps_the_original_previous_values(tmp_path):
    root = write_tree(tmp_path / "root", STOCK_SYSCTLS)
    state = tmp_path / "state.conf"
    assert run("apply", "--root", root, "--state", state).returncode == 0
    first = sysctls.load_state(state)
    second_run = run("apply", "--root", root, "--state", state)
    assert second_run.returncode == 0
    assert "-> " not in second_run.stdout  # nothing left to change
    assert sysctls.load_state(state) == first
    # A third apply after someone changed a key still keeps the value from before the first.
    sysctls.write_sysctl(root, "net.core.somaxconn", "128")
    third = run("apply", "--root", root, "--state", state)
    assert "net.core.somaxconn: 128 -> 65535" in third.stdout
    assert sysctls.load_state(state)["net.core.somaxconn"] == "4096"
    # Applying another profile on top still reverts to the original host.
    assert run("apply", "--root", root, "--state", state, "--profile", "c10m").returncode == 0
    assert run("revert", "--root", root, "--state", state).returncode == 0
    assert sysctls.read_sysctl(root, "net.core.somaxconn") == "4096"
    assert sysctls.read_sysctl(root, "net.ipv4.tcp_mem") == "766008 1021344 1532016"


def test_a_key_that_cannot_be_written_is_reported_and_the_rest_applied(tmp_path):
    root = write_tree(tmp_path / "root", STOCK_SYSCTLS)
    # /proc/version reads fine but refuses writes, even from root.
    path = os.path.join(root, "proc", "sys", "net", "core", "somaxconn")
    os.unlink(path)
    os.symlink("/proc/version", path)
    state = tmp_path / "state.conf"
    result = run("apply", "--root", root, "--state", state)
    assert result.returncode == 1
    assert "net.core.somaxconn:" in result.stdout and "FAILED" in result.stdout
    assert sysctls.read_sysctl(root, "net.ipv4.tcp_mem") == "1048576 1572864 2097152"
    assert "net.core.somaxconn" not in sysctls.load_state(state)  # nothing to restore there
    assert run("revert", "--root", root, "--state", state).returncode == 0


def test_revert_dry_run_keeps_values_and_state(tmp_path):
    root = write_tree(tmp_path / "root", STOCK_SYSCTLS)
    state = tmp_path / "state.conf"
    run("apply", "--root", root, "--state", state)
    recorded = state.read_text()
    result = run("revert", "--root", root, "--state", state, "--dry-run")
    assert result.returncode == 0 and "(dry run)" in result.stdout
    assert state.read_text() == recorded
    assert sysctls.read_sysctl(root, "net.core.somaxconn") == "65535"


def test_unknown_profile_exits_2(tmp_path):
    result = run("apply", "--root", str(tmp_path), "--state", tmp_path / "s", "--profile", "nope")
    assert result.returncode == 2 and "nope" in result.stderr


# --- this machine --------------------------------------------------------------------------------

def test_dry_run_changes_nothing_on_this_machine(tmp_path):
    keys = [k for k, _ in sysctls.load_profile("c1m")]
    before = {k: sysctls.read_sysctl("/", k) for k in keys}
    state = tmp_path / "state.conf"
    result = run("apply", "--state", state, "--dry-run")
    assert result.returncode == 0
    assert {k: sysctls.read_sysctl("/", k) for k in keys} == before
    assert not state.exists()


def _harmless_profile(tmp_path):
    """A profile of keys whose brief change cannot disturb anything else running here: a
    keepalive count, a FIN timeout, the packet backlog (raised only), tcp_mem (max +1 page, a
    three-field value), a key that does not exist, and a read-only one (fs.file-nr)."""
    keys = {
        "net.ipv4.tcp_keepalive_probes": lambda v: str(int(v) + 1),
        "net.ipv4.tcp_fin_timeout": lambda v: str(int(v) + 1),
        "net.core.netdev_max_backlog": lambda v: str(int(v) + 1),
        "net.ipv4.tcp_mem": lambda v: " ".join(v.split()[:2] + [str(int(v.split()[2]) + 1)]),
    }
    originals = {k: read_real(k) for k in keys}
    wanted = {k: f(normalize(originals[k])) for k, f in keys.items()}
    lines = [f"{k} = {v}" for k, v in wanted.items()] + ["net.ipv4.ringgate_no_such_key = 1"]
    profile = tmp_path / "harmless.conf"
    profile.write_text("# test profile\n" + "\n".join(lines) + "\n")
    return profile, originals, wanted


@pytest.fixture
def real_sysctls(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("writing sysctls needs root")
    profile, originals, wanted = _harmless_profile(tmp_path)
    try:
        write_real("net.ipv4.tcp_fin_timeout", originals["net.ipv4.tcp_fin_timeout"])
    except OSError as e:
        pytest.skip(f"/proc/sys is not writable here: {e}")
    try:
        yield profile, originals, wanted
    finally:
        for key, value in originals.items():
            if read_real(key) != value:
                write_real(key, value)


def test_round_trip_on_this_machine(tmp_path, real_sysctls):
    profile, originals, wanted = real_sysctls
    state = tmp_path / "previous.conf"

    result = run("apply", "--profile", profile, "--state", state)
    assert result.returncode == 0, result.stdout
    assert "net.ipv4.ringgate_no_such_key: skipped, not present on this host" in result.stdout
    for key, value in wanted.items():
        assert normalize(read_real(key)) == value
        assert f"{key}: {normalize(originals[key])} -> {value}" in result.stdout
    recorded = sysctls.load_state(state)
    assert recorded == {k: normalize(v) for k, v in originals.items()}

    again = run("apply", "--profile", profile, "--state", state)  # idempotent
    assert again.returncode == 0 and "-> " not in again.stdout
    assert sysctls.load_state(state) == recorded

    result = run("revert", "--state", state)
    assert result.returncode == 0, result.stdout
    for key, value in originals.items():
        assert read_real(key) == value  # byte for byte, tabs included
    assert not state.exists()


def test_a_read_only_sysctl_fails_without_stopping_the_run(tmp_path, real_sysctls):
    profile, originals, wanted = real_sysctls
    profile.write_text(profile.read_text() + "fs.file-nr = 1 2 3\n")
    state = tmp_path / "previous.conf"
    result = run("apply", "--profile", profile, "--state", state)
    assert result.returncode == 1
    assert "fs.file-nr:" in result.stdout and "FAILED" in result.stdout
    assert normalize(read_real("net.ipv4.tcp_fin_timeout")) == wanted["net.ipv4.tcp_fin_timeout"]
    assert "fs.file-nr" not in sysctls.load_state(state)
    assert run("revert", "--state", state).returncode == 0
    for key, value in originals.items():
        assert read_real(key) == value
