"""The worker protocol's bytes (docs/PROTOCOL.md): frame scanning, event decoding, command encoding.

Every frame is `u32 length (type + body), u8 type, body`, little-endian throughout. This module
does no I/O, so it can be tested against hand-built byte strings.
"""

import struct

from .events import (Closed, Draining, Flow, Gap, GatewayError, Hello, LinkError, Message, Open, Presence, Subscribed,
                     Unsubscribed)

VERSION = 1
DEFAULT_MAX_FRAME = (16 << 20) + 64
MAX_TOPIC_BYTES = 255

# Events
HELLO, OPEN, MESSAGE, CLOSED, FLOW, GAP, PRESENCE, ERROR, DRAINING, SUBSCRIBED, UNSUBSCRIBED = range(0x01, 0x0C)
# Commands
(C_HELLO, C_ACCEPT, C_REJECT, C_SEND, C_CLOSE, C_SUBSCRIBE, C_UNSUBSCRIBE, C_PUBLISH, C_BROADCAST,
 C_SEND_MANY, C_SUBSCRIBE_MANY, C_PRESENCE, C_TOPIC) = range(0x81, 0x8E)

TEXT, BINARY = 1, 2
OPEN_DECIDE, OPEN_MOVED = 1, 2


class FrameBuffer:
    """Bytes from the link that may end anywhere; `frames()` takes the whole frames off the front."""

    def __init__(self, max_frame=DEFAULT_MAX_FRAME):
        self.max_frame = max_frame
        self._bytes = bytearray()

    def feed(self, data):
        self._bytes += data

    def frames(self):
        """Yields (type, body) for each whole frame; raises LinkError on a length of 0 or over max_frame."""
        start = 0
        try:
            while len(self._bytes) - start >= 4:
                (length,) = struct.unpack_from("<I", self._bytes, start)
                if length < 1 or length > self.max_frame:
                    raise LinkError(f"frame length {length}")
                end = start + 4 + length
                if len(self._bytes) < end:
                    break
                frame_type, body = self._bytes[start + 4], bytes(self._bytes[start + 5:end])
                start = end  # consumed even if the caller stops after this frame
                yield frame_type, body
        finally:
            del self._bytes[:start]

    @property
    def buffered(self):
        return len(self._bytes)


class _Reader:
    """Bounds-checked fields of one body: a short body is a LinkError, never a wrong value."""

    def __init__(self, body):
        self.body, self.offset = body, 0

    def take(self, count):
        if count > len(self.body) - self.offset:
            raise LinkError("malformed frame body")
        part = self.body[self.offset:self.offset + count]
        self.offset += count
        return part

    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack("<H", self.take(2))[0]
    def u32(self): return struct.unpack("<I", self.take(4))[0]
    def u64(self): return struct.unpack("<Q", self.take(8))[0]
    def str16(self): return self.take(self.u16()).decode("utf-8", "replace")

    def rest(self):
        part = self.body[self.offset:]
        self.offset = len(self.body)
        return part


def decode(frame_type, body):
    """One gateway frame -> Hello, an event, or GatewayError. Raises LinkError when it is broken."""
    r = _Reader(body)
    if frame_type == HELLO:
        version, _flags, max_frame, link_id = r.u16(), r.u16(), r.u32(), r.u32()
        return Hello(version, max_frame, link_id, r.str16())
    if frame_type == OPEN:
        conn, flags = r.u64(), r.u8()
        remote, path, query, protocols = r.str16(), r.str16(), r.str16(), r.str16()
        headers = [(r.str16(), r.str16()) for _ in range(r.u16())]
        offers = [p.strip() for p in protocols.split(",") if p.strip()]
        return Open(conn, remote, path, query, offers, headers, bool(flags & OPEN_DECIDE), bool(flags & OPEN_MOVED))
    if frame_type == MESSAGE:
        conn, kind, payload = r.u64(), r.u8(), r.rest()
        if kind == TEXT:
            return Message(conn, payload.decode("utf-8", "replace"))
        if kind == BINARY:
            return Message(conn, payload)
        raise LinkError(f"message kind {kind}")
    if frame_type == CLOSED:
        conn, code = r.u64(), r.u16()
        return Closed(conn, code, r.rest().decode("utf-8", "replace"))
    if frame_type == FLOW:
        return Flow(r.u64(), r.u8() != 0)
    if frame_type == GAP:
        conn, since, evicted = r.u64(), r.u64(), r.u64()
        return Gap(conn, r.str16(), since, evicted)
    if frame_type == PRESENCE:
        request, total, offset, count = r.u32(), r.u32(), r.u32(), r.u32()
        conns = list(struct.unpack(f"<{count}Q", r.take(8 * count)))
        return Presence(request, r.rest().decode("utf-8", "replace"), total, offset, conns)
    if frame_type == ERROR:
        code = r.u16()
        return GatewayError(code, r.rest().decode("utf-8", "replace"))
    if frame_type == DRAINING:
        return Draining(r.u32())
    if frame_type in (SUBSCRIBED, UNSUBSCRIBED):
        conn, topic = r.u64(), r.rest().decode("utf-8", "replace")
        return Subscribed(conn, topic) if frame_type == SUBSCRIBED else Unsubscribed(conn, topic)
    raise LinkError(f"unknown event type 0x{frame_type:02x}")


def frame(frame_type, *parts):
    """`u32 length, u8 type` and the body parts joined."""
    body = b"".join(parts)
    return struct.pack("<IB", len(body) + 1, frame_type) + body


def str16(text):
    data = text.encode() if isinstance(text, str) else bytes(text)
    if len(data) > 0xFFFF:
        raise ValueError("str16 field over 65535 bytes")
    return struct.pack("<H", len(data)) + data


def payload(data):
    """(kind, bytes): str is a text message, bytes-like a binary one."""
    if isinstance(data, str):
        return TEXT, data.encode()
    return BINARY, bytes(data)


def topic_bytes(topic):
    data = topic.encode() if isinstance(topic, str) else bytes(topic)
    if not 1 <= len(data) <= MAX_TOPIC_BYTES:
        raise ValueError(f"topic must be 1-{MAX_TOPIC_BYTES} bytes, got {len(data)}")
    return data


def hello(name):
    return frame(C_HELLO, struct.pack("<H", VERSION), str16(name))


def accept(conn, subprotocol=""):
    return frame(C_ACCEPT, struct.pack("<Q", conn), str16(subprotocol))


def reject(conn, status, body=""):
    if not 400 <= status <= 599:
        raise ValueError(f"reject status {status} is not 400-599")
    return frame(C_REJECT, struct.pack("<QH", conn, status), body.encode() if isinstance(body, str) else bytes(body))


def send(conn, data):
    kind, data = payload(data)
    return frame(C_SEND, struct.pack("<QB", conn, kind), data)


def close(conn, code=1000, reason=""):
    # A close frame carries at most 123 bytes of reason (RFC 6455 section 5.5); cut at a character.
    cut = reason.encode()[:123].decode("utf-8", "ignore").encode()
    return frame(C_CLOSE, struct.pack("<QH", conn, code), cut)


def subscribe(conn, topic, since=None):
    return frame(C_SUBSCRIBE, struct.pack("<QBQ", conn, since is not None, since or 0), topic_bytes(topic))


def unsubscribe(conn, topic):
    return frame(C_UNSUBSCRIBE, struct.pack("<Q", conn), topic_bytes(topic))


def publish(topic, data, seq=0):
    kind, data = payload(data)
    return frame(C_PUBLISH, struct.pack("<BQ", kind, seq), str16(topic_bytes(topic)), data)


def broadcast(data):
    kind, data = payload(data)
    return frame(C_BROADCAST, bytes([kind]), data)


def send_many(conns, data):
    kind, data = payload(data)
    conns = list(conns)
    return frame(C_SEND_MANY, struct.pack(f"<BI{len(conns)}Q", kind, len(conns), *conns), data)


def subscribe_many(conns, topic):
    conns = list(conns)
    return frame(C_SUBSCRIBE_MANY, struct.pack(f"<I{len(conns)}Q", len(conns), *conns), topic_bytes(topic))


def presence(request, topic, offset=0, limit=0xFFFFFFFF):
    return frame(C_PRESENCE, struct.pack("<III", request, offset, limit), topic_bytes(topic))


def configure_topic(topic, history_count, history_age_ms):
    return frame(C_TOPIC, struct.pack("<II", history_count, history_age_ms), topic_bytes(topic))
