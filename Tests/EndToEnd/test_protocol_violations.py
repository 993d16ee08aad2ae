"""RFC 6455 framing over raw sockets: each violation gets a close frame with the exact code, then
the TCP connection ends; frames split or pipelined in odd ways are still read correctly."""

import pytest

from wsraw import (BINARY, CLOSE, CONT, PING, PONG, TEXT, RawClient, accept_for, close_payload, frame, new_key,
                   upgrade_request)

CLOSE_EOF_TIMEOUT_S = 3.0  # well under the default 5 s close timeout: our close reply must end it


def expect_failure(client, code):
    """The server's close frame carries `code`; after our close reply the server closes TCP."""
    received_code, reason = client.read_close()
    assert received_code == code, (received_code, reason)
    reason.decode("utf-8")  # a close reason is UTF-8 (RFC 6455 section 5.5.1)
    try:
        client.send_frame(CLOSE, close_payload(received_code))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may already have closed, which RFC 6455 section 7.1.7 allows
    trailing = client.wait_for_eof(CLOSE_EOF_TIMEOUT_S)
    assert trailing == b"", "bytes after the close frame: %r" % trailing[:64]


VIOLATIONS = {
    "unmasked client frame": (frame(TEXT, b"hi", mask=False), 1002),
    "RSV1 set": (frame(TEXT, b"hi", rsv=0b100), 1002),
    "RSV2 set": (frame(TEXT, b"hi", rsv=0b010), 1002),
    "RSV3 set": (frame(BINARY, b"hi", rsv=0b001), 1002),
    "unknown data opcode 0x3": (frame(0x3, b"hi"), 1002),
    "unknown control opcode 0xB": (frame(0xB, b"hi"), 1002),
    "ping with a 126-byte payload": (frame(PING, b"p" * 126), 1002),
    "close with a 126-byte payload": (frame(CLOSE, close_payload(1000, b"r" * 124)), 1002),
    "fragmented ping": (frame(PING, b"p", fin=False), 1002),
    "continuation without a started message": (frame(CONT, b"orphan"), 1002),
    "text frame inside a fragmented message": (frame(TEXT, b"first", fin=False) + frame(TEXT, b"second"), 1002),
    "binary frame inside a fragmented message": (frame(BINARY, b"first", fin=False) + frame(BINARY, b"x"), 1002),
    "64-bit length with the top bit set": (frame(BINARY, b"", length=1 << 63), 1002),
    "invalid UTF-8 text": (frame(TEXT, b"\xff"), 1007),
    "overlong UTF-8 encoding": (frame(TEXT, b"\xc0\xaf"), 1007),
    "UTF-16 surrogate in UTF-8": (frame(TEXT, b"\xed\xa0\x80"), 1007),
    "invalid UTF-8 across two fragments": (frame(TEXT, b"\xe2\x82", fin=False) + frame(CONT, b"\x28"), 1007),
    "truncated UTF-8 at the end of a message": (frame(TEXT, b"ok\xe2\x82"), 1007),
    "close with a 1-byte payload": (frame(CLOSE, b"\x03"), 1002),
    "close code 999": (frame(CLOSE, close_payload(999)), 1002),
    "close code 1004": (frame(CLOSE, close_payload(1004)), 1002),
    "close code 1005": (frame(CLOSE, close_payload(1005)), 1002),
    "close code 1006": (frame(CLOSE, close_payload(1006)), 1002),
    "close code 1015": (frame(CLOSE, close_payload(1015)), 1002),
    "close reason with invalid UTF-8": (frame(CLOSE, close_payload(1000, b"\xff")), 1007),
}


@pytest.mark.parametrize("data,code", VIOLATIONS.values(), ids=list(VIOLATIONS))
def test_violation_closes_with_exact_code(gateway, data, code):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(data)
        expect_failure(client, code)
    stats = server.stop(until=lambda s: s["protocol_errors"] >= 1)
    assert stats["protocol_errors"] == 1
    assert stats["messages_out"] == 0


def test_declared_length_above_limit_closes_before_the_payload_arrives(gateway):
    server = gateway("--workers", "1", "--max-message-size", "1000")
    with RawClient(server.port) as client:
        client.handshake()
        assert client.echo(BINARY, b"b" * 1000) == (BINARY, b"b" * 1000)  # at the limit: accepted
        # Only the header and 10 of the 1001 declared bytes: the length alone must trigger 1009.
        client.send(frame(BINARY, b"b" * 1001)[:2 + 2 + 4 + 10])
        expect_failure(client, 1009)
    stats = server.stop(until=lambda s: s["protocol_errors"] >= 1)
    assert stats["protocol_errors"] == 1


def test_huge_declared_length_closes_with_1009(gateway):
    server = gateway("--workers", "1", "--max-message-size", "1000")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(TEXT, b"", length=1 << 40)[:2 + 8 + 4])
        expect_failure(client, 1009)


def test_fragmented_message_above_limit_closes_with_1009(gateway):
    server = gateway("--workers", "1", "--max-message-size", "1000")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(TEXT, b"a" * 600, fin=False))
        client.send(frame(CONT, b"a" * 600, fin=False))
        expect_failure(client, 1009)
    assert server.stop(until=lambda s: s["protocol_errors"] >= 1)["protocol_errors"] == 1


def test_frame_pipelined_with_the_handshake_is_echoed(gateway):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        key = new_key()
        client.send(upgrade_request(server.port, key=key) + frame(TEXT, b"pipelined") + frame(BINARY, b"\x00\x01"))
        status, headers, body = client.read_response()
        assert (status, body) == (101, b"")
        assert headers["sec-websocket-accept"] == accept_for(key)
        assert client.read_message() == (TEXT, b"pipelined")
        assert client.read_message() == (BINARY, b"\x00\x01")


def test_frame_sent_one_byte_per_write_is_echoed(gateway):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        client.handshake()
        payload = "byte by byte: é€😀".encode() * 10  # 126 bytes or more: 16-bit length form
        assert len(payload) >= 126
        client.send_bytewise(frame(TEXT, payload))
        assert client.read_message() == (TEXT, payload)
        client.send_bytewise(frame(BINARY, b"\x00\xff" * 3))
        assert client.read_message() == (BINARY, b"\x00\xff" * 3)


def test_many_frames_in_one_write_are_all_echoed(gateway):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        client.handshake()
        payloads = [b"m%d" % i * (i % 200) for i in range(300)]
        client.send(b"".join(frame(BINARY, p) for p in payloads))
        assert [client.read_message() for _ in payloads] == [(BINARY, p) for p in payloads]


def test_ping_gets_pong_with_the_same_payload(gateway):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        client.handshake()
        client.send_frame(PING, b"are you there?")
        assert client.read_frame() == (True, PONG, b"are you there?")
        client.send_frame(PING, b"")
        assert client.read_frame() == (True, PONG, b"")
        client.send_frame(PING, b"x" * 125)  # the largest control payload
        assert client.read_frame() == (True, PONG, b"x" * 125)


def test_control_frames_between_fragments(gateway):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(TEXT, b"\xe2\x82", fin=False) + frame(PING, b"mid") + frame(PONG, b"unsolicited")
                    + frame(CONT, b"\xac and more", fin=False) + frame(CONT, b"!"))
        assert client.read_frame() == (True, PONG, b"mid")
        assert client.read_message() == (TEXT, "€ and more!".encode())


def test_empty_fragments_make_one_message(gateway):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(BINARY, b"", fin=False) + frame(CONT, b"", fin=False) + frame(CONT, b""))
        assert client.read_message() == (BINARY, b"")


def test_client_close_is_answered_with_the_same_code_then_eof(gateway):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        client.handshake()
        client.send_frame(CLOSE, close_payload(4321, "good-bye".encode()))
        code, _ = client.read_close()
        assert code == 4321
        assert client.wait_for_eof(CLOSE_EOF_TIMEOUT_S) == b""
    stats = server.stop(until=lambda s: s["closed_by_client"] >= 1)
    assert stats["protocol_errors"] == 0
    assert stats["closed_by_client"] == 1


def test_data_after_close_is_ignored(gateway):
    server = gateway("--workers", "1")
    with RawClient(server.port) as client:
        client.handshake()
        client.send(frame(CLOSE, close_payload(1000)) + frame(TEXT, b"too late"))
        code, _ = client.read_close()
        assert code == 1000
        assert client.wait_for_eof(CLOSE_EOF_TIMEOUT_S) == b""
    stats = server.stop(until=lambda s: s["closed_by_client"] >= 1)
    assert (stats["messages_in"], stats["messages_out"]) == (0, 0)
