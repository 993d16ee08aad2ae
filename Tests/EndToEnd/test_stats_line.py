"""The stats line printed on exit counts everything that happened before SIGTERM."""

import os

import pytest

from wsraw import BINARY, CLOSE, TEXT, RawClient, close_payload


def test_final_stats_line_includes_events_after_the_last_tick(gateway):
    # Ticks far apart: no tick can publish the counters between the traffic and SIGTERM, so the
    # exit line is right only if stopping takes a last snapshot of every worker's counters.
    server = gateway("--workers", "1", "--tick-ms", "10000", "--stats-interval", "0")
    with RawClient(server.port) as client:
        client.handshake()
        assert client.echo(TEXT, b"one") == (TEXT, b"one")
        assert client.echo(BINARY, b"two") == (BINARY, b"two")
        client.send_frame(CLOSE, close_payload(1000))
        assert client.read_close()[0] == 1000
        assert client.wait_for_eof() == b""
    stats = server.stop()
    assert stats["accepted"] == 1
    assert stats["handshakes_ok"] == 1
    assert (stats["messages_in"], stats["messages_out"]) == (2, 2)
    assert stats["closed_by_client"] == 1


def test_periodic_stats_lines_track_counters(gateway):
    server = gateway("--workers", "2")
    before = server.stats()
    assert before["handshakes_ok"] == 0
    with RawClient(server.port) as client:
        client.handshake()
        assert client.echo(TEXT, b"counted") == (TEXT, b"counted")
        during = server.wait_for_stats(lambda s: s["messages_out"] >= 1)
        assert during["open"] == 1
        assert (during["messages_in"], during["bytes_in"]) == (1, len(b"counted"))
    after = server.wait_for_stats(lambda s: s["open"] == 0)
    assert after["open"] == 0
    assert after["accepted"] == 1


def test_a_kernel_without_io_uring_gets_one_clear_line_and_a_failure_exit():
    """With io_uring switched off (kernel.io_uring_disabled=2), ringgate says so in one line and
    exits non-zero instead of starting half-way."""
    import subprocess
    from pathlib import Path

    from conftest import BINARY

    knob = Path("/proc/sys/kernel/io_uring_disabled")
    if not knob.exists() or os.geteuid() != 0:
        pytest.skip("needs root and kernel.io_uring_disabled to switch io_uring off")
    before = knob.read_text().strip()
    try:
        knob.write_text("2")
        result = subprocess.run([str(BINARY), "--port", "0"], capture_output=True, text=True, timeout=30)
    finally:
        knob.write_text(before)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any("io_uring is disabled (sysctl kernel.io_uring_disabled)" in line for line in lines), lines
