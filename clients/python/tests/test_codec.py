"""The codec against hand-built bytes, starting with the example exchange in docs/PROTOCOL.md."""

import pytest

from ringgate_worker import codec
from ringgate_worker.events import (Closed, Draining, Flow, Gap, GatewayError, Hello, LinkError, Message, Open,
                                    Presence, Subscribed, Unsubscribed)


def h(text):
    return bytes.fromhex(text.replace(" ", "").replace("\n", ""))


CONN = 0x1_0000_002A
GATEWAY_HELLO = h("12000000 01  0100 0000 40000001 01000000 0300 677731")
# The document writes this frame's length as "..."; type, conn, flags, four str16 and one header
# make it 0x3d (61).
OPEN = h("3d000000 02  2a00000001000000 01 0f00 3132372e302e302e313a3530303132 0500 2f63686174"
         "0600 726f6f6d3d31 0000 0100 0600 636f6f6b6965 0500 733d616263")
MESSAGE = h("0c000000 03  2a00000001000000 01 6869")
CLOSED = h("0b000000 04  2a00000001000000 e803")
EXAMPLE_EVENTS = [
    Hello(1, (16 << 20) + 64, 1, "gw1"),
    Open(CONN, "127.0.0.1:50012", "/chat", "room=1", [], [("cookie", "s=abc")], True, False),
    Message(CONN, "hi"),
    Closed(CONN, 1000, ""),
]


def decode_all(*pieces):
    buffer = codec.FrameBuffer()
    events = []
    for piece in pieces:
        buffer.feed(piece)
        events += [codec.decode(t, body) for t, body in buffer.frames()]
    assert buffer.buffered == 0
    return events


def test_worker_commands_of_the_example():
    assert codec.hello("echo1") == h("0a000000 81  0100 0500 6563686f31")
    assert codec.accept(CONN) == h("0b000000 82  2a00000001000000 0000")
    assert codec.send(CONN, "hello") == h("0f000000 84  2a00000001000000 01 68656c6c6f")
    assert codec.close(CONN, 1000) == h("0b000000 85  2a00000001000000 e803")


def test_gateway_events_of_the_example():
    assert decode_all(GATEWAY_HELLO + OPEN + MESSAGE + CLOSED) == EXAMPLE_EVENTS


def test_every_split_point_gives_the_same_events():
    stream = GATEWAY_HELLO + OPEN + MESSAGE + CLOSED
    for cut in range(len(stream) + 1):
        for second in range(cut, len(stream) + 1, 5):
            assert decode_all(stream[:cut], stream[cut:second], stream[second:]) == EXAMPLE_EVENTS


def test_byte_at_a_time():
    stream = GATEWAY_HELLO + OPEN + MESSAGE + CLOSED
    assert decode_all(*(stream[i:i + 1] for i in range(len(stream)))) == EXAMPLE_EVENTS


def test_other_commands():
    assert codec.reject(CONN, 401, "no") == h("0d000000 83 2a00000001000000 9101 6e6f")
    assert codec.send(CONN, b"\x00\xff") == h("0c000000 84 2a00000001000000 02 00ff")
    assert codec.subscribe(CONN, "t", since=5) == h("13000000 86 2a00000001000000 01 0500000000000000 74")
    assert codec.subscribe(CONN, "t") == h("13000000 86 2a00000001000000 00 0000000000000000 74")
    assert codec.unsubscribe(CONN, "t") == h("0a000000 87 2a00000001000000 74")
    assert codec.publish("t", b"\x09", seq=7) == h("0e000000 88 02 0700000000000000 0100 74 09")
    assert codec.broadcast("b") == h("03000000 89 01 62")
    assert codec.send_many([1, 2], "m") == h("17000000 8a 01 02000000 0100000000000000 0200000000000000 6d")
    assert codec.subscribe_many([3], "t") == h("0e000000 8b 01000000 0300000000000000 74")
    assert codec.presence(9, "t", 2, 10) == h("0e000000 8c 09000000 02000000 0a000000 74")
    assert codec.configure_topic("t", 100, 60000) == h("0a000000 8d 64000000 60ea0000 74")


def test_other_events():
    assert decode_all(
        h("0a000000 05 2a00000001000000 01"),
        h("1c000000 06 2a00000001000000 0300000000000000 0900000000000000 0100 74"),
        h("1a000000 07 04000000 05000000 01000000 01000000 0700000000000000 74"),
        h("06000000 08 0500 626164"),
        h("05000000 09 88130000"),
        h("0d000000 03 2a00000001000000 02 00ff01"),
        h("0a000000 0a 2a00000001000000 74"),
        h("0a000000 0b 2a00000001000000 74"),
    ) == [
        Flow(CONN, True), Gap(CONN, "t", 3, 9), Presence(4, "t", 5, 1, [7]), GatewayError(5, "bad"),
        Draining(5000), Message(CONN, b"\x00\xff\x01"), Subscribed(CONN, "t"), Unsubscribed(CONN, "t"),
    ]


def test_open_helpers():
    event = Open(1, "a:1", "/chat/x", "room=a%20b&token=&nick=ann+lee", ["chat"], [("authorization", "t")], True, False)
    assert event.query_value("room") == "a b"
    assert event.query_value("token") == ""
    assert event.query_value("nick") == "ann lee"
    assert event.query_value("missing") is None
    assert event.header("Authorization") == "t"


@pytest.mark.parametrize("stream", [
    h("00000000"),                                   # length 0
    h("ffffffff 01"),                                # over max_frame
    h("01000000 7f"),                                # unknown type
    h("02000000 03 00"),                             # MESSAGE shorter than its fields
    h("0b000000 03 2a00000001000000 03 68"),         # MESSAGE kind 3
    h("0a000000 07 01000000 00000000 05"),           # PRESENCE cut short
])
def test_broken_frames_raise(stream):
    with pytest.raises(LinkError):
        decode_all(stream)


def test_arguments_the_protocol_cannot_carry():
    with pytest.raises(ValueError):
        codec.subscribe(1, "")
    with pytest.raises(ValueError):
        codec.publish("x" * 256, "m")
    with pytest.raises(ValueError):
        codec.reject(1, 200)
    assert len(codec.close(1, 1000, "é" * 100)) == 4 + 1 + 8 + 2 + 122
