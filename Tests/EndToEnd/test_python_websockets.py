"""The `websockets` library (asyncio client) against the gateway's echo application."""

import asyncio
import os

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

TEST_TIMEOUT_S = 30.0
MIB = 1 << 20


def run(coroutine, timeout_s=TEST_TIMEOUT_S):
    """Run `coroutine` to completion, failing the test instead of hanging past `timeout_s`."""
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)
    return asyncio.run(bounded())


def client(port, **kwargs):
    """A connection with our own pings off, so only the gateway's heartbeat is in play."""
    options = dict(ping_interval=None, open_timeout=10, close_timeout=5, max_size=8 * MIB)
    options.update(kwargs)
    return connect(f"ws://127.0.0.1:{port}/", **options)


def payload_of(size):
    return bytes(i * 31 % 251 for i in range(size))


def test_echo_text_binary_and_empty(gateway):
    server = gateway()

    async def scenario():
        async with client(server.port) as ws:
            await ws.send("hello, gateway")
            assert await ws.recv() == "hello, gateway"
            await ws.send("ünïcödé ✓ 😀")
            assert await ws.recv() == "ünïcödé ✓ 😀"
            await ws.send(b"\x00\x01\xfe\xff")
            assert await ws.recv() == b"\x00\x01\xfe\xff"
            await ws.send("")
            assert await ws.recv() == ""
            await ws.send(b"")
            assert await ws.recv() == b""
    run(scenario())
    stats = server.stop(until=lambda s: s["messages_out"] >= 5)
    assert (stats["messages_in"], stats["messages_out"]) == (5, 5)
    assert stats["protocol_errors"] == 0


@pytest.mark.parametrize("size", [125, 126, 127, 65535, 65536, 65537])
def test_echo_at_length_encoding_boundaries(gateway, size):
    server = gateway()

    async def scenario():
        async with client(server.port) as ws:
            data = payload_of(size)
            await ws.send(data)
            assert await ws.recv() == data
            text = ("é" * size)[: size // 2] + "a" * (size % 2)  # `size` bytes of UTF-8
            assert len(text.encode()) == size
            await ws.send(text)
            assert await ws.recv() == text
    run(scenario())


@pytest.mark.parametrize("queue_args", [pytest.param((), id="default queue"),
                                        pytest.param(("--send-queue-limit", 16 * MIB), id="16 MiB queue")])
def test_echo_4_mib_messages(gateway, queue_args):
    server = gateway("--max-message-size", 8 * MIB, *queue_args)

    async def scenario():
        async with client(server.port) as ws:
            data = os.urandom(4 * MIB)
            await ws.send(data)
            assert await ws.recv() == data
            text = "0123456789abcdef" * (4 * MIB // 16)
            await ws.send(text)
            assert await ws.recv() == text
    run(scenario())
    stats = server.stop(until=lambda s: s["messages_out"] >= 2)
    assert stats["bytes_in"] == stats["bytes_out"] == 8 * MIB


def test_client_fragments_come_back_whole(gateway):
    server = gateway()

    async def fragments():
        for part in ("async ", "iterable ", "fragments"):
            yield part

    async def scenario():
        async with client(server.port) as ws:
            await ws.send(["frag", "mented ", "text ✓"])
            assert await ws.recv() == "fragmented text ✓"
            await ws.send([b"\x00" * 1000, b"\x01" * 70000, b"\x02"])
            assert await ws.recv() == b"\x00" * 1000 + b"\x01" * 70000 + b"\x02"
            await ws.send(fragments())
            assert await ws.recv() == "async iterable fragments"
            # A multi-byte character split across fragments is still valid UTF-8 as a whole.
            euro = "€".encode()
            await ws.send([euro[:1], euro[1:]])
            assert await ws.recv() == euro
    run(scenario())
    assert server.stop(until=lambda s: s["messages_in"] >= 4)["messages_in"] == 4


def test_ping_is_answered(gateway):
    server = gateway()

    async def scenario():
        async with client(server.port) as ws:
            for data in (b"", b"payload", b"x" * 125):
                pong = await ws.ping(data)
                latency = await asyncio.wait_for(pong, 5)
                assert latency >= 0
            await ws.send("still echoing")
            assert await ws.recv() == "still echoing"
    run(scenario())


def test_200_concurrent_clients_each_echo(gateway):
    server = gateway("--workers", "2")
    count, rounds = 200, 5

    async def one(index):
        async with client(server.port) as ws:
            for round_ in range(rounds):
                message = f"client {index} round {round_}"
                await ws.send(message)
                assert await ws.recv() == message
            await ws.send(index.to_bytes(4, "big"))
            assert await ws.recv() == index.to_bytes(4, "big")
            return index

    async def scenario():
        return await asyncio.gather(*(one(i) for i in range(count)))

    assert run(scenario()) == list(range(count))
    total = count * (rounds + 1)
    stats = server.stop(until=lambda s: s["closed_by_client"] >= count and s["open"] == 0)
    assert stats["handshakes_ok"] == count
    assert stats["accepted"] == count
    assert (stats["messages_in"], stats["messages_out"]) == (total, total)
    assert stats["protocol_errors"] == 0
    assert stats["open"] == 0


@pytest.mark.parametrize("code,reason", [(1000, ""), (1000, "bye"), (4000, "custom"), (4999, "é" * 40)])
def test_close_handshake_answers_with_the_same_code(gateway, code, reason):
    server = gateway()

    async def scenario():
        async with client(server.port) as ws:
            await ws.send("before close")
            assert await ws.recv() == "before close"
            await ws.close(code, reason)
            assert ws.protocol.close_sent.code == code
            assert ws.protocol.close_rcvd is not None, "the server sent no close frame"
            assert ws.close_code == ws.protocol.close_rcvd.code == code
            with pytest.raises(ConnectionClosed):
                await ws.recv()
    run(scenario())
    stats = server.stop(until=lambda s: s["closed_by_client"] >= 1 and s["open"] == 0)
    assert stats["closed_by_client"] == 1


@pytest.mark.parametrize("offered,expected", [
    (["superchat"], "superchat"),
    (["chat"], "chat"),
    (["superchat", "chat"], "chat"),  # the gateway's order decides: chat is listed first
    (["other", "superchat"], "superchat"),
])
def test_subprotocol_negotiation(gateway, offered, expected):
    server = gateway("--subprotocol", "chat", "--subprotocol", "superchat")

    async def scenario():
        async with client(server.port, subprotocols=offered) as ws:
            assert ws.subprotocol == expected
            assert ws.response.headers.get_all("Sec-WebSocket-Protocol") == [expected]
            await ws.send("negotiated")
            assert await ws.recv() == "negotiated"
    run(scenario())


def test_no_subprotocol_offered_gets_none(gateway):
    server = gateway("--subprotocol", "chat")

    async def scenario():
        async with client(server.port) as ws:
            assert ws.subprotocol is None
            assert "Sec-WebSocket-Protocol" not in ws.response.headers
    run(scenario())


def test_origin_allow_list(gateway):
    server = gateway("--allowed-origin", "https://good.example")

    async def scenario():
        async with client(server.port, origin="https://good.example") as ws:
            await ws.send("allowed")
            assert await ws.recv() == "allowed"
        with pytest.raises(InvalidStatus) as refused:
            async with client(server.port, origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403
    run(scenario())
    stats = server.stop(until=lambda s: s["handshakes_rejected"] >= 1 and s["handshakes_ok"] >= 1)
    assert (stats["handshakes_ok"], stats["handshakes_rejected"]) == (1, 1)
