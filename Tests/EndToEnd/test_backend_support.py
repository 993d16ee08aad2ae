"""Shared parts of the test_backend_* files (no tests here): a gateway with a backend socket,
application workers written with each SDK started as subprocesses, and WebSocket clients.

Workers come from the example programs: the Swift ones from RINGGATE_BUILD_DIR (default
.build/debug, where `swift build --build-tests` puts them), the Python ones from
clients/python/examples. Every worker is stopped by its own PID when the test ends.
"""

import asyncio
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from conftest import ROOT

BUILD_DIR = Path(os.environ.get("RINGGATE_BUILD_DIR", ROOT / ".build" / "debug"))
PYTHON_EXAMPLES = ROOT / "clients" / "python" / "examples"
SDKS = ["swift", "python"]
TEST_TIMEOUT_S = 60.0
START_TIMEOUT_S = 15.0


def run(coroutine, timeout_s=TEST_TIMEOUT_S):
    """Run `coroutine` to completion, failing the test instead of hanging past `timeout_s`."""
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)
    return asyncio.run(bounded())


def socket_path():
    return os.path.join(tempfile.mkdtemp(prefix="ringgate-backend-"), "link.sock")


def start_backend_gateway(gateway, *args, threads=1):
    """A gateway with `threads` rings taking workers on a fresh socket; returns (gateway, socket path)."""
    path = socket_path()
    return gateway("--workers", str(threads), "--backend-socket", path, *args), path


class Worker:
    """One example worker process; `lines` collects its stdout and stderr."""

    def __init__(self, command):
        self.command = command
        self.lines = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._drain, daemon=True).start()
        if not self.wait_for_line("connected", START_TIMEOUT_S):
            self.stop()
            pytest.fail(f"worker {' '.join(command)} did not connect; output:\n" + "\n".join(self.lines))

    def _drain(self):
        for raw in self.process.stdout:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()

    def wait_for_line(self, text, timeout_s):
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    return any(text in line for line in self.lines)
                self._changed.wait(min(remaining, 0.1))
            return True

    def kill(self):
        """SIGKILL: the link drops without a goodbye, as when a worker crashes."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_command(sdk, example, path, *args):
    """The command line of example `echo` or `chat` written with `sdk`."""
    if sdk == "swift":
        binary = BUILD_DIR / f"ringgate-{example}-worker"
        if not binary.is_file():
            pytest.fail(f"{binary} is missing; build it with `swift build --build-tests`")
        return [str(binary), "--socket", path, *args]
    return [sys.executable, str(PYTHON_EXAMPLES / f"{example}_worker.py"), "--socket", path, *args]


@pytest.fixture
def workers():
    """Factory: `workers(sdk, example, path, *args)` starts a worker; all are stopped at teardown."""
    started = []

    def start(sdk, example, path, *args):
        worker = Worker(worker_command(sdk, example, path, *args))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for_links(server, count):
    """Polls the stats lines until `count` worker links are open."""
    stats = server.wait_for_stats(lambda s: s.get("backend_links_open", 0) >= count, timeout_s=10)
    assert stats.get("backend_links_open", 0) >= count, f"workers never linked: {stats}"


def client(port, path="/", **kwargs):
    options = dict(ping_interval=None, open_timeout=10, close_timeout=5)
    options.update(kwargs)
    return connect(f"ws://127.0.0.1:{port}{path}", **options)


async def open_client(port, path="/", **kwargs):
    """Connects, retrying a 503 briefly: a worker's HELLO may still be on its way to the hub."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return await client(port, path, **kwargs)
        except InvalidStatus as refused:
            if refused.response.status_code != 503 or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def echo(ws, text):
    await ws.send(text)
    return await asyncio.wait_for(ws.recv(), 10)


class RawWorker:
    """A worker on a plain blocking socket, for misbehaving on purpose: frames are built by hand
    from docs/PROTOCOL.md, so nothing here trusts the SDKs."""

    def __init__(self, path, hello=True, name="raw"):
        import socket
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buffer = b""
        kind, body = self.read_frame()
        assert kind == 0x01, f"expected HELLO, got type {kind}"
        if hello:
            self.send_frame(0x81, struct.pack("<H", 1) + struct.pack("<H", len(name)) + name.encode())

    def send_frame(self, kind, body=b""):
        self.sock.sendall(struct.pack("<IB", len(body) + 1, kind) + body)

    def read_frame(self):
        """(type, body) of the next frame, or None when the gateway closed the link."""
        while True:
            if len(self.buffer) >= 4:
                (length,) = struct.unpack_from("<I", self.buffer)
                if len(self.buffer) >= 4 + length:
                    kind, body = self.buffer[4], self.buffer[5:4 + length]
                    self.buffer = self.buffer[4 + length:]
                    return kind, body
            data = self.sock.recv(1 << 16)
            if not data:
                return None
            self.buffer += data

    def close(self):
        self.sock.close()


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")
