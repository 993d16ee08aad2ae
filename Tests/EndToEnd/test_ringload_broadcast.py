"""ringload's broadcast scenario, cross-checked at small scale: the benchmark worker
(bench/peers/broadcast_worker.py) subscribes ringload's connections and a few Python `websockets`
clients to one topic and publishes timestamped messages. The independent clients must receive
exactly the messages the worker says it published, ringload must name the same messages with a
full count each and nothing missing, and the gateway's own counters must agree."""

import asyncio
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent.parent
RINGLOAD = Path(os.environ.get("RINGLOAD_BINARY", ROOT / ".build" / "debug" / "ringload"))
WORKER = ROOT / "bench" / "peers" / "broadcast_worker.py"

RINGLOAD_CONNECTIONS = 50
PYTHON_CLIENTS = 3
MESSAGES = 5
SIZE = 64


@pytest.fixture
def socket_path():
    with tempfile.TemporaryDirectory() as folder:
        yield os.path.join(folder, "gw.sock")


def test_broadcast_counts_match_an_independent_client(gateway, socket_path):
    if not RINGLOAD.is_file():
        pytest.fail(f"{RINGLOAD} is missing; build it with `swift build --product ringload`")
    server = gateway("--workers", "2", "--backend-socket", socket_path)
    subscribers = RINGLOAD_CONNECTIONS + PYTHON_CLIENTS
    before = len(server.lines)
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), "--socket", socket_path, "--subscribers", str(subscribers),
         "--messages", str(MESSAGES), "--rate", "20", "--size", str(SIZE), "--settle", "0.1",
         "--timeout", "10", "--linger", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Without a linked worker the gateway refuses upgrades (503).
        assert server.wait_for_line(lambda line: "joined as link" in line, 5.0, after=before), "the worker never joined"
        report, received = asyncio.run(asyncio.wait_for(run_clients(server.port), 15))
        out, err = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    published = json.loads(out.strip().splitlines()[-1])["published_ns"]
    assert len(published) == MESSAGES

    # The independent clients got every message, once, in order, intact.
    for payloads in received:
        assert [len(p) for p in payloads] == [SIZE] * MESSAGES
        assert [struct.unpack_from("<QQ", p) for p in payloads] == [(ns, i) for i, ns in enumerate(published)]

    # ringload names the same messages, each delivered to every one of its connections.
    assert report["upgraded"] == RINGLOAD_CONNECTIONS and report["failures"] == 0
    assert report["subscribers"] == RINGLOAD_CONNECTIONS
    assert report["messages_seen"] == MESSAGES
    assert [m["sent_ns"] for m in report["per_message"]] == published
    assert [m["deliveries"] for m in report["per_message"]] == [RINGLOAD_CONNECTIONS] * MESSAGES
    assert report["deliveries"] == RINGLOAD_CONNECTIONS * MESSAGES
    assert report["messages_received"] == RINGLOAD_CONNECTIONS * MESSAGES
    assert report["missing_deliveries"] == 0 and report["out_of_order"] == 0
    assert 0 < report["until_last_us"]["p50"] <= report["until_last_us"]["max"]
    assert report["deliveries_per_second"] > 0

    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["publishes"] == MESSAGES
    assert stats["deliveries"] == subscribers * MESSAGES
    assert stats["dropped_oldest"] == stats["dropped_newest"] == 0


async def run_clients(port):
    """Opens the Python clients, runs ringload beside them, and returns ringload's JSON report
    and each client's payloads."""
    clients = [await connect(f"ws://127.0.0.1:{port}/") for _ in range(PYTHON_CLIENTS)]
    load = await asyncio.create_subprocess_exec(
        str(RINGLOAD), "broadcast", "--url", f"ws://127.0.0.1:{port}/", "--connections", str(RINGLOAD_CONNECTIONS),
        "--messages", str(MESSAGES), "--duration", "10", "--workers", "2", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def collect(ws):
        return [await asyncio.wait_for(ws.recv(), 10) for _ in range(MESSAGES)]

    try:
        received = await asyncio.gather(*(collect(ws) for ws in clients))
        out, err = await asyncio.wait_for(load.communicate(), 14)
        # ringload waited past its last delivery; nothing more may come to anyone.
        for ws in clients:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.1)
    finally:
        if load.returncode is None:
            load.kill()
            await load.wait()
        for ws in clients:
            await ws.close()
    assert load.returncode == 0, err.decode()
    return json.loads(out), received
