"""ringload's counts, cross-checked: the gateway's own counters must agree with what ringload
reports, and an independent client (Python websockets) run the same way must move the gateway's
counters by the same amounts, so neither side can be miscounting alone."""

import asyncio
import json
import os
import subprocess
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent.parent
RINGLOAD = Path(os.environ.get("RINGLOAD_BINARY", ROOT / ".build" / "debug" / "ringload"))


def ringload(*args, timeout=90, exit_status=0):
    result = subprocess.run([str(RINGLOAD), *args, "--json"], capture_output=True, timeout=timeout, text=True)
    assert result.returncode == exit_status, result.stdout + result.stderr
    report = json.loads(result.stdout)
    # Exit status 1 says exactly that some connection was lost; the report says which.
    assert bool(report["problems"]) == (exit_status == 1), report
    return report


def test_echo_counts_match_the_gateway(gateway):
    server = gateway("--workers", "2")
    report = ringload("echo", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "20",
                      "--in-flight", "4", "--message-size", "64", "--duration", "1", "--workers", "2")
    assert report["upgraded"] == 20 and report["failures"] == 0
    assert report["messages_sent"] > 0
    # Every message ringload counted as sent was echoed back before it closed.
    assert report["messages_received"] == report["messages_sent"]
    # And every connection answered its end-of-hold probe (8 bytes each), so all 20 were held.
    assert report["held"] == 20 and report["probes_sent"] == 20
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["handshakes_ok"] == 20
    assert stats["messages_in"] == report["messages_sent"] + report["probes_sent"]
    assert stats["messages_out"] == report["messages_received"] + report["held"]
    assert stats["bytes_in"] == 64 * report["messages_sent"] + 8 * report["probes_sent"]
    assert report["latency_us"]["p50"] > 0


def test_echo_messages_larger_than_a_send_chunk_are_sent(gateway):
    """A 40 KiB echo frame does not fit one of ringload's send chunks: it goes out copied across
    chunks, and the gateway's counters see every byte (it once sent nothing and said nothing)."""
    server = gateway("--workers", "1", "--max-message-size", "65536")
    size = 40_000
    report = ringload("echo", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "4",
                      "--in-flight", "2", "--message-size", str(size), "--duration", "1", "--workers", "1")
    assert report["messages_sent"] > 10 and report["messages_received"] == report["messages_sent"]
    assert not any("send pool" in flag for flag in report["flags"]), report["flags"]
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["bytes_in"] == size * report["messages_sent"] + 8 * report["probes_sent"]


def test_an_independent_client_moves_the_counters_alike(gateway):
    server = gateway("--workers", "2")
    connections, per_connection, size = 20, 25, 64

    async def one(index):
        async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            for n in range(per_connection):
                payload = bytes([index, n]) * (size // 2)
                await ws.send(payload)
                assert await ws.recv() == payload

    async def scenario():
        await asyncio.gather(*(one(i) for i in range(connections)))

    asyncio.run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["handshakes_ok"] == connections
    assert stats["messages_in"] == connections * per_connection
    assert stats["messages_out"] == connections * per_connection
    assert stats["bytes_in"] == connections * per_connection * size


def test_idle_holds_connections_and_answers_pings(gateway):
    server = gateway("--workers", "2", "--ping-interval", "0.3", "--pong-timeout", "0.5", "--tick-ms", "50")
    report = ringload("idle", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "300",
                      "--duration", "2", "--workers", "2", "--server-pid", str(server.process.pid))
    assert report["upgraded"] == 300 and report["failures"] == 0
    assert report["open_at_end"] == 300
    assert report["closed_by_server"] == 0
    assert report["pings_answered"] >= 300  # every connection was pinged at least once and answered
    assert report["server_rss_bytes"] > 0
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["pong_timeouts"] == 0
    assert stats["pongs_received"] == report["pings_answered"]


def test_trickle_delivers_every_message(gateway):
    server = gateway("--workers", "2")
    report = ringload("trickle", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "200",
                      "--trickle-min", "0.05", "--trickle-max", "0.2", "--duration", "2", "--workers", "2")
    assert report["upgraded"] == 200
    assert report["messages_sent"] > 1000
    assert report["messages_received"] == report["messages_sent"]
    assert report["held"] == 200
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["messages_in"] == report["messages_sent"] + report["probes_sent"]


def test_a_fast_ramp_upgrades_every_connection(gateway):
    # Thousands of handshakes racing the workers' quiet-tick trimming of buffers, on both
    # sides: every response must arrive intact.
    server = gateway("--workers", "2", "--max-connections", "6000")
    report = ringload("idle", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "5000",
                      "--duration", "1", "--workers", "2", "--ramp", "50000")
    assert report["failures"] == 0, report
    assert report["upgraded"] == 5000


def test_a_slow_ramp_keeps_its_rate(gateway):
    # 30 connections at 20 per second over two rings: half a connection per tick and ring,
    # which must not round up to one per tick (that ramp would end in 0.15 s).
    server = gateway("--workers", "2")
    report = ringload("idle", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "30",
                      "--duration", "0.2", "--workers", "2", "--ramp", "20")
    assert report["upgraded"] == 30 and report["failures"] == 0
    assert 1.2 <= report["ramp_seconds"] <= 5, report


def test_a_ramp_above_one_connection_per_tick_keeps_its_rate(gateway):
    # 450 connections at 300 per second over two rings: 1.5 connections per 10 ms tick and ring,
    # paced from the clock, so the ramp takes 1.5 s (a pace that dropped the half would take 2.25).
    server = gateway("--workers", "2")
    report = ringload("idle", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "450",
                      "--duration", "0.2", "--workers", "2", "--ramp", "300")
    assert report["upgraded"] == 450 and report["failures"] == 0
    assert 1.3 <= report["ramp_seconds"] <= 1.95, report


def test_close_frames_from_the_server_are_counted_by_code(gateway):
    server = gateway("--workers", "2", "--idle-timeout", "0.5", "--ping-interval", "0.2", "--tick-ms", "50")
    report = ringload("idle", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "20",
                      "--duration", "1.5", "--workers", "2", exit_status=1)
    assert report["upgraded"] == 20 and report["failures"] == 0
    assert report["server_close_codes"] == {"1001": 20}  # idle timeout: Going Away
    assert report["closed_by_server"] == 0 and report["open_at_end"] == 0
    # Upgraded but not held: counted, said in words, and the exit status is 1.
    assert report["held"] == 0 and report["not_upgraded"] == 0
    assert report["problems"] == ["20 of 20 upgraded connections not held (no echo of the end-of-hold probe)"]
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["idle_timeouts"] == 20


def test_connections_that_never_upgrade_fail_the_run(gateway):
    # A port nobody listens on: every connect is refused, each is counted as not upgraded, and
    # the run fails instead of reporting a clean table.
    server = gateway("--workers", "1")
    port = server.port
    server.stop(until=lambda s: s["open"] == 0)
    report = ringload("idle", "--url", f"ws://127.0.0.1:{port}/", "--connections", "10",
                      "--duration", "0.2", "--workers", "1", exit_status=1)
    assert report["attempted"] == 10 and report["upgraded"] == 0 and report["not_upgraded"] == 10
    assert report["connect_failures"] == {"111": 10}  # ECONNREFUSED, from the connect chain
    assert report["problems"] == ["10 of 10 connections not upgraded"]


def test_an_upgrade_answer_with_a_wrong_accept_value_is_refused():
    # A server that answers every request with one fixed 101 (the accept value of another key)
    # is not a WebSocket server: ringload checks each answer against the key it sent.
    import socket
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    answer = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    held = []

    def serve():
        for _ in range(4):
            conn, _ = listener.accept()
            conn.recv(4096)
            conn.sendall(answer)
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        report = ringload("idle", "--url", f"ws://127.0.0.1:{port}/", "--connections", "4",
                          "--duration", "0.2", "--workers", "1", exit_status=1)
    finally:
        thread.join(timeout=10)
        for conn in held:
            conn.close()
        listener.close()
    assert report["handshake_failures"] == 4 and report["upgraded"] == 0


def test_an_unpaced_ramp_bounded_by_pending_upgrades_upgrades_every_connection(gateway):
    # No pace at all: only --max-pending holds connects back, so the listen backlog never
    # overflows and every connection upgrades without a SYN retry.
    server = gateway("--workers", "1", "--max-connections", "4000")
    report = ringload("idle", "--url", f"ws://127.0.0.1:{server.port}/", "--connections", "3000",
                      "--duration", "0.5", "--workers", "2", "--ramp", "1000000000", "--max-pending", "32",
                      "--server-pid", str(server.process.pid))
    assert report["failures"] == 0, report
    assert report["upgraded"] == 3000
    assert report["upgrades_per_second"] > 0
    assert "server_ramp_cpu_percent" in report
