"""The gateway's side of the worker link, checked with the raw protocol client (linkworker.py):
what OPEN carries, who answers when no worker decides, early frames behind the request,
subprotocol choice, worker-initiated closes, stale commands, and DRAINING on SIGTERM."""

import asyncio
import os
import signal
import socket
import tempfile

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from linkworker import CLOSED, DRAINING, MESSAGE, OPEN, LinkWorker
from wsraw import TEXT, RawClient, frame, upgrade_request


def run(coroutine, timeout_s=30.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)
    return asyncio.run(bounded())


@pytest.fixture
def socket_path():
    with tempfile.TemporaryDirectory() as folder:
        yield os.path.join(folder, "gw.sock")


def join(server, path, **options):
    before = len(server.lines)
    worker = LinkWorker(path, **options)
    assert server.wait_for_line(lambda line: "joined as link" in line, 5.0, after=before), "the worker never joined"
    return worker


def test_open_carries_address_path_query_headers_and_offers(gateway, socket_path):
    server = gateway("--workers", "1", "--backend-socket", socket_path)
    worker = join(server, socket_path)
    client = RawClient(server.port)
    client.send(
        b"GET /chat/room7?token=abc HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: chat.v2, chat.v1\r\nCookie: session=42\r\nX-Secret: not forwarded\r\n\r\n"
    )
    opened = worker.expect(OPEN)
    host, port = client.sock.getsockname()[:2]
    assert opened["remote"] == f"{host}:{port}"
    assert opened["path"] == "/chat/room7" and opened["query"] == "token=abc"
    assert opened["protocols"] == "chat.v2, chat.v1"
    assert opened["headers"]["cookie"] == "session=42"
    assert "x-secret" not in opened["headers"]
    assert opened["flags"] & 1, "an upgrade waiting for a decision has DECIDE set"
    worker.accept(opened["conn"], "chat.v1")
    status, headers, _ = client.read_response()
    assert status == 101
    assert headers["sec-websocket-protocol"] == "chat.v1"
    client.close()
    assert worker.expect(CLOSED)["conn"] == opened["conn"]


def test_without_a_worker_upgrades_are_refused_or_served_by_the_demo(gateway, socket_path):
    refusing = gateway("--workers", "1", "--backend-socket", socket_path)

    async def refused():
        with pytest.raises(InvalidStatus) as caught:
            await connect(f"ws://127.0.0.1:{refusing.port}/")
        assert caught.value.response.status_code == 503
    run(refused())
    assert refusing.stop(until=lambda s: s["backend_upgrades_refused"] >= 1)["backend_upgrades_refused"] == 1

    demo = gateway("--workers", "1", "--backend-socket", socket_path + "2", "--no-worker", "demo")

    async def echoed():
        async with connect(f"ws://127.0.0.1:{demo.port}/") as ws:
            await ws.send("still served")
            assert await ws.recv() == "still served"
    run(echoed())


def test_an_undecided_upgrade_gets_503_at_the_handshake_timeout(gateway, socket_path):
    server = gateway("--workers", "1", "--backend-socket", socket_path, "--handshake-timeout", "0.5", "--tick-ms", "50")
    worker = join(server, socket_path)

    async def scenario():
        with pytest.raises(InvalidStatus) as caught:
            await connect(f"ws://127.0.0.1:{server.port}/", open_timeout=5)
        assert caught.value.response.status_code == 503
    run(scenario())
    opened = worker.expect(OPEN)
    closed = worker.expect(CLOSED)
    assert closed["conn"] == opened["conn"] and closed["code"] == 1006
    assert server.stop(until=lambda s: s["backend_upgrades_refused"] >= 1)["backend_upgrades_refused"] == 1


def test_frames_sent_behind_the_request_wait_for_the_decision(gateway, socket_path):
    server = gateway("--workers", "1", "--backend-socket", socket_path)
    worker = join(server, socket_path)
    client = RawClient(server.port)
    # The request and two frames in one write, then a third frame while the worker decides.
    client.send(upgrade_request(server.port) + frame(TEXT, b"first") + frame(TEXT, b"second"))
    opened = worker.expect(OPEN)
    client.send(frame(TEXT, b"third"))
    worker.accept(opened["conn"])
    assert client.read_response()[0] == 101
    got = [worker.expect(MESSAGE)["payload"] for _ in range(3)]
    assert got == [b"first", b"second", b"third"]
    client.close()


def test_worker_close_reaches_the_client_and_stale_commands_are_only_counted(gateway, socket_path):
    server = gateway("--workers", "1", "--backend-socket", socket_path)
    worker = join(server, socket_path, on_open=lambda w, f: w.accept(f["conn"]))

    async def scenario():
        ws = await connect(f"ws://127.0.0.1:{server.port}/")
        conn = worker.expect(OPEN)["conn"]
        worker.close_conn(conn, 4001, b"kicked")
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 4001 and ws.close_reason == "kicked"
        assert worker.expect(CLOSED) == {"conn": conn, "code": 4001, "reason": b"kicked"}
        # The connection is gone: commands naming it are normal races, not protocol errors.
        worker.send_text(conn, "too late")
        worker.subscribe(conn, "news")
        async with connect(f"ws://127.0.0.1:{server.port}/") as other:
            other_conn = worker.expect(OPEN)["conn"]
            worker.send_text(other_conn, "the link still works")
            assert await other.recv() == "the link still works"
    run(scenario())
    stats = server.stop(until=lambda s: s["backend_stale_commands"] >= 2)
    assert stats["backend_stale_commands"] == 2
    assert stats["backend_protocol_errors"] == 0


def test_workers_hear_of_a_drain_before_their_clients_close(gateway, socket_path):
    server = gateway("--workers", "1", "--backend-socket", socket_path, "--drain-window", "0.5")
    worker = join(server, socket_path, on_open=lambda w, f: w.accept(f["conn"]))

    async def scenario():
        ws = await connect(f"ws://127.0.0.1:{server.port}/")
        worker.expect(OPEN)
        server.process.send_signal(signal.SIGTERM)
        draining = worker.expect(DRAINING)
        assert draining["raw"] == (500).to_bytes(4, "little")
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1001
    run(scenario())
    assert server.process.wait(10) == 0


def test_a_refusal_reaches_a_browser_as_a_close_it_can_read(gateway, socket_path):
    """A worker's REJECT (status 403, a body) to a client that sent Origin, as every browser does:
    the upgrade completes and closes at once with 4000 + status and the body as the reason, since
    a browser's JavaScript cannot read an HTTP answer (it sees 1006). A client without Origin
    still gets the HTTP answer."""
    from websockets.exceptions import ConnectionClosed

    server = gateway("--workers", "1", "--backend-socket", socket_path)
    worker = join(server, socket_path, on_open=lambda w, fields: w.reject(fields["conn"], 403, "banned from this room".encode()))

    async def scenario():
        async with connect(f"ws://127.0.0.1:{server.port}/room", origin="https://app.example") as ws:
            with pytest.raises(ConnectionClosed) as caught:
                await ws.recv()
            assert caught.value.rcvd.code == 4403 and caught.value.rcvd.reason == "banned from this room"
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"ws://127.0.0.1:{server.port}/room")
        assert refused.value.response.status_code == 403
        assert refused.value.response.body == b"banned from this room\n"
    run(scenario())
    stats = server.stop(until=lambda s: s["backend_upgrades_rejected"] >= 2)
    assert stats["backend_upgrades_rejected"] == 2 and stats["handshakes_ok"] == 0
