"""Clients that subscribe themselves (`--client-topics`): a text message starting with NUL is the
gateway's (docs/PROTOCOL.md, "Client topic commands"). Clients are Python `websockets`; the worker
that accepts them and publishes is the raw protocol client in linkworker.py."""

import asyncio
import subprocess

import pytest
from websockets.asyncio.client import connect

from conftest import BINARY
from linkworker import CLOSED, MESSAGE, OPEN, PRESENCE, SUBSCRIBED, UNSUBSCRIBED
from test_topics import accept_into, join, run, socket_path  # noqa: F401 (fixture)


async def ask(ws, text):
    await ws.send(text)
    return await asyncio.wait_for(ws.recv(), 5)


async def silent(ws, seconds=0.3):
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ws.recv(), seconds)


def test_clients_subscribe_and_unsubscribe_themselves(gateway, socket_path):
    server = gateway("--workers", "2", "--backend-socket", socket_path, "--client-topics", "room.",
                     "--client-topics", "news", "--client-topics-max", "3")
    worker = join(server, socket_path, on_open=accept_into(None))

    async def scenario():
        a = await connect(f"ws://127.0.0.1:{server.port}/")
        a_conn = worker.expect(OPEN)["conn"]
        b = await connect(f"ws://127.0.0.1:{server.port}/")
        worker.expect(OPEN)

        assert await ask(a, "\0sub room.1") == "\0ok sub room.1"
        assert worker.expect(SUBSCRIBED) == {"conn": a_conn, "topic": "room.1"}
        assert await ask(a, "\0sub room.1") == "\0ok sub room.1"  # already: no second event
        assert await ask(a, "\0sub secret") == "\0denied sub secret"
        worker.publish("room.1", "hello room")
        assert await asyncio.wait_for(a.recv(), 5) == "hello room"
        await silent(b)

        assert await ask(a, "\0unsub room.1") == "\0ok unsub room.1"
        assert worker.expect(UNSUBSCRIBED) == {"conn": a_conn, "topic": "room.1"}
        assert await ask(a, "\0unsub room.1") == "\0ok unsub room.1"  # not subscribed: nothing to do
        worker.publish("room.1", "nobody hears this")
        await silent(a)

        # At most 3 subscriptions per connection, worker-made ones included.
        worker.subscribe(a_conn, "lobby")
        worker.presence(1, "lobby")  # answered once the thread holding `a` has run the subscribe
        assert worker.expect(PRESENCE)["total"] == 1
        for room in ("room.a", "news"):
            assert await ask(a, f"\0sub {room}") == f"\0ok sub {room}"
        assert await ask(a, "\0sub room.b") == "\0full sub room.b"
        assert await ask(a, "\0unsub lobby") == "\0denied unsub lobby"  # the worker's to undo
        for malformed in ("\0", "\0sub", "\0join room.1", "\0sub " + "r" * 256):
            assert await ask(a, malformed) == "\0bad"

        # Ordinary messages, and NUL in a binary message, still go to the worker.
        await a.send("hi")
        await a.send(b"\0sub room.1")
        messages = [worker.expect(MESSAGE, skip=(SUBSCRIBED,)) for _ in range(2)]
        assert [m["payload"] for m in messages] == [b"hi", b"\0sub room.1"]
        await a.close()
        await b.close()

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert (stats["client_subscribes"], stats["client_unsubscribes"]) == (3, 1)
    assert stats["client_topics_refused"] == 7  # denied twice, full once, bad four times
    assert any("client topics: denied sub secret" in line for line in server.lines)


def test_without_client_topics_nul_messages_go_to_the_worker(gateway, socket_path):
    server = gateway("--workers", "1", "--backend-socket", socket_path)
    worker = join(server, socket_path, on_open=accept_into(None))

    async def scenario():
        async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            worker.expect(OPEN)
            await ws.send("\0sub room.1")
            assert worker.expect(MESSAGE)["payload"] == b"\0sub room.1"

    run(scenario())


def test_client_topics_need_a_backend_socket():
    result = subprocess.run([str(BINARY), "--port", "0", "--no-pin", "--client-topics", "room."],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "client-topics needs backend-socket" in result.stderr


def test_topics_nobody_keeps_are_removed_so_clients_cannot_use_up_max_topics(gateway, socket_path):
    """--max-topics 10: a client that subscribes to and leaves 100 new names one after another is
    answered ok every time (each topic goes when its last subscriber leaves), a topic still
    subscribed to stays and keeps receiving, and topics with history stay even without subscribers."""
    server = gateway("--workers", "2", "--backend-socket", socket_path, "--client-topics", "room.",
                     "--max-topics", "10")
    worker = join(server, socket_path, on_open=accept_into(None))

    async def scenario():
        a = await connect(f"ws://127.0.0.1:{server.port}/")
        worker.expect(OPEN)
        assert await ask(a, "\0sub room.kept") == "\0ok sub room.kept"
        for index in range(100):
            assert await ask(a, f"\0sub room.{index}") == f"\0ok sub room.{index}"
            assert await ask(a, f"\0unsub room.{index}") == f"\0ok unsub room.{index}"
        worker.publish("room.kept", "still here")
        assert await asyncio.wait_for(a.recv(), 5) == "still here"
        # Nine topics kept by history fill the limit with room.kept; a tenth new name is refused.
        for index in range(9):
            worker.configure_topic(f"room.history.{index}", 10)
        worker.presence(1, "room.kept")  # the hub has run the TOPIC commands once this is answered
        worker.expect(PRESENCE, skip=(SUBSCRIBED, UNSUBSCRIBED))
        assert await ask(a, "\0sub room.new") == "\0full sub room.new"
        await a.close()

    run(scenario())
    stats = server.wait_for_stats(lambda s: s.get("topics_reclaimed", 0) >= 100, timeout_s=10)
    assert stats["topics_reclaimed"] >= 100, stats


def test_topic_counts_do_not_leak_under_concurrent_subscribes_on_two_threads(gateway, socket_path):
    """20 clients on two gateway threads subscribe to and leave the same 4 names at once, 30
    times each, under --max-topics 5. A subscriber count that leaked would keep a topic forever
    and use the limit up; one that ran short would drop a topic someone still holds. At the
    end every client holds room.last and gets its publication, and, once they leave, 5 new
    names still fit."""
    server = gateway("--workers", "2", "--backend-socket", socket_path, "--client-topics", "room.",
                     "--max-topics", "5")
    worker = join(server, socket_path, on_open=accept_into(None))

    async def churn(ws, seed):
        for round_ in range(30):
            name = f"room.{(seed + round_) % 4}"
            assert await ask(ws, f"\0sub {name}") == f"\0ok sub {name}"
            assert await ask(ws, f"\0unsub {name}") == f"\0ok unsub {name}"

    async def scenario():
        clients = [await connect(f"ws://127.0.0.1:{server.port}/") for _ in range(20)]
        for _ in clients:
            worker.expect(OPEN)
        await asyncio.gather(*(churn(ws, index) for index, ws in enumerate(clients)))
        for ws in clients:
            assert await ask(ws, "\0sub room.last") == "\0ok sub room.last"
        worker.publish("room.last", "to all")
        for ws in clients:
            assert await asyncio.wait_for(ws.recv(), 5) == "to all"
        for ws in clients:
            await ws.close()
        late = await connect(f"ws://127.0.0.1:{server.port}/")
        worker.expect(OPEN, skip=(SUBSCRIBED, UNSUBSCRIBED, CLOSED))
        for index in range(5):
            assert await ask(late, f"\0sub room.new{index}") == f"\0ok sub room.new{index}"
        await late.close()

    run(scenario())
