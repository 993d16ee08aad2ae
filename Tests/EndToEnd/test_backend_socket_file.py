"""The worker socket's file: its mode and group whatever the umask, a stale file replaced, a live
one refused, and settings that cannot work (an unknown group, a group the gateway may not give the
file to, a path that is not a socket) stopping start-up with exit status 2."""

import grp
import os
import shutil
import socket
import stat
import subprocess
import tempfile

import pytest

from conftest import BINARY
from linkworker import LinkWorker

START_TIMEOUT_S = 30
NOBODY = 65534


@pytest.fixture
def folder():
    path = tempfile.mkdtemp(prefix="ringgate-socket-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_refused(*args, user=None):
    """Runs ringgate expecting it to stop during start-up; returns the finished process."""
    command = [str(BINARY), "--host", "127.0.0.1", "--port", "0", "--workers", "1", "--no-pin", *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT_S)


def own_group():
    """A group this process may give files to, other than its primary one when it can."""
    if os.geteuid() == 0:
        return grp.getgrnam("daemon") if "daemon" in {g.gr_name for g in grp.getgrall()} else grp.getgrgid(0)
    return grp.getgrgid(os.getgroups()[-1] if os.getgroups() else os.getgid())


def test_mode_and_group_are_exact_whatever_the_umask(gateway, folder):
    path = os.path.join(folder, "gw.sock")
    group = own_group()
    previous = os.umask(0o077)  # would strip the group's bits from a file created with 660
    try:
        server = gateway("--workers", "1", "--backend-socket", path, "--backend-socket-mode", "640",
                         "--backend-socket-group", group.gr_name)
    finally:
        os.umask(previous)
    info = os.stat(path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert info.st_gid == group.gr_gid
    worker = LinkWorker(path)
    assert worker.hello["version"] == 1
    worker.close()
    server.stop()
    assert not os.path.exists(path), "the gateway removes its socket file when it stops"


def test_default_mode_is_660_under_a_permissive_umask(gateway, folder):
    path = os.path.join(folder, "gw.sock")
    previous = os.umask(0)
    try:
        gateway("--workers", "1", "--backend-socket", path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660


def test_a_stale_socket_file_is_replaced(gateway, folder):
    path = os.path.join(folder, "gw.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)  # bound, never listening, closed: what a crashed gateway leaves behind
    dead.close()
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    server = gateway("--workers", "1", "--backend-socket", path)
    assert server.wait_for_line(lambda line: "replaced the stale socket file " + path in line, 0)
    worker = LinkWorker(path)
    assert worker.hello["version"] == 1
    worker.close()


def test_a_live_socket_is_refused_and_keeps_serving(gateway, folder):
    path = os.path.join(folder, "gw.sock")
    first = gateway("--workers", "1", "--backend-socket", path)
    result = start_refused("--backend-socket", path)
    assert result.returncode == 1, result.stderr
    assert f"is listening on {path}" in result.stderr
    worker = LinkWorker(path)  # the first gateway still owns the path
    assert worker.hello["version"] == 1
    worker.close()
    first.stop()


def test_a_path_that_is_not_a_socket_is_a_settings_error(folder):
    path = os.path.join(folder, "notes.txt")
    with open(path, "w") as file:
        file.write("keep me")
    result = start_refused("--backend-socket", path)
    assert result.returncode == 2, result.stderr
    assert "exists and is not a socket" in result.stderr
    with open(path) as file:
        assert file.read() == "keep me"


def test_an_unknown_group_is_a_settings_error(folder):
    path = os.path.join(folder, "gw.sock")
    result = start_refused("--backend-socket", path, "--backend-socket-group", "no-such-group-here")
    assert result.returncode == 2, result.stderr
    assert "no group named no-such-group-here" in result.stderr
    assert not os.path.exists(path)


def test_a_group_the_gateway_may_not_use_is_a_settings_error(folder):
    path = os.path.join(folder, "gw.sock")
    if os.geteuid() == 0:
        # root may chown to any group: run the gateway as nobody, asking for root's group.
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot start the gateway as another user")
        os.chmod(folder, 0o777)
        user, group = NOBODY, grp.getgrgid(0).gr_name
    else:
        foreign = [g for g in grp.getgrall() if g.gr_gid not in os.getgroups() and g.gr_gid != os.getgid()]
        if not foreign:
            pytest.skip("every group on this host is one of ours")
        user, group = None, foreign[0].gr_name
    result = start_refused("--backend-socket", path, "--backend-socket-group", group, user=user)
    if any(hint in result.stderr for hint in ("io_uring is not available", "io_uring is disabled")):
        pytest.skip("this user cannot use io_uring here: " + result.stderr.strip().splitlines()[-1])
    assert result.returncode == 2, result.stderr
    assert f"cannot give {path} to group {group}" in result.stderr
    assert not os.path.exists(path), "a socket that could not be set up is removed"
