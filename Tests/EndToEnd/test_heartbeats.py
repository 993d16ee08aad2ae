"""Timers seen from outside: heartbeat pings and pong timeouts, the idle timeout, the handshake
timeout (slowloris) and the close timeout. Bounds are generous on the upper side; lower bounds
only check that a timer did not fire early, which a slow machine cannot cause."""

import asyncio
import socket
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from wsraw import CLOSE, PING, PONG, TEXT, RawClient, frame

HEARTBEAT = ("--ping-interval", "0.5", "--pong-timeout", "0.5", "--tick-ms", "50")


def run(coroutine, timeout_s=30.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)
    return asyncio.run(bounded())


def wait_until_cut(client, timeout_s):
    """Seconds from the client's last send until the server ended the connection, and the bytes
    received meanwhile (EOF and reset both count as the end)."""
    received = client.wait_for_eof(timeout_s)
    return time.monotonic() - client.last_sent_at, received


def test_silent_client_gets_a_ping_then_is_dropped(gateway):
    server = gateway("--workers", "1", *HEARTBEAT)
    with RawClient(server.port) as client:
        client.handshake()
        fin, opcode, _ = client.read_frame()
        ping_after_s = time.monotonic() - client.last_sent_at
        assert (fin, opcode) == (True, PING)
        assert 0.4 <= ping_after_s <= 1.5, ping_after_s
        # Never answer: the pong timeout ends the connection.
        cut_after_s, received = wait_until_cut(client, 5.0)
        assert 0.9 <= cut_after_s <= 3.0, cut_after_s
        # Nothing but (at most) a close frame may come before the end.
        assert received == b"" or received[0] == 0x88, received[:16]
    stats = server.stop(until=lambda s: s["pong_timeouts"] >= 1 and s["open"] == 0)
    assert stats["pong_timeouts"] == 1
    assert stats["pings_sent"] == 1
    assert stats["pongs_received"] == 0


def test_raw_client_answering_pings_stays_connected(gateway):
    server = gateway("--workers", "1", *HEARTBEAT)
    with RawClient(server.port) as client:
        client.handshake()
        pongs = 0
        deadline = time.monotonic() + 2.5  # more than interval + timeout, twice over
        while time.monotonic() < deadline:
            client.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                fin, opcode, payload = client.read_frame()
            except socket.timeout:
                break
            assert (fin, opcode) == (True, PING)
            client.send_frame(PONG, payload)
            pongs += 1
        client.sock.settimeout(5.0)
        assert pongs >= 2
        # A ping may still land between the loop's end and the echo: answer it, as a client must.
        client.send_frame(TEXT, b"alive")
        opcode, payload = client.read_message()
        while opcode == PING:
            client.send_frame(PONG, payload)
            pongs += 1
            opcode, payload = client.read_message()
        assert (opcode, payload) == (TEXT, b"alive")
    stats = server.wait_for_stats(lambda s: s["pongs_received"] >= pongs)
    assert stats["pong_timeouts"] == 0
    assert stats["pongs_received"] == pongs


def test_websockets_client_silent_for_3_s_is_kept_by_its_pongs(gateway):
    server = gateway("--workers", "1", *HEARTBEAT)

    async def scenario():
        async with connect(f"ws://127.0.0.1:{server.port}/", ping_interval=None, open_timeout=10) as ws:
            await asyncio.sleep(3.0)  # the library answers the gateway's pings meanwhile
            await ws.send("still here")
            assert await ws.recv() == "still here"
    run(scenario())
    stats = server.stop(until=lambda s: s["closed_by_client"] >= 1)
    assert stats["pings_sent"] >= 2
    assert stats["pongs_received"] == stats["pings_sent"]
    assert stats["pong_timeouts"] == 0


def test_idle_timeout_closes_with_1001(gateway):
    server = gateway("--workers", "1", "--idle-timeout", "1", *HEARTBEAT)

    async def scenario():
        opened = time.monotonic()  # before connecting: the gateway's timer cannot start earlier
        async with connect(f"ws://127.0.0.1:{server.port}/", ping_interval=None, open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5.0)  # pings are answered, no data is sent
            closed_after_s = time.monotonic() - opened
            assert ws.protocol.close_rcvd is not None, "no close frame from the server"
            assert ws.protocol.close_rcvd.code == 1001
            assert 0.9 <= closed_after_s <= 3.0, closed_after_s
    run(scenario())
    stats = server.stop(until=lambda s: s["idle_timeouts"] >= 1)
    assert stats["idle_timeouts"] == 1
    assert stats["pong_timeouts"] == 0


def test_an_idle_timeout_shorter_than_the_ping_interval_is_kept(gateway):
    # The first check after the upgrade must come at the idle deadline, not at the first ping
    # 25 s later.
    server = gateway("--workers", "1", "--idle-timeout", "0.5", "--ping-interval", "25", "--park-after", "0",
                     "--tick-ms", "50")

    async def scenario():
        opened = time.monotonic()
        async with connect(f"ws://127.0.0.1:{server.port}/", ping_interval=None, open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5.0)
            assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1001
            assert 0.4 <= time.monotonic() - opened <= 3.0
    run(scenario())
    assert server.stop(until=lambda s: s["idle_timeouts"] >= 1)["idle_timeouts"] == 1


def test_data_messages_keep_an_idle_timeout_away(gateway):
    server = gateway("--workers", "1", "--idle-timeout", "1", *HEARTBEAT)

    async def scenario():
        async with connect(f"ws://127.0.0.1:{server.port}/", ping_interval=None, open_timeout=10) as ws:
            for i in range(10):  # 2.5 s in all, never 1 s without a message
                await ws.send(f"tick {i}")
                assert await ws.recv() == f"tick {i}"
                await asyncio.sleep(0.25)
    run(scenario())
    stats = server.stop(until=lambda s: s["closed_by_client"] >= 1)
    assert stats["idle_timeouts"] == 0


def test_slowloris_half_a_request_head_is_cut(gateway):
    server = gateway("--workers", "1", "--handshake-timeout", "0.5", "--tick-ms", "50")
    with RawClient(server.port) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websock")
        cut_after_s, received = wait_until_cut(client, 5.0)
        assert 0.4 <= cut_after_s <= 2.5, cut_after_s
        assert received == b"" or received.startswith(b"HTTP/1.1 408 "), received[:64]
    stats = server.stop(until=lambda s: s["handshake_timeouts"] >= 1)
    assert stats["handshake_timeouts"] == 1
    assert stats["handshakes_ok"] == 0


def test_trickled_request_head_is_cut_at_the_handshake_deadline(gateway):
    # One byte every 0.1 s: each read is recent, but the head is not done within 0.5 s.
    server = gateway("--workers", "1", "--handshake-timeout", "0.5", "--tick-ms", "50")
    with RawClient(server.port) as client:
        started = time.monotonic()
        request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"s" * 100
        cut_after_s = None
        for i in range(len(request)):
            try:
                client.sock.send(request[i:i + 1])
                client.sock.settimeout(0.1)
                if client.sock.recv(1024) == b"":
                    cut_after_s = time.monotonic() - started
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                cut_after_s = time.monotonic() - started
                break
        assert cut_after_s is not None, "still connected after trickling the whole head"
        assert 0.4 <= cut_after_s <= 2.5, cut_after_s
    assert server.stop(until=lambda s: s["handshake_timeouts"] >= 1)["handshake_timeouts"] == 1


def test_connection_that_sends_nothing_is_cut(gateway):
    server = gateway("--workers", "1", "--handshake-timeout", "0.5", "--tick-ms", "50")
    with RawClient(server.port) as client:
        cut_after_s, received = wait_until_cut(client, 5.0)
        assert 0.4 <= cut_after_s <= 2.5, cut_after_s
        assert received == b"" or received.startswith(b"HTTP/1.1 408 "), received[:64]
    assert server.stop(until=lambda s: s["handshake_timeouts"] >= 1)["handshake_timeouts"] == 1


def test_close_timeout_cuts_a_client_that_never_answers_our_close(gateway):
    server = gateway("--workers", "1", "--close-timeout", "0.5", "--tick-ms", "50")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(TEXT, b"unmasked", mask=False))
        violated_at = client.last_sent_at
        assert client.read_close()[0] == 1002
        # Neither a close reply nor our own FIN: only the close timeout can end it now. The
        # periodic stats say when the gateway let the connection go.
        stats = server.wait_for_stats(lambda s: s["open"] == 0, timeout_s=5.0)
        released_after_s = time.monotonic() - violated_at
        assert stats["open"] == 0, stats
        assert stats["close_timeouts"] == 1
        assert 0.4 <= released_after_s <= 2.5, released_after_s
        # The socket is gone on the server side: data we send now is answered with a reset.
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for _ in range(50):
                client.sock.send(b"\x00")
                time.sleep(0.05)
    assert server.stop()["close_timeouts"] == 1


def assert_released_without_close_timeout(server, client):
    """The gateway lets the connection go promptly (the client keeps its socket open), and data
    sent afterwards is answered with a reset."""
    stats = server.wait_for_stats(lambda s: s["open"] == 0, timeout_s=2.0)
    assert stats["open"] == 0, "the gateway still holds the connection 2 s after the close handshake"
    assert stats["close_timeouts"] == 0
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        for _ in range(20):
            client.sock.send(b"\x00")
            time.sleep(0.05)


def test_close_reply_ends_the_connection_before_the_close_timeout(gateway):
    # RFC 6455 section 5.5.1: after sending and receiving a close frame, an endpoint MUST close
    # the TCP connection; section 7.1.1: the server closes it first.
    server = gateway("--workers", "1", "--close-timeout", "5", "--tick-ms", "50")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(TEXT, b"unmasked", mask=False))
        code, _ = client.read_close()
        assert code == 1002
        client.send(frame(CLOSE, code.to_bytes(2, "big")))
        assert client.wait_for_eof(3.0) == b""
        assert_released_without_close_timeout(server, client)


def test_client_initiated_close_releases_the_connection_at_once(gateway):
    server = gateway("--workers", "1", "--close-timeout", "5", "--tick-ms", "50")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(CLOSE, (1000).to_bytes(2, "big")))
        assert client.read_close()[0] == 1000
        assert client.wait_for_eof(3.0) == b""
        assert_released_without_close_timeout(server, client)


def test_client_fin_after_the_close_handshake_releases_the_connection(gateway):
    server = gateway("--workers", "1", "--close-timeout", "5", "--tick-ms", "50")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(CLOSE, (1000).to_bytes(2, "big")))
        assert client.read_close()[0] == 1000
        assert client.wait_for_eof(3.0) == b""
        client.sock.shutdown(socket.SHUT_WR)
        stats = server.wait_for_stats(lambda s: s["open"] == 0, timeout_s=2.0)
        assert (stats["open"], stats["closed_by_client"], stats["close_timeouts"]) == (0, 1, 0)


def test_an_idle_connection_is_parked_and_wakes_on_data(gateway):
    server = gateway("--workers", "1", "--park-after", "0.3", "--tick-ms", "50")

    async def scenario():
        async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            stats = await asyncio.to_thread(server.wait_for_stats, lambda s: s["parked"] >= 1, 5.0)
            assert stats["parked"] == 1
            for n in range(50):  # wakes it, then every message comes back in order
                await ws.send(f"after {n}")
            assert [await ws.recv() for _ in range(50)] == [f"after {n}" for n in range(50)]

    asyncio.run(scenario())
