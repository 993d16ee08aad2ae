"""Topics and fan-out through the worker link: publish across gateway threads, changes during a
fan-out, slow subscribers, history with resume and gaps, presence, and the per-client rate
limit. Clients are Python `websockets`; the worker is the raw protocol client in linkworker.py."""

import asyncio
import os
import socket
import struct
import tempfile
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from linkworker import CLOSED, GAP, OPEN, PRESENCE, LinkWorker
from wsraw import RawClient


def run(coroutine, timeout_s=60.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)
    return asyncio.run(bounded())


@pytest.fixture
def socket_path():
    with tempfile.TemporaryDirectory() as folder:
        yield os.path.join(folder, "gw.sock")


def join(server, path, **options):
    """A LinkWorker that the gateway has registered (routing waits for its HELLO)."""
    before = len(server.lines)
    worker = LinkWorker(path, **options)
    assert server.wait_for_line(lambda line: "joined as link" in line, 5.0, after=before), "the worker never joined"
    return worker


def accept_into(topic):
    """An on_open that accepts every upgrade and subscribes it to `topic` right away."""
    def on_open(worker, fields):
        worker.accept(fields["conn"])
        if topic:
            worker.subscribe(fields["conn"], topic)
    return on_open


def wait_opens(worker, count):
    return [worker.expect(OPEN) for _ in range(count)]


def test_publish_reaches_subscribers_on_every_thread_and_no_one_else(gateway, socket_path):
    server = gateway("--workers", "2", "--backend-socket", socket_path)
    worker = join(server, socket_path, on_open=accept_into("news"))
    bystander_conn = []

    async def scenario():
        subscribers = [await connect(f"ws://127.0.0.1:{server.port}/news") for _ in range(40)]
        opens = wait_opens(worker, 40)
        # 40 connections over two SO_REUSEPORT listeners: both threads hold some.
        assert {o["conn"] >> 48 for o in opens} == {0, 1}
        worker.on_open = accept_into(None)
        bystander = await connect(f"ws://127.0.0.1:{server.port}/other")
        bystander_conn.append(worker.expect(OPEN)["conn"])
        await asyncio.sleep(0.2)  # subscriptions are queued behind the accepts
        worker.publish("news", "headline 1")
        worker.publish("news", "headline 2")
        for ws in subscribers:
            assert await asyncio.wait_for(ws.recv(), 5) == "headline 1"
            assert await asyncio.wait_for(ws.recv(), 5) == "headline 2"
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(bystander.recv(), 0.5)
        for ws in subscribers + [bystander]:
            await ws.close()
    run(scenario())
    stats = server.stop(until=lambda s: s["deliveries"] >= 80 and s["open"] == 0)
    assert stats["publishes"] == 2
    assert stats["deliveries"] == 80


def test_unsubscribe_and_disconnect_during_a_paced_fan_out(gateway, socket_path):
    # One delivery per loop turn: every fan-out is spread over many turns, so the changes
    # below land while fan-outs are in progress.
    server = gateway("--workers", "2", "--backend-socket", socket_path, "--fanout-batch", "1")
    worker = join(server, socket_path, on_open=accept_into("room"))
    messages = 30

    async def scenario():
        clients = [await connect(f"ws://127.0.0.1:{server.port}/room", max_queue=None) for _ in range(60)]
        conns = [o["conn"] for o in wait_opens(worker, 60)]
        await asyncio.sleep(0.2)
        stayers, leavers, quitters = clients[:20], clients[20:40], clients[40:]
        for i in range(messages):
            worker.publish("room", f"m{i}")
        for conn in conns[20:40]:
            worker.unsubscribe(conn, "room")
        for ws in quitters:
            await ws.close()
        async def everything(ws):
            return [await asyncio.wait_for(ws.recv(), 10) for _ in range(messages)]

        async def whatever_came(ws):
            # What arrived before the unsubscribe took effect: a prefix, in order, no repeats.
            got = []
            while True:
                try:
                    got.append(await asyncio.wait_for(ws.recv(), 1.0))
                except asyncio.TimeoutError:
                    return got

        for got in await asyncio.gather(*(everything(ws) for ws in stayers)):
            assert got == [f"m{i}" for i in range(messages)]
        for got in await asyncio.gather(*(whatever_came(ws) for ws in leavers)):
            assert got == [f"m{i}" for i in range(len(got))]
        worker.publish("room", "after")
        for ws in stayers:
            assert await asyncio.wait_for(ws.recv(), 5) == "after"

        async def nothing_more(ws):
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)
        await asyncio.gather(*(nothing_more(ws) for ws in leavers))
        for ws in stayers + leavers:
            await ws.close()
    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["protocol_errors"] == 0


def test_a_slow_subscriber_is_closed_without_delaying_the_others(gateway, socket_path):
    server = gateway(
        "--workers", "1", "--backend-socket", socket_path, "--slow-client", "close",
        "--send-queue-limit", str(1 << 20),
    )
    worker = join(server, socket_path, on_open=accept_into("feed"))
    payload = "x" * 8000
    rounds, per_round = 200, 10  # 16 MB in all: far past the slow client's queue and socket buffers

    async def scenario():
        fast = [await connect(f"ws://127.0.0.1:{server.port}/", max_size=None, max_queue=None) for _ in range(5)]
        wait_opens(worker, 5)
        # A raw client that upgrades and then never reads, with a tiny receive buffer.
        slow = RawClient(server.port)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.handshake()
        wait_opens(worker, 1)
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        worst = 0.0
        for _ in range(rounds):
            sent_at = loop.time()
            for _ in range(per_round):
                worker.publish("feed", payload)
            for ws in fast:
                for _ in range(per_round):
                    assert await asyncio.wait_for(ws.recv(), 10) == payload
            worst = max(worst, loop.time() - sent_at)
        # Each round reached all five readers promptly, before and after the slow one filled up.
        assert worst < 2.0, worst
        for ws in fast:
            await ws.close()
        slow.close()
    run(scenario(), timeout_s=120)
    stats = server.stop(until=lambda s: s["send_queue_overflows"] >= 1 and s["open"] == 0)
    assert stats["send_queue_overflows"] == 1
    assert stats["deliveries"] >= rounds * per_round * 5


def test_history_replays_what_a_returning_client_missed_and_reports_a_gap(gateway, socket_path):
    server = gateway("--workers", "2", "--backend-socket", socket_path)
    worker = join(server, socket_path, on_open=accept_into(None))
    worker.configure_topic("scores", 5)
    for i in range(1, 9):
        worker.publish("scores", f"goal {i}")  # numbered 1..8; 4..8 are kept

    async def scenario():
        recent = await connect(f"ws://127.0.0.1:{server.port}/")
        recent_conn = worker.expect(OPEN)["conn"]
        worker.subscribe(recent_conn, "scores", since=5)
        assert [await asyncio.wait_for(recent.recv(), 5) for _ in range(3)] == ["goal 6", "goal 7", "goal 8"]
        worker.publish("scores", "goal 9")
        assert await asyncio.wait_for(recent.recv(), 5) == "goal 9"  # live after the replay, once

        stale = await connect(f"ws://127.0.0.1:{server.port}/")
        stale_conn = worker.expect(OPEN)["conn"]
        worker.subscribe(stale_conn, "scores", since=1)
        gap = worker.expect(GAP)
        assert gap == {"conn": stale_conn, "since": 1, "evicted": 4, "topic": "scores"}
        worker.publish("scores", "goal 10")
        assert await asyncio.wait_for(stale.recv(), 5) == "goal 10"  # subscribed, nothing replayed
        assert await asyncio.wait_for(recent.recv(), 5) == "goal 10"
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(recent.recv(), 0.3)
        await recent.close()
        await stale.close()
    run(scenario())
    stats = server.stop(until=lambda s: s["history_gaps"] >= 1 and s["open"] == 0)
    assert stats["history_gaps"] == 1


def test_presence_counts_and_pages_subscribers_across_threads(gateway, socket_path):
    server = gateway("--workers", "2", "--backend-socket", socket_path)
    worker = join(server, socket_path, on_open=accept_into("lobby"))

    async def scenario():
        clients = [await connect(f"ws://127.0.0.1:{server.port}/") for _ in range(12)]
        conns = {o["conn"] for o in wait_opens(worker, 12)}
        await asyncio.sleep(0.3)
        worker.presence(7, "lobby")
        answer = worker.expect(PRESENCE)
        assert answer["request"] == 7 and answer["total"] == 12
        assert set(answer["ids"]) == conns
        pages = []
        for offset in range(0, 12, 5):
            worker.presence(100 + offset, "lobby", offset=offset, limit=5)
            page = worker.expect(PRESENCE)
            assert page["request"] == 100 + offset and page["offset"] == offset
            pages.extend(page["ids"])
        assert sorted(pages) == sorted(conns)
        await clients[0].close()
        worker.expect(CLOSED)
        await asyncio.sleep(0.3)
        worker.presence(8, "lobby")
        assert worker.expect(PRESENCE)["total"] == 11
        worker.presence(9, "nobody-here")
        assert worker.expect(PRESENCE)["total"] == 0
        for ws in clients[1:]:
            await ws.close()
    run(scenario())


def test_broadcast_reaches_every_connection(gateway, socket_path):
    server = gateway("--workers", "2", "--backend-socket", socket_path)
    worker = join(server, socket_path, on_open=accept_into(None))

    async def scenario():
        clients = [await connect(f"ws://127.0.0.1:{server.port}/") for _ in range(10)]
        wait_opens(worker, 10)
        await asyncio.sleep(0.2)
        worker.broadcast("maintenance at noon")
        for ws in clients:
            assert await asyncio.wait_for(ws.recv(), 5) == "maintenance at noon"
        for ws in clients:
            await ws.close()
    run(scenario())


def test_rate_limit_closes_a_flooding_client_with_1008(gateway):
    server = gateway("--workers", "1", "--rate-limit-messages", "20")

    async def scenario():
        async with connect(f"ws://127.0.0.1:{server.port}/") as calm:
            flood = await connect(f"ws://127.0.0.1:{server.port}/", max_queue=None)
            try:
                for i in range(200):
                    await flood.send(f"spam {i}")
                    await asyncio.sleep(0)
            except ConnectionClosed:
                pass  # the close came while we were still sending
            await asyncio.wait_for(flood.wait_closed(), 10)
            assert flood.close_code == 1008
            for i in range(5):  # 5 messages a second stays well under the limit
                await calm.send(f"ok {i}")
                assert await calm.recv() == f"ok {i}"
                await asyncio.sleep(0.2)
    run(scenario())
    stats = server.stop(until=lambda s: s["rate_limited"] >= 1)
    assert stats["rate_limited"] == 1


def test_publishes_with_a_stale_seq_are_delivered_counted_and_logged_sparingly(gateway, socket_path):
    server = gateway("--workers", "1", "--backend-socket", socket_path)
    worker = join(server, socket_path, on_open=accept_into("scores"))
    stale = 25

    async def scenario():
        async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            worker.expect(OPEN)
            worker.publish("scores", "kept", seq=100)
            assert await asyncio.wait_for(ws.recv(), 5) == "kept"
            for i in range(stale):
                worker.publish("scores", f"old {i}", seq=50)  # not above 100: delivered, not kept
            assert [await asyncio.wait_for(ws.recv(), 5) for _ in range(stale)] == [f"old {i}" for i in range(stale)]
    run(scenario())
    stats = server.stop(until=lambda s: s["history_not_kept"] >= stale and s["open"] == 0)
    assert stats["history_not_kept"] == stale
    # A worker that repeats a mistake gets a line the first ten times, not one per message.
    logged = [line for line in server.lines if "not above 100: delivered, not kept" in line]
    assert len(logged) == 10, logged
    assert logged[0].startswith("ringgate: warning: backend: publish to scores") and logged[-1].endswith("(10 so far)")


def test_byte_rate_limit_closes_a_client_sending_too_many_bytes_with_1008(gateway):
    # No message limit: three messages a second are far from any count, but 3 x 12,000 bytes
    # is past 20,000 bytes a second.
    server = gateway("--workers", "1", "--rate-limit-bytes", "20000")

    async def scenario():
        async with connect(f"ws://127.0.0.1:{server.port}/") as calm:
            heavy = await connect(f"ws://127.0.0.1:{server.port}/", max_queue=None)
            try:
                for i in range(3):
                    await heavy.send(f"{i}" * 12_000)
            except ConnectionClosed:
                pass  # the close came while we were still sending
            await asyncio.wait_for(heavy.wait_closed(), 10)
            assert heavy.close_code == 1008
            assert heavy.close_reason == "rate limit exceeded"
            for i in range(4):  # 4,000 bytes a second stays under the limit
                await calm.send(f"{i}" * 1000)
                assert await calm.recv() == f"{i}" * 1000
                await asyncio.sleep(0.25)
    run(scenario())
    stats = server.stop(until=lambda s: s["rate_limited"] >= 1)
    assert stats["rate_limited"] == 1
    assert stats["bytes_in"] >= 20_000


def test_a_publish_burst_waits_in_the_inbox_instead_of_piling_up_fan_outs(gateway, socket_path):
    """2,000 publications to 30 subscribers, each fan-out advancing one recipient per loop turn:
    the thread holds at most 256 fan-outs in progress and leaves the rest queued in its inbox
    (counted as fanout_waits), and every subscriber still gets every publication, in order."""
    server = gateway("--workers", "1", "--backend-socket", socket_path, "--fanout-batch", "1")
    worker = join(server, socket_path, on_open=accept_into("burst"))
    clients = [RawClient(server.port, timeout_s=30) for _ in range(30)]
    try:
        for client in clients:
            client.handshake()
        wait_opens(worker, len(clients))
        time.sleep(0.3)  # subscriptions are applied on the gateway's thread
        for index in range(2000):
            worker.publish("burst", f"m{index}")
        for client in clients:
            for index in range(2000):
                assert client.read_frame() == (True, 0x1, f"m{index}".encode())
        stats = server.wait_for_stats(lambda s: s.get("deliveries", 0) >= 60_000, timeout_s=10)
        assert stats["deliveries"] == 60_000
        assert 0 < stats["fanout_backlog_peak"] <= 256, stats
        assert stats["fanout_waits"] > 0, stats
    finally:
        for client in clients:
            client.close()
        worker.close()


def test_topics_a_worker_subscribes_to_and_leaves_are_removed(gateway, socket_path):
    """Under --max-topics 3 a worker subscribes a client to 30 names in turn, leaving each
    before the next: none is refused (each goes when its subscriber leaves and its SUBSCRIBE
    was applied), and the last one delivers."""
    server = gateway("--workers", "2", "--backend-socket", socket_path, "--max-topics", "3")
    worker = join(server, socket_path, on_open=accept_into(None))
    with RawClient(server.port, timeout_s=10) as client:
        client.handshake()
        conn = worker.expect(OPEN)["conn"]
        for index in range(30):
            worker.subscribe(conn, f"t{index}")
            worker.presence(index, f"t{index}")  # answered once the subscribe was applied
            assert worker.expect(PRESENCE)["total"] == 1
            worker.unsubscribe(conn, f"t{index}")
        worker.subscribe(conn, "t-last")
        worker.presence(99, "t-last")
        assert worker.expect(PRESENCE)["total"] == 1
        worker.publish("t-last", "last")
        assert client.read_frame() == (True, 0x1, b"last")
    stats = server.wait_for_stats(lambda s: s.get("topics_reclaimed", 0) >= 30, timeout_s=10)
    assert stats["topics_refused"] == 0 and stats["topics_reclaimed"] >= 30, stats
    worker.close()
