"""A worker that stops reading: the gateway queues a bounded amount of events for it, then stops
reading the client, so its memory stays flat however long the client keeps sending; once the
worker reads again, every message arrives (docs/PROTOCOL.md, "Flow control")."""

import asyncio
import struct
import time

from test_backend_support import RawWorker, open_client, run, start_backend_gateway, vm_rss_kib

MESSAGE_BYTES = 64 << 10
SEND_SECONDS = 4.0
WARMUP_SECONDS = 1.0


def accept_first_open(worker):
    """Reads up to the first OPEN and accepts it; returns its conn."""
    while True:
        kind, body = worker.read_frame()
        if kind == 0x02:
            conn, flags = struct.unpack_from("<QB", body)
            assert flags & 1, "the OPEN should wait for a decision"
            worker.send_frame(0x82, struct.pack("<QH", conn, 0))
            return conn


def count_messages(worker, conn, until):
    """Reads MESSAGE events for `conn` until `until()` of the count holds; returns the count."""
    count = 0
    while not until(count):
        frame = worker.read_frame()
        assert frame is not None, "the gateway closed the worker's link"
        kind, body = frame
        if kind == 0x03 and struct.unpack_from("<Q", body)[0] == conn:
            assert len(body) == 9 + MESSAGE_BYTES
            count += 1
    return count


def test_a_worker_that_stops_reading_holds_the_client_back(gateway):
    server, path = start_backend_gateway(gateway)
    worker = RawWorker(path)
    server.wait_for_stats(lambda s: s["backend_links_open"] >= 1, timeout_s=10)

    async def scenario():
        connecting = asyncio.ensure_future(open_client(server.port, max_size=None))
        conn = await asyncio.to_thread(accept_first_open, worker)
        ws = await connecting
        stop = asyncio.Event()
        sent = 0

        async def keep_sending():
            nonlocal sent
            payload = bytes(MESSAGE_BYTES)
            while not stop.is_set():
                await ws.send(payload)
                sent += 1

        sender = asyncio.ensure_future(keep_sending())
        await asyncio.sleep(WARMUP_SECONDS)
        baseline_kib = vm_rss_kib(server.process.pid)
        peak_kib = baseline_kib
        deadline = time.monotonic() + SEND_SECONDS - WARMUP_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            peak_kib = max(peak_kib, vm_rss_kib(server.process.pid))
        held_at = sent
        stop.set()
        paused = server.stats()["backend_paused"]

        # The worker reads again: the client's blocked send completes and everything arrives.
        reading = asyncio.ensure_future(asyncio.to_thread(count_messages, worker, conn, lambda n: sender.done() and n >= sent))
        await asyncio.wait_for(sender, 30)
        received = await asyncio.wait_for(reading, 30)
        await ws.close()
        return held_at, received, sent, baseline_kib, peak_kib, paused

    held_at, received, sent, baseline_kib, peak_kib, paused = run(scenario())
    print(f"held at {held_at} messages, received {received}/{sent}, RSS {baseline_kib} -> {peak_kib} KiB, paused {paused}")
    assert paused >= 1, "the gateway never paused the client for its worker"
    # Without backpressure a loopback client pushes gigabytes in 4 s; held back, it gets the
    # link queue (4 MiB) plus socket buffers through.
    assert held_at * MESSAGE_BYTES < 96 << 20, f"{held_at} messages went through a worker that does not read"
    assert peak_kib - baseline_kib < 16 << 10, f"gateway RSS grew from {baseline_kib} to {peak_kib} KiB"
    assert received == sent
    worker.close()
