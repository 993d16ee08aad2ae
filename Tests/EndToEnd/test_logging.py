"""--log-level filters every log line, the gateway's own and the C core's alike: at warning,
info lines (listening, reloaded, stopping, stats) are gone and warnings stay; at error, the
warnings go too. Each line that is not info names its level."""

import os
import signal
import socket
import subprocess
import threading
import time

from conftest import BINARY

CORE_WARNING = "ringcore: warning: worker 0: connection table full"
GATEWAY_WARNING = "ringgate: warning: these settings take effect only after a restart (--takeover): workers"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def connect_when_up(port, timeout_s=15.0):
    """A TCP connection to the gateway, retried until it listens (nothing is logged to wait for)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def run_at(level, tmp_path):
    """Runs a gateway at `level` through a core warning (a connection past a one-slot table)
    and a gateway warning (SIGHUP changing a restart-only key); returns its stderr lines."""
    config = tmp_path / f"{level}.toml"
    config.write_text("workers = 1\n")
    port = free_port()
    process = subprocess.Popen(
        [str(BINARY), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--no-pin",
         "--max-connections", "1", "--stats-interval", "0.1", "--drain-window", "0", "--log-level", level],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in process.stderr), daemon=True)
    reader.start()
    try:
        connect_when_up(port).close()
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
        time.sleep(0.5)  # the table holds one: the core closes the others and warns
        config.write_text("workers = 2\n")
        process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        for conn in held:
            conn.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
    reader.join(10)
    return lines


def test_warning_level_keeps_warnings_and_drops_info(tmp_path):
    lines = run_at("warning", tmp_path)
    assert any(line.startswith(CORE_WARNING) for line in lines), lines
    assert any(line.startswith(GATEWAY_WARNING) for line in lines), lines
    for info in ("ringgate: listening on", "ringgate: reloaded", "ringgate: stopping", "ringgate: open="):
        assert not any(line.startswith(info) for line in lines), (info, lines)
    # Every line that got through names its level.
    assert all(line.startswith(("ringgate: warning: ", "ringcore: warning: ", "ringgate: error: ",
                                "ringcore: error: ")) for line in lines), lines


def test_error_level_drops_the_warnings_of_both_layers(tmp_path):
    lines = run_at("error", tmp_path)
    assert not any(line.startswith((CORE_WARNING, GATEWAY_WARNING)) for line in lines), lines


def test_info_level_shows_both_with_their_levels(tmp_path):
    lines = run_at("info", tmp_path)
    assert any(line.startswith(CORE_WARNING) for line in lines), lines
    assert any(line.startswith("ringgate: reloaded") for line in lines), lines
    assert any(line == "ringgate: stopping" for line in lines), lines
