"""A real link over a Unix socket against a scripted gateway (asyncio server in the test)."""

import asyncio
import os
import tempfile

import pytest

import ringgate_worker
from ringgate_worker import codec
from test_codec import CLOSED, CONN, GATEWAY_HELLO, MESSAGE, OPEN, h


class FakeGateway:
    """Accepts one worker; the test writes events and reads commands as frames."""

    def __init__(self):
        self.path = os.path.join(tempfile.mkdtemp(), "gw.sock")
        self.peer = asyncio.get_running_loop().create_future()
        self.frames = codec.FrameBuffer()

    async def start(self):
        self.server = await asyncio.start_unix_server(lambda r, w: self.peer.set_result((r, w)), self.path)

    async def accept(self):
        self.reader, self.writer = await asyncio.wait_for(self.peer, 5)
        self.writer.write(GATEWAY_HELLO)

    async def command(self):
        """The next (type, body) from the worker, or None at end of stream."""
        while True:
            for frame in self.frames.frames():
                return frame
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            if not data:
                return None
            self.frames.feed(data)

    def write(self, data):
        self.writer.write(data)


async def linked():
    gateway = FakeGateway()
    await gateway.start()
    connecting = asyncio.ensure_future(ringgate_worker.connect(gateway.path, name="echo1"))
    await gateway.accept()
    link = await asyncio.wait_for(connecting, 5)
    assert await gateway.command() == (codec.C_HELLO, h("0100 0500 6563686f31"))
    return gateway, link


def run(coroutine):
    asyncio.run(asyncio.wait_for(coroutine, 10))


def test_example_exchange():
    async def scenario():
        gateway, link = await linked()
        assert link.gateway.gateway_id == "gw1"
        events = OPEN + MESSAGE
        gateway.write(events[:20])
        await asyncio.sleep(0.01)
        gateway.write(events[20:])
        opened = await link.__anext__()
        assert opened.needs_decision and opened.query_value("room") == "1"
        await link.accept(opened.conn)
        assert await link.__anext__() == ringgate_worker.Message(CONN, "hi")
        await link.send(CONN, "hello")
        await link.close(CONN)
        assert [await gateway.command() for _ in range(3)] == [
            (codec.C_ACCEPT, h("2a00000001000000 0000")),
            (codec.C_SEND, h("2a00000001000000 01 68656c6c6f")),
            (codec.C_CLOSE, h("2a00000001000000 e803")),
        ]
        gateway.write(CLOSED)
        assert await link.__anext__() == ringgate_worker.Closed(CONN, 1000, "")
        gateway.writer.close()
        assert [event async for event in link] == []
        with pytest.raises(ringgate_worker.LinkError):
            await link.send(CONN, "late")
    run(scenario())


def test_presence_answers_find_their_asker():
    async def scenario():
        gateway, link = await linked()
        first = asyncio.ensure_future(link.presence("a", 1, 2))
        second = asyncio.ensure_future(link.presence("b"))
        asked = {}
        for _ in range(2):
            frame_type, body = await gateway.command()
            assert frame_type == codec.C_PRESENCE
            asked[body[12:].decode()] = body[:4]
        gateway.write(h("12000000 07") + asked["b"] + h("00000000 00000000 00000000 62"))
        gateway.write(h("22000000 07") + asked["a"] + h("05000000 01000000 02000000 0700000000000000 0800000000000000 61"))
        gateway.write(h("12000000 07 ffffff7f 00000000 00000000 00000000 63"))
        assert (await first).conns == [7, 8]
        assert (await second).total == 0
        unasked = await link.__anext__()
        assert (unasked.request, unasked.topic) == (0x7FFFFFFF, "c")
    run(scenario())


def test_gateway_error_ends_iteration_with_it():
    async def scenario():
        gateway, link = await linked()
        gateway.write(h("0f000000 08 0500 756e6b6e6f776e20636f6e6e"))
        with pytest.raises(ringgate_worker.LinkError) as raised:
            async for _ in link:
                pass
        assert raised.value.code == 5 and raised.value.text == "unknown conn"
        with pytest.raises(ringgate_worker.LinkError):
            await link.presence("t")
    run(scenario())


def test_garbage_closes_the_link():
    async def scenario():
        gateway, link = await linked()
        gateway.write(h("ffffffff 03"))
        with pytest.raises(ringgate_worker.LinkError):
            await link.__anext__()
        assert await gateway.command() is None
    run(scenario())


def test_close_link_sends_what_is_queued():
    async def scenario():
        gateway, link = await linked()
        for index in range(1000):
            await link.publish("t", f"message {index}")
        closing = asyncio.ensure_future(link.close_link())
        count = 0
        while await gateway.command() is not None:
            count += 1
        gateway.writer.close()
        await closing
        assert count == 1000
    run(scenario())


def test_a_full_event_queue_stops_reading():
    async def scenario():
        gateway = FakeGateway()
        await gateway.start()
        connecting = asyncio.ensure_future(ringgate_worker.connect(gateway.path, name="w", event_buffer=4))
        await gateway.accept()
        link = await connecting
        for _ in range(200):
            gateway.write(MESSAGE)
        await asyncio.sleep(0.1)
        assert link._events.qsize() == 4  # the rest waits in the socket, not in the worker
        assert [await link.__anext__() for _ in range(200)] == [ringgate_worker.Message(CONN, "hi")] * 200
    run(scenario())
