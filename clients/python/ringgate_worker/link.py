"""One worker's link to a RingGate gateway, on asyncio.

A reader task parses the gateway's frames: events go to a bounded queue that `async for`
drains (when it is full the task stops reading, and the gateway's own flow control pauses the
clients), PRESENCE answers go to the `presence()` call that asked. Commands are written to the
socket at once and wait in `drain()` only when the gateway is not keeping up.
"""

import asyncio
import itertools

from . import codec
from .events import GatewayError, Hello, LinkError, Presence

_END = object()


async def connect(path, name, event_buffer=4096):
    """Connects to `ringgate --backend-socket PATH`, exchanges HELLOs, and returns the Link.

    `name` identifies this worker (`--route hash:...` hashes it); give each worker its own.
    """
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        frames = codec.FrameBuffer()
        hello = await _read_hello(reader, frames)
        if hello.version != codec.VERSION:
            raise LinkError(f"gateway speaks version {hello.version}, this SDK {codec.VERSION}")
        frames.max_frame = hello.max_frame
        writer.write(codec.hello(name))
        await writer.drain()
    except BaseException:
        writer.close()
        raise
    return Link(name, hello, reader, writer, frames, event_buffer)


async def _read_hello(reader, frames):
    while True:
        for frame_type, body in frames.frames():
            first = codec.decode(frame_type, body)
            if isinstance(first, GatewayError):
                raise LinkError(first.message, first.code)
            if not isinstance(first, Hello):
                raise LinkError(f"expected HELLO, got frame type {frame_type}")
            return first
        data = await reader.read(65536)
        if not data:
            raise LinkError("the gateway closed the link before HELLO")
        frames.feed(data)


class Link:
    """Use `connect()`. Iterate it for events; call its coroutines to answer."""

    def __init__(self, name, hello, reader, writer, frames, event_buffer):
        self.name = name
        self.gateway = hello
        self.error = None  # why the link ended, when it broke
        self._reader = reader
        self._writer = writer
        self._events = asyncio.Queue(maxsize=event_buffer)
        self._presence = {}
        self._requests = itertools.count(1)
        self._closed = False
        self._discarding = False
        self._task = asyncio.get_running_loop().create_task(self._read_loop(frames))

    def __aiter__(self):
        return self

    async def __anext__(self):
        """The next event; at the end of the link, StopAsyncIteration, or the LinkError it broke with."""
        if self._closed and self._events.empty():
            return await self._end()
        event = await self._events.get()
        if event is _END:
            self._events.put_nowait(_END)  # later calls end too
            return await self._end()
        return event

    async def _end(self):
        if self.error is not None:
            raise self.error
        raise StopAsyncIteration

    async def _read_loop(self, frames):
        try:
            await self._deliver(frames)
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                frames.feed(data)
                await self._deliver(frames)
        except LinkError as error:
            self.error = error
        except (ConnectionError, OSError) as error:
            if not self._closed:
                self.error = LinkError(f"link socket: {error}")
        finally:
            self._finish()

    async def _deliver(self, frames):
        for frame_type, body in frames.frames():
            event = codec.decode(frame_type, body)
            if isinstance(event, GatewayError):
                raise LinkError(event.message, event.code)
            if isinstance(event, Hello):
                raise LinkError("second HELLO")
            if isinstance(event, Presence):
                waiter = self._presence.pop(event.request, None)
                if waiter is not None:
                    if not waiter.done():
                        waiter.set_result(event)
                    continue
            if not self._discarding:
                await self._events.put(event)

    def _finish(self):
        self._closed = True
        self._writer.close()
        failure = self.error or LinkError("link closed")
        for waiter in self._presence.values():
            if not waiter.done():
                waiter.set_exception(failure)
        self._presence.clear()
        try:
            self._events.put_nowait(_END)
        except asyncio.QueueFull:
            pass  # the consumer finds the link closed once it has drained the queue

    async def _write(self, frame):
        if self._closed:
            raise self.error or LinkError("link closed")
        self._writer.write(frame)
        await self._writer.drain()

    async def close_link(self):
        """Sends what is queued, closes the link, and waits for the reader to end.

        Events not consumed yet are dropped.
        """
        self._discarding = True
        while not self._events.empty():
            self._events.get_nowait()
        if not self._closed:
            self._closed = True
            try:
                await self._writer.drain()
                self._writer.write_eof()
            except (ConnectionError, OSError):
                pass
        await self._task

    # Commands (docs/PROTOCOL.md, "Worker -> gateway: commands").

    async def accept(self, conn, subprotocol=""):
        """Answers an Open that needs a decision: the client gets its 101."""
        await self._write(codec.accept(conn, subprotocol))

    async def reject(self, conn, status=403, body=""):
        """Refuses an Open that needs a decision with an HTTP status (400-599) and a text body."""
        await self._write(codec.reject(conn, status, body))

    async def send(self, conn, data):
        """A text message for `str`, binary for bytes."""
        await self._write(codec.send(conn, data))

    async def send_many(self, conns, data):
        """One message to several connections, encoded once by the gateway."""
        await self._write(codec.send_many(conns, data))

    async def close(self, conn, code=1000, reason=""):
        await self._write(codec.close(conn, code, reason))

    async def subscribe(self, conn, topic, since=None):
        """With `since`, kept messages numbered above it are replayed first (or a Gap comes)."""
        await self._write(codec.subscribe(conn, topic, since))

    async def subscribe_many(self, conns, topic):
        await self._write(codec.subscribe_many(conns, topic))

    async def unsubscribe(self, conn, topic):
        await self._write(codec.unsubscribe(conn, topic))

    async def publish(self, topic, data, seq=0):
        """To every subscriber of `topic`; `seq` 0 lets the gateway number the message."""
        await self._write(codec.publish(topic, data, seq))

    async def broadcast(self, data):
        """To every open connection of the gateway."""
        await self._write(codec.broadcast(data))

    async def configure_topic(self, topic, history_count, history_age_ms):
        """How much history `topic` keeps; 0 and 0 keep none."""
        await self._write(codec.configure_topic(topic, history_count, history_age_ms))

    async def presence(self, topic, offset=0, limit=0xFFFFFFFF):
        """Who is subscribed to `topic`: a Presence with the total and at most `limit` ids from `offset`."""
        request = next(self._requests) & 0xFFFFFFFF
        waiter = asyncio.get_running_loop().create_future()
        self._presence[request] = waiter
        try:
            await self._write(codec.presence(request, topic, offset, limit))
            return await waiter
        finally:
            self._presence.pop(request, None)
