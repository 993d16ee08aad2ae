"""Every command of the Python SDK against the real gateway, driven step by step from the test:
accept, subscribe (one and many), presence with offset and limit, publish, send_many, broadcast,
topic history with a replay and a gap, close in both directions, and FLOW as a client falls
behind and catches up."""

import asyncio
import signal
import sys

import pytest

from websockets.exceptions import ConnectionClosed

from conftest import ROOT
from test_backend_support import open_client, run, start_backend_gateway
from wsraw import TEXT, RawClient

sys.path.insert(0, str(ROOT / "clients" / "python"))
import ringgate_worker  # noqa: E402


async def next_event(link, kind):
    """The next event, which must be a `kind`."""
    event = await asyncio.wait_for(link.__anext__(), 10)
    assert isinstance(event, kind), event
    return event


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), 10)


async def silent(ws, seconds=0.3):
    try:
        message = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return True
    raise AssertionError(f"unexpected message {message!r}")


def test_every_command_through_the_gateway(gateway):
    server, path = start_backend_gateway(gateway, threads=2)

    async def scenario():
        link = await ringgate_worker.connect(path, name="sdk-test")
        assert link.gateway.version == 1
        clients, conns = [], []
        for index in range(3):
            connecting = asyncio.ensure_future(open_client(server.port, f"/c/{index}?n={index}"))
            opened = await next_event(link, ringgate_worker.Open)
            assert opened.needs_decision and opened.path == f"/c/{index}" and opened.query_value("n") == str(index)
            await link.accept(opened.conn)
            clients.append(await connecting)
            conns.append(opened.conn)
        a, b, c = clients

        await link.subscribe_many(conns[:2], "news")
        await link.subscribe(conns[2], "other")
        everyone = await link.presence("news")
        assert (everyone.total, sorted(everyone.conns)) == (2, sorted(conns[:2]))
        window = await link.presence("news", offset=1, limit=1)
        assert (window.total, len(window.conns)) == (2, 1) and window.conns[0] in conns[:2]
        assert (await link.presence("nobody-here")).total == 0

        await link.publish("news", "headline")
        assert await recv(a) == "headline" and await recv(b) == "headline"
        await link.send_many([conns[0], conns[2]], b"\x01\x02")
        assert await recv(a) == b"\x01\x02" and await recv(c) == b"\x01\x02"
        await silent(b)
        await link.broadcast("to all")
        assert [await recv(ws) for ws in clients] == ["to all"] * 3

        # History: 3 kept of 5 published; since=3 replays 4 and 5, since=1 finds 2 and 3 gone.
        await link.configure_topic("log", 3, 60_000)
        for seq in range(1, 6):
            await link.publish("log", f"entry {seq}", seq=seq)
        await link.subscribe(conns[0], "log", since=3)
        assert [await recv(a) for _ in range(2)] == ["entry 4", "entry 5"]
        await link.subscribe(conns[1], "log", since=1)
        gap = await next_event(link, ringgate_worker.Gap)
        assert (gap.conn, gap.topic, gap.since, gap.evicted) == (conns[1], "log", 1, 2)
        await silent(b)

        # A client's message, then closes from both sides.
        await a.send("from a")
        message = await next_event(link, ringgate_worker.Message)
        assert (message.conn, message.data) == (conns[0], "from a")
        await link.close(conns[2], 4000, "bye")
        try:
            await recv(c)
        except ConnectionClosed:
            pass
        assert (c.close_code, c.close_reason) == (4000, "bye")
        closed = await next_event(link, ringgate_worker.Closed)
        assert (closed.conn, closed.code) == (conns[2], 4000)
        await a.close(1000)
        closed = await next_event(link, ringgate_worker.Closed)
        assert (closed.conn, closed.code) == (conns[0], 1000)
        await b.close()
        await next_event(link, ringgate_worker.Closed)
        await link.close_link()

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["backend_protocol_errors"] == 0



def test_open_fields_subprotocol_and_draining(gateway):
    server, path = start_backend_gateway(gateway, "--drain-window", "2")

    async def scenario():
        link = await ringgate_worker.connect(path, name="sdk-test")
        connecting = asyncio.ensure_future(open_client(
            server.port, "/room?x=1", additional_headers={"Cookie": "s=1"}, subprotocols=["chat", "v2"]))
        opened = await next_event(link, ringgate_worker.Open)
        assert (opened.path, opened.query, opened.protocols) == ("/room", "x=1", ["chat", "v2"])
        assert opened.header("cookie") == "s=1"
        assert opened.remote.startswith("127.0.0.1:")
        await link.accept(opened.conn, subprotocol="v2")
        ws = await connecting
        assert ws.subprotocol == "v2"
        server.process.send_signal(signal.SIGTERM)
        draining = await next_event(link, ringgate_worker.Draining)
        assert 0 < draining.deadline_ms <= 2000
        closed = await next_event(link, ringgate_worker.Closed)
        assert closed.conn == opened.conn
        await asyncio.wait_for(ws.wait_closed(), 10)

    run(scenario())


def test_only_the_configured_headers_are_forwarded(gateway):
    server, path = start_backend_gateway(gateway, "--backend-header", "x-user")

    async def scenario():
        link = await ringgate_worker.connect(path, name="sdk-test")
        connecting = asyncio.ensure_future(open_client(server.port, additional_headers={"X-User": "ann", "Cookie": "s=1"}))
        opened = await next_event(link, ringgate_worker.Open)
        await link.accept(opened.conn)
        await (await connecting).close()
        assert opened.headers == [("x-user", "ann")]

    run(scenario())


def test_flow_tells_the_worker_when_a_client_falls_behind_and_catches_up(gateway):
    limit = 1 << 20  # FLOW 1 past half of it, FLOW 0 below a quarter
    server, path = start_backend_gateway(gateway, "--send-queue-limit", str(limit))
    padding = "p" * 8000
    most = 3000  # 24 MB: far past the socket buffers of a client that reads nothing

    async def scenario():
        link = await ringgate_worker.connect(path, name="flow-test")
        # The client reads nothing until FLOW: its receive buffer stays at its initial size (the
        # kernel grows it only as the application reads), and the rest backs up in the gateway.
        # A buffer shrunk below one segment would clamp the window for good: reading back would
        # then wait for a zero-window probe per segment.
        client = await asyncio.to_thread(RawClient, server.port)
        handshaking = asyncio.ensure_future(asyncio.to_thread(client.handshake))
        opened = await next_event(link, ringgate_worker.Open)
        await link.accept(opened.conn)
        await handshaking
        events = asyncio.Queue()

        async def forward():
            async for event in link:
                await events.put(event)
        forwarding = asyncio.ensure_future(forward())

        # Send at a steady pace until the gateway says the client fell behind; the pace keeps
        # what is sent before the worker hears it well under the other half of the limit.
        sent, slow = 0, None
        while slow is None and sent < most:
            for _ in range(4):
                await link.send(opened.conn, f"{sent:06d}{padding}")
                sent += 1
            try:
                slow = await asyncio.wait_for(events.get(), 0.01)
            except asyncio.TimeoutError:
                pass
        assert isinstance(slow, ringgate_worker.Flow), slow
        assert slow.conn == opened.conn and slow.slow

        def read_all():
            return [client.read_message() for _ in range(sent)]
        messages = await asyncio.to_thread(read_all)
        assert [(opcode, payload[:6]) for opcode, payload in messages] == [(TEXT, b"%06d" % i) for i in range(sent)]
        assert all(payload[6:] == padding.encode() for _, payload in messages)
        drained = await asyncio.wait_for(events.get(), 10)
        assert isinstance(drained, ringgate_worker.Flow), drained
        assert drained.conn == opened.conn and not drained.slow
        client.close()
        assert isinstance(await asyncio.wait_for(events.get(), 10), ringgate_worker.Closed)
        forwarding.cancel()
        await link.close_link()

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["send_queue_overflows"] == 0
