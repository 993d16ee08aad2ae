"""ringgate checks the host at start-up and logs one warning per problem with the current value,
the need and the fix. Every item runs on fake trees in Tests/RingGatewayTests/HostCheckTests.swift;
here the real binary on this host: a --backlog above net.core.somaxconn is named, one at it is not."""

import re
from pathlib import Path

import pytest

SOMAXCONN = Path("/proc/sys/net/core/somaxconn")
BACKLOG_MAX = 1_048_576  # the largest --backlog ringgate accepts
SOMAXCONN_LINE = re.compile(
    r"^ringgate: warning: net\.core\.somaxconn is (\d+), needs (\d+) \(--backlog\): (.+); fix: (.+)$")
# What tuning/sysctl.d/90-ringgate-c1m.conf sets.
PROFILE_SOMAXCONN = 65535


def read_somaxconn():
    try:
        return int(SOMAXCONN.read_text())
    except (OSError, ValueError):
        return None


def test_backlog_above_somaxconn_is_named_with_its_fix(gateway):
    somaxconn = read_somaxconn()
    if somaxconn is None or somaxconn >= BACKLOG_MAX:
        pytest.skip(f"net.core.somaxconn is {somaxconn}: no --backlog above it to ask for")
    backlog = somaxconn + 1
    server = gateway("--backlog", backlog)
    found = [SOMAXCONN_LINE.match(line) for line in server.lines if "somaxconn" in line]
    assert len(found) == 1 and found[0] is not None, "\n".join(server.lines)
    current, needed, effect, fix = found[0].groups()
    # Another process on a shared host may retune it between the read and the start.
    assert int(current) in (somaxconn, read_somaxconn())
    assert int(needed) == backlog
    assert "caps every listen backlog" in effect
    if backlog <= PROFILE_SOMAXCONN:
        assert fix == f"tuning/apply --profile c1m (sets net.core.somaxconn = {PROFILE_SOMAXCONN})"
    else:
        assert fix == f"sysctl -w net.core.somaxconn='{backlog}'"
    server.stop()


def test_backlog_at_somaxconn_gives_no_line(gateway):
    somaxconn = read_somaxconn()
    if somaxconn is None:
        pytest.skip("net.core.somaxconn is not readable here")
    server = gateway("--backlog", min(somaxconn, BACKLOG_MAX))
    if read_somaxconn() != somaxconn:
        pytest.skip("net.core.somaxconn changed while ringgate started")
    assert not [line for line in server.lines if "somaxconn" in line], "\n".join(server.lines)
    server.stop()
