"""The per-message paths allocate nothing per message. ringgate runs with a preloaded allocation
counter (alloc/alloc_counter.c: every malloc, calloc, realloc and aligned allocation of the whole
process); each path is driven past its warm-up, then for MESSAGES more, and the allocations over
those must stay far below one per message. A path that allocated once per message would count
MESSAGES or more.

The gateway under test is the release build (scripts/test builds it), the one users run: a debug
build runs generic code unspecialized, and that allocates where the optimized code does not."""

import os
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT
from linkworker import MESSAGE, OPEN, LinkWorker
from wsraw import RawClient, frame

HERE = Path(__file__).parent
RELEASE = Path(os.environ.get("RINGGATE_RELEASE_BINARY", ROOT / ".build" / "release" / "ringgate"))
MESSAGES = 5000
WARM_UP = 1000
# Less than one allocation per 100 messages: room for the rare tick-driven bookkeeping
# (a throttled log line, a table growing to a new high-water mark), none for a per-message one.
ALLOWED = MESSAGES // 100


@pytest.fixture(scope="module")
def counter_library():
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.fail("no C compiler to build the allocation counter")
    folder = tempfile.mkdtemp(prefix="ringgate-alloc-")
    library = os.path.join(folder, "alloc_counter.so")
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", library, str(HERE / "alloc" / "alloc_counter.c")], check=True)
    yield library
    shutil.rmtree(folder, ignore_errors=True)


class Counted:
    """A gateway whose allocations are counted."""

    def __init__(self, gateway, library, *args):
        self.file = Path(tempfile.mkstemp(prefix="ringgate-allocs-")[1])
        if not RELEASE.is_file():
            pytest.fail(f"{RELEASE} is missing; build it with `swift build -c release --product ringgate`")
        self.server = gateway("--stats-interval", "0", *args, binary=RELEASE,
                              env={"LD_PRELOAD": library, "ALLOC_COUNTER_FILE": str(self.file)})

    def allocations(self):
        return struct.unpack("<Q", self.file.read_bytes()[:8])[0]

    def measure(self, drive):
        """Allocations while `drive(MESSAGES)` runs, after `drive(WARM_UP)` and a quiet moment."""
        drive(WARM_UP)
        time.sleep(0.3)
        before = self.allocations()
        assert before > 0, "the counter is not counting (LD_PRELOAD not in effect?)"
        drive(MESSAGES)
        return self.allocations() - before


def echo(client, payload, count, batch=50):
    """Sends `count` binary messages in pipelined batches and reads every echo back."""
    message = frame(0x2, payload)
    for _ in range(count // batch):
        client.send(message * batch)
        for _ in range(batch):
            fin, opcode, body = client.read_frame()
            assert (fin, opcode, len(body)) == (True, 0x2, len(payload))


@pytest.mark.parametrize("size", [32, 6000], ids=["32 B", "6000 B, split across receive buffers"])
def test_the_echo_path_allocates_nothing_per_message(gateway, counter_library, size):
    counted = Counted(gateway, counter_library, "--workers", "1")
    payload = os.urandom(size)
    with RawClient(counted.server.port, timeout_s=20) as client:
        client.handshake()
        allocations = counted.measure(lambda n: echo(client, payload, n))
    assert allocations <= ALLOWED, f"{allocations} allocations for {MESSAGES} echoes of {size} B"


def test_the_worker_link_path_allocates_nothing_per_message(gateway, counter_library):
    """Client -> MESSAGE to a worker -> SEND back -> client, counted in the gateway."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "gw.sock")
        counted = Counted(gateway, counter_library, "--workers", "1", "--backend-socket", path)

        def on_open(worker, fields):
            worker.accept(fields["conn"])
        worker = LinkWorker(path, on_open=on_open)
        assert counted.server.wait_for_line(lambda line: "joined as link" in line, 5.0)
        with RawClient(counted.server.port, timeout_s=20) as client:
            client.handshake()
            conn = worker.expect(OPEN)["conn"]

            def drive(count, batch=50):
                for _ in range(count // batch):
                    client.send(frame(0x1, "hello") * batch)
                    for _ in range(batch):
                        message = worker.expect(MESSAGE)
                        worker.send_text(conn, message["payload"].decode())
                    for _ in range(batch):
                        assert client.read_frame() == (True, 0x1, b"hello")
            allocations = counted.measure(drive)
        worker.close()
    assert allocations <= ALLOWED, f"{allocations} allocations for {MESSAGES} messages through the worker link"


def test_the_fan_out_path_allocates_nothing_per_delivery(gateway, counter_library):
    """A worker publishes to a topic with 20 subscribers. A publication is encoded once into a
    shared frame that every subscriber's send queue references until its send completes: that
    frame (its bytes and its owner) is the only allocation, per publication, not per delivery."""
    subscribers = 20
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "gw.sock")
        counted = Counted(gateway, counter_library, "--workers", "1", "--backend-socket", path)

        def on_open(worker, fields):
            worker.accept(fields["conn"])
            worker.subscribe(fields["conn"], "news")
        worker = LinkWorker(path, on_open=on_open)
        assert counted.server.wait_for_line(lambda line: "joined as link" in line, 5.0)
        clients = [RawClient(counted.server.port, timeout_s=20) for _ in range(subscribers)]
        try:
            for client in clients:
                client.handshake()
                worker.expect(OPEN)
            time.sleep(0.3)  # the subscriptions are applied on the gateway's thread

            def drive(deliveries, batch=10):
                for _ in range(deliveries // subscribers // batch):
                    for _ in range(batch):
                        worker.publish("news", "update")
                    for client in clients:
                        for _ in range(batch):
                            assert client.read_frame() == (True, 0x1, b"update")
            allocations = counted.measure(drive)
        finally:
            for client in clients:
                client.close()
            worker.close()
    publications = MESSAGES // subscribers
    assert allocations <= 2 * publications + ALLOWED, \
        f"{allocations} allocations for {MESSAGES} deliveries ({publications} publications)"
