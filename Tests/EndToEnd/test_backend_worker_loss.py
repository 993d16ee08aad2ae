"""A worker killed mid-stream: under `--on-worker-loss close` its clients see 1011 and the
other worker's clients carry on; under `move` its clients carry on through the other worker, or
see 1012 when no other worker is left. Events queued for a worker that fails are counted."""

import asyncio
import re
import struct

import pytest
from websockets.exceptions import ConnectionClosed

from test_backend_support import (  # noqa: F401
    RawWorker, open_client, run, start_backend_gateway, wait_for_links, workers)
from websockets.exceptions import InvalidStatus

CLIENTS = 6


async def tag_of(ws, text):
    await ws.send(text)
    tag, _, echoed = (await asyncio.wait_for(ws.recv(), 10)).partition(": ")
    assert echoed == text
    return tag


async def stream(ws, stop):
    """Sends messages without waiting for each answer, and reads the answers, until `stop` is set
    or the connection closes. Reading matters: a client that stops reading never sees the close
    frame behind its unread messages. Returns the tags that answered."""
    tags = []

    async def read():
        try:
            while True:
                tags.append((await ws.recv()).partition(": ")[0])
        except ConnectionClosed:
            pass

    reader = asyncio.ensure_future(read())
    sent = 0
    try:
        while not stop.is_set():
            await ws.send(f"stream {sent}")
            sent += 1
            await asyncio.sleep(0.002)
    except ConnectionClosed:
        pass
    await asyncio.sleep(0.3)  # answers still on their way
    reader.cancel()
    return tags


def start_pair(gateway, workers, sdk, policy):
    server, path = start_backend_gateway(gateway, "--on-worker-loss", policy, "--route", "least-loaded", threads=2)
    doomed = workers(sdk, "echo", path, "--tag", "A")
    workers(sdk, "echo", path, "--tag", "B")
    wait_for_links(server, 2)
    return server, doomed


async def open_tagged(port):
    """CLIENTS connections, by the tag of the worker that answers them."""
    tagged = {"A": [], "B": []}
    for index in range(CLIENTS):
        ws = await open_client(port)
        tagged[await tag_of(ws, f"hello {index}")].append(ws)
    assert len(tagged["A"]) == len(tagged["B"]) == CLIENTS // 2
    return tagged


@pytest.mark.parametrize("sdk", ["swift", "python"])
def test_close_policy_closes_the_lost_workers_clients_with_1011(gateway, workers, sdk):
    server, doomed = start_pair(gateway, workers, sdk, "close")

    async def scenario():
        tagged = await open_tagged(server.port)
        stop = asyncio.Event()
        streams = [asyncio.ensure_future(stream(ws, stop)) for ws in tagged["A"] + tagged["B"]]
        await asyncio.sleep(0.3)
        doomed.kill()
        for ws in tagged["A"]:
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws.close_code == 1011
        stop.set()
        answered = await asyncio.gather(*streams)
        for ws, tags in zip(tagged["B"], answered[len(tagged["A"]):]):
            assert tags and set(tags) == {"B"}
            assert await tag_of(ws, "still here") == "B"
            await ws.close()

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["backend_closed_on_loss"] == CLIENTS // 2


@pytest.mark.parametrize("sdk", ["swift", "python"])
def test_move_policy_keeps_the_lost_workers_clients_working(gateway, workers, sdk):
    server, doomed = start_pair(gateway, workers, sdk, "move")

    async def scenario():
        tagged = await open_tagged(server.port)
        stop = asyncio.Event()
        streams = [asyncio.ensure_future(stream(ws, stop)) for ws in tagged["A"]]
        await asyncio.sleep(0.3)
        doomed.kill()
        await asyncio.sleep(1.0)  # the stream goes on across the move
        stop.set()
        answered = await asyncio.gather(*streams)
        for ws, tags in zip(tagged["A"], answered):
            # A answered before the kill, B after; messages in flight to A at the kill may be lost.
            assert tags[0] == "A" and tags[-1] == "B", tags
            assert tags == sorted(tags), "an answer from A after one from B"
            assert ws.close_code is None
            assert await tag_of(ws, "moved?") == "B"
        for ws in tagged["A"] + tagged["B"]:
            await ws.close()

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["backend_moved"] == CLIENTS // 2
    assert stats["backend_closed_on_loss"] == 0


def test_move_policy_without_another_worker_closes_with_1012(gateway, workers):
    server, path = start_backend_gateway(gateway, "--on-worker-loss", "move", threads=2)
    only = workers("python", "echo", path, "--tag", "A")
    wait_for_links(server, 1)

    async def scenario():
        clients = [await open_client(server.port) for _ in range(4)]
        for index, ws in enumerate(clients):
            assert await tag_of(ws, f"hello {index}") == "A"
        only.kill()
        for ws in clients:
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws.close_code == 1012  # Service Restart: reconnect, a worker may be back
        with pytest.raises(InvalidStatus) as refused:  # --no-worker refuse, the default
            await open_client(server.port)
        assert refused.value.response.status_code == 503

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["backend_closed_on_loss"] == 4
    assert stats["backend_moved"] == 0


def test_events_queued_for_a_failed_worker_are_counted(gateway):
    # The smallest event queue, so the gateway holds events (and pauses the client) early.
    server, path = start_backend_gateway(gateway, "--on-worker-loss", "close", "--backend-queue-limit", "65536")
    worker = RawWorker(path)
    wait_for_links(server, 1)
    payload = bytes(16 << 10)

    def accept_first_open():
        while True:
            kind, body = worker.read_frame()
            if kind == 0x02:
                conn = struct.unpack_from("<Q", body)[0]
                worker.send_frame(0x82, struct.pack("<QH", conn, 0))
                return conn

    async def scenario():
        connecting = asyncio.ensure_future(open_client(server.port, max_size=None))
        await asyncio.to_thread(accept_first_open)
        ws = await connecting

        async def flood():
            for _ in range(1000):  # bounded; the gateway pauses the client long before the end
                await ws.send(payload)
        flooding = asyncio.ensure_future(flood())
        # The worker reads nothing: the socket fills, events wait in the gateway, the client is
        # paused, and the gateway's count of messages read stops moving (the same over three
        # stats lines, as counters are published once per tick).
        stats = await asyncio.to_thread(server.wait_for_stats, lambda s: s["backend_paused"] >= 1, 20)
        assert stats["backend_paused"] >= 1, stats
        seen = [stats["messages_in"]]
        while len(seen) < 3 or len(set(seen[-3:])) > 1:
            assert len(seen) < 100, f"the gateway kept reading a paused client: {seen}"
            seen.append((await asyncio.to_thread(server.stats))["messages_in"])
        read = seen[-1]
        # A command the gateway does not know fails the link; what the gateway had written
        # before stays readable in the worker's socket.
        before = len(server.lines)
        worker.send_frame(0x7F)
        delivered = 0
        while (frame := await asyncio.to_thread(worker.read_frame)) is not None:
            delivered += frame[0] == 0x03
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == 1011
        flooding.cancel()
        return read, delivered, before

    read, delivered, before = run(scenario())
    line = server.wait_for_line(lambda l: "undelivered events" in l, 5, after=before)
    assert line is not None
    logged = int(re.search(r"(\d+) undelivered events", line).group(1))
    # Every message the gateway read is either in the worker's socket or counted as lost.
    assert logged >= 1 and delivered + logged == read, (delivered, logged, read)
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["backend_events_lost"] >= logged


def test_an_upgrade_with_more_headers_than_open_can_count_is_forwarded_cut(gateway, workers):
    """OPEN counts headers in a u16: past 65,535 (possible with a raised --max-header-size) the
    rest are left out. Under `move` the gateway also keeps the fields for the next worker, where
    the count once trapped and took the whole gateway down."""
    from wsraw import RawClient, accept_for, new_key, upgrade_request
    server, path = start_backend_gateway(gateway, "--on-worker-loss", "move", "--max-header-size", "1048576")
    workers("python", "echo", path, "--tag", "A")
    wait_for_links(server, 1)
    key = new_key()
    # Cookie is forwarded by default, and every occurrence of it is kept.
    request = upgrade_request(server.port, key=key)[:-2] + b"Cookie: a\r\n" * 70_000 + b"\r\n"
    with RawClient(server.port, timeout_s=20) as client:
        client.send(request)
        status, headers, _ = client.read_response()
        assert status == 101 and headers["sec-websocket-accept"] == accept_for(key), (status, headers)
        client.send_frame(0x1, "after many headers")
        fin, opcode, payload = client.read_frame()
        assert (fin, opcode, payload) == (True, 0x1, b"A: after many headers")
    assert server.process.poll() is None, "the gateway died"
