"""A client that stops reading while the gateway keeps sending to it, under each `--slow-client`
policy that acts on the send queue: `drop` drops the oldest queued messages, whole, so the client
gets the newest once it reads again; `close` closes it with the configured code. The echo demo is
the sender: every message the client sends comes back."""

import time

import pytest

from wsraw import CLOSE, TEXT, RawClient, frame

MESSAGE_BYTES = 1024
LIMIT = 64 << 10  # the send queue holds about 60 messages


def payload(seq):
    return (b"%06d" % seq).ljust(MESSAGE_BYTES, b"abcdefgh"[seq % 8:seq % 8 + 1])


def flood(client, count):
    """Sends `count` numbered messages without reading anything."""
    client.send(b"".join(frame(TEXT, payload(seq)) for seq in range(count)))


def test_drop_keeps_the_newest_whole_messages_for_a_client_that_stops_reading(gateway):
    server = gateway("--workers", "1", "--slow-client", "drop", "--send-queue-limit", str(LIMIT))
    count = 4000  # 4 MB of echoes: far past the queue limit and the socket buffers
    client = RawClient(server.port, timeout_s=10, receive_buffer=4096)
    client.handshake()
    flood(client, count)
    stats = server.wait_for_stats(lambda s: s["messages_in"] == count and s["dropped_oldest"] > 0, timeout_s=30)
    assert stats["messages_in"] == count and stats["dropped_oldest"] > 0, stats
    # Reading again: whole frames, in order, with a gap where the oldest queued ones were dropped,
    # ending with the newest message.
    seqs = []
    deadline = time.monotonic() + 30
    while not seqs or seqs[-1] != count - 1:
        assert time.monotonic() < deadline, f"the newest message never came; last {seqs[-3:]}"
        opcode, data = client.read_message()
        assert opcode == TEXT
        seq = int(data[:6])
        assert data == payload(seq), f"message {seq} arrived damaged"
        assert not seqs or seq > seqs[-1], f"{seq} after {seqs[-1]}"
        seqs.append(seq)
    assert seqs[-32:] == list(range(count - 32, count)), "the newest messages were not all kept"
    assert len(seqs) < count
    # Still connected and served.
    client.send_frame(TEXT, "after")
    assert client.read_message() == (TEXT, b"after")
    client.close()
    stats = server.stop(until=lambda s: s["open"] == 0)
    # Every echo either arrived or was counted as dropped.
    assert len(seqs) + stats["dropped_oldest"] + stats["dropped_newest"] == count, stats
    assert stats["send_queue_overflows"] == 0
    assert any("messages dropped for slow clients" in line for line in server.lines)


@pytest.mark.parametrize("option, code", [((), 1008), (("--slow-client-close-code", "1013"), 1013)])
def test_close_uses_the_configured_code(gateway, option, code):
    server = gateway("--workers", "1", "--slow-client", "close", "--send-queue-limit", str(LIMIT), *option)
    client = RawClient(server.port, timeout_s=10, receive_buffer=4096)
    client.handshake()
    flood(client, 2000)
    seqs = []
    while True:
        fin, opcode, data = client.read_frame()
        if opcode == CLOSE:
            break
        seqs.append(int(data[:6]))
    assert int.from_bytes(data[:2], "big") == code
    assert data[2:] == b"send queue full"
    assert seqs == list(range(len(seqs))), "what was queued before the close arrives whole and in order"
    client.close()
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["send_queue_overflows"] == 1
    assert stats["dropped_oldest"] == stats["dropped_newest"] == 0
