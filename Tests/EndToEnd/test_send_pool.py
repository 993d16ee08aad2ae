"""The worker's send pool is shared by all its clients: many clients that read are never closed
because together they ask more of it than it holds. While it is down to its reserve the gateway
stops reading (and says so in a counter and a log line); every echo still arrives, whole and in
order. Its default size follows from --max-connections."""

import threading

from admin import scrape
from test_configuration import run_to_exit
from wsraw import CLOSE, TEXT, RawClient, frame

CLIENTS = 40
MESSAGES = 48
MESSAGE_BYTES = 4096
SEND_POOL = 64 << 10


def payload(client, seq):
    return (b"%03d:%05d:" % (client, seq)).ljust(MESSAGE_BYTES, b"abcdefghijklmnop"[seq % 16:seq % 16 + 1])


def echo_all(port, index, results):
    """Sends every message while reading the echoes back, through a small receive buffer, so the
    gateway's queue for it fills while the client still reads."""
    try:
        with RawClient(port, timeout_s=30, receive_buffer=4096) as client:
            client.handshake()
            data = b"".join(frame(TEXT, payload(index, seq)) for seq in range(MESSAGES))
            sender = threading.Thread(target=client.send, args=(data,), daemon=True)
            sender.start()
            for seq in range(MESSAGES):
                opcode, data = client.read_message()
                if opcode == CLOSE:
                    results[index] = f"closed with {int.from_bytes(data[:2], 'big')} {data[2:]!r} after {seq}"
                    return
                if (opcode, data) != (TEXT, payload(index, seq)):
                    results[index] = f"message {seq} arrived damaged or out of order"
                    return
            results[index] = "ok"
    except Exception as error:  # noqa: BLE001 - a failed client is reported, not raised in a thread
        results[index] = f"failed: {error!r}"


def test_reading_clients_that_together_ask_more_than_the_pool_holds_are_all_served(gateway):
    # 40 clients x 48 x 4 KiB = 7.5 MiB of echoes against a 64 KiB pool. Its reserve is half of
    # it, less than the 16 x 4 KiB receive buffers hold, so besides pausing, some echoes find the
    # pool dry and wait for room: both paths run, and every echo must still arrive in order.
    server = gateway(
        "--workers", "1", "--send-pool", str(SEND_POOL), "--buffer-count", "16", "--buffer-size", "4096",
        "--admin-port", "0",
    )
    results = [None] * CLIENTS
    threads = [threading.Thread(target=echo_all, args=(server.port, index, results)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == ["ok"] * CLIENTS, [r for r in results if r != "ok"]
    metrics = scrape(server.admin_port)
    assert metrics['ringgate_send_pool_bytes{state="budget"}'] == SEND_POOL
    assert 0 < metrics['ringgate_send_pool_bytes{state="peak"}'] <= SEND_POOL
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["messages_out"] == CLIENTS * MESSAGES
    assert stats["send_queue_overflows"] == 0
    assert stats["paused_send_pool"] > 0, "the pool never reached its reserve: the test proves nothing"
    assert stats["send_pool_waits"] > 0, "no echo found the pool dry: the waiting path went untested"
    assert any("the send pool is down to its reserve" in line for line in server.lines)


def test_the_default_pool_grows_with_max_connections(gateway):
    budgets = []
    for connections in (1000, 5000):
        server = gateway("--workers", "1", "--max-connections", str(connections), "--admin-port", "0")
        budgets.append(scrape(server.admin_port)['ringgate_send_pool_bytes{state="budget"}'])
        assert scrape(server.admin_port)['ringgate_send_pool_bytes{state="used"}'] == 0
        server.stop()
    # 512 bytes for each of the 4,000 more connections (one worker's table holds them all).
    assert budgets[1] - budgets[0] == 4000 * 512, budgets


def test_a_pool_below_two_large_chunks_is_refused_with_a_clear_error():
    result = run_to_exit(["--workers", "1", "--port", "0", "--send-pool", "1000"])
    assert result.returncode != 0
    assert "send pool must be at least 32768 bytes" in result.stderr, result.stderr
    assert "Fatal error" not in result.stderr


def test_clients_that_do_not_read_cannot_hold_the_others_paused(gateway):
    """30 clients flood echoes and never read, through a 256 KiB pool; 10 clients that read keep
    echoing. While the pool is at its reserve, the flooders, whose queues do not shrink for the
    close timeout, are reset, and the readers never see an error or a long stall."""
    import socket
    import time

    server = gateway("--workers", "1", "--send-pool", str(256 << 10), "--buffer-count", "16", "--buffer-size", "4096",
                     "--close-timeout", "1")
    flooders = []
    for index in range(30):
        client = RawClient(server.port, timeout_s=10, receive_buffer=4096)
        client.handshake()
        client.sock.setblocking(False)
        flooders.append(client)
    chunk = b"".join(frame(TEXT, payload(100 + index, seq)) for seq in range(8))
    readers, results = [], {}

    def read_steadily(index):
        worst = 0.0
        try:
            with RawClient(server.port, timeout_s=15) as client:
                client.handshake()
                deadline = time.monotonic() + 6
                seq = 0
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    client.send(frame(TEXT, payload(index, seq)))
                    opcode, data = client.read_message()
                    if (opcode, data) != (TEXT, payload(index, seq)):
                        results[index] = f"message {seq}: {opcode} {data[:20]!r}"
                        return
                    worst = max(worst, time.monotonic() - started)
                    seq += 1
                results[index] = ("ok", seq, worst)
        except Exception as error:  # noqa: BLE001 - reported, not raised in a thread
            results[index] = f"failed: {error!r}"

    readers = [threading.Thread(target=read_steadily, args=(index,)) for index in range(10)]
    for thread in readers:
        thread.start()
    # Flood for as long as the readers run: whatever the sockets take, never reading.
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        for client in flooders:
            try:
                client.sock.send(chunk)
            except (BlockingIOError, ConnectionResetError, BrokenPipeError, OSError):
                pass
        time.sleep(0.01)
    for thread in readers:
        thread.join(30)
    bad = {index: result for index, result in results.items() if not (isinstance(result, tuple) and result[0] == "ok")}
    assert len(results) == 10 and not bad, bad
    # Flooders whose echoes waited off the pool join the pool once a reset frees room, and are
    # reset a close timeout later in turn: readers wait a few close timeouts at worst (about 4.4 s
    # here), never unbounded and never closed.
    worst = max(result[2] for result in results.values())
    assert worst < 8, f"a reader waited {worst:.2f} s for an echo"
    stats = server.stats()
    assert stats["slow_clients_reset"] > 0, stats
    assert any("did not shrink for the close timeout" in line for line in server.lines)
    for client in flooders:
        client.sock.close()
