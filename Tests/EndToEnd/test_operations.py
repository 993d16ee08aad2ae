"""Operating ringgate: metrics while traffic flows, readiness during a drain, the drain itself
(1001 spread over the window, exit 0 when empty) and a restart that refuses no connection."""

import asyncio
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import BINARY


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(port):
    """`name{labels}` -> value for every sample on /metrics."""
    status, text = http_get(port, "/metrics")
    assert status == 200
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_move_with_traffic(gateway):
    server = gateway("--workers", "2", "--admin-port", "0")
    assert http_get(server.admin_port, "/healthz") == (200, "ok\n")
    assert http_get(server.admin_port, "/readyz")[0] == 200
    assert http_get(server.admin_port, "/nope")[0] == 404
    before = scrape(server.admin_port)

    async def echoes():
        async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            for index in range(25):
                await ws.send(f"message {index:02d}")
                assert await ws.recv() == f"message {index:02d}"
            server.wait_for_stats(lambda s: s["messages_in"] >= 25)
            return scrape(server.admin_port)

    during = asyncio.run(echoes())
    assert during['ringgate_messages_total{direction="in"}'] - before['ringgate_messages_total{direction="in"}'] == 25
    assert during['ringgate_messages_total{direction="out"}'] == 25
    assert during['ringgate_message_bytes_total{direction="in"}'] == 25 * len("message 00")
    assert during["ringgate_connections_open"] == 1
    assert during['ringgate_handshakes_total{outcome="accepted"}'] == 1
    per_worker = [during[f'ringgate_worker_messages_total{{worker="{i}",direction="in"}}'] for i in range(2)]
    assert sum(per_worker) == 25
    assert during["ringgate_draining"] == 0 and during["ringgate_workers"] == 2
    after = server.wait_for_stats(lambda s: s["open"] == 0)
    assert after["closed_by_client"] == 1
    assert scrape(server.admin_port)['ringgate_connections_closed_total{reason="client"}'] == 1


def test_sigterm_drains_with_1001_spread_over_the_window(gateway):
    window_s = 1.5
    server = gateway("--workers", "2", "--admin-port", "0", "--drain-window", str(window_s), "--drain-timeout", "10")
    count = 24
    closes = []

    async def hold_and_watch():
        clients = [await connect(f"ws://127.0.0.1:{server.port}/") for _ in range(count)]
        for ws in clients:
            await ws.send("queued before the drain")
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)

        async def watch(ws):
            received = []
            try:
                while True:
                    received.append(await ws.recv())
            except ConnectionClosed as closed:
                closes.append((time.monotonic() - started, closed.rcvd.code if closed.rcvd else None, received))

        def readiness_once_draining():
            # The signal is handled asynchronously: ask until the answer turns (bounded).
            deadline = time.monotonic() + 3.0
            while True:
                answer = http_get(server.admin_port, "/readyz")
                if answer[0] != 200 or time.monotonic() > deadline:
                    return answer
                time.sleep(0.02)

        ready = asyncio.get_running_loop().run_in_executor(None, readiness_once_draining)
        await asyncio.gather(*(watch(ws) for ws in clients))
        return await ready

    readiness = asyncio.run(hold_and_watch())
    assert readiness[0] == 503
    assert len(closes) == count
    assert all(code == 1001 for _, code, _ in closes), closes
    assert all(received == ["queued before the drain"] for _, _, received in closes)
    moments = sorted(moment for moment, _, _ in closes)
    assert moments[-1] - moments[0] >= window_s / 3, moments  # spread, not all at once
    assert moments[-1] <= window_s + 2.0, moments
    assert server.process.wait(10) == 0
    server._reader.join(5)
    assert any("drained: no connections remain" in line for line in server.lines)
    assert any(line == "ringgate: stopping" for line in server.lines)


def test_a_restart_refuses_no_connection(gateway, tmp_path):
    control = tmp_path / "control.sock"
    old = gateway("--workers", "2", "--admin-port", "0", "--control-socket", control, "--drain-window", "0.5")
    port = old.port
    results = {"ok": 0, "refused": 0, "other": 0}
    stop = threading.Event()

    def connector():
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    answer = conn.recv(64)
                    results["ok" if answer.startswith(b"HTTP/1.1 200") else "other"] += 1
            except ConnectionRefusedError:
                results["refused"] += 1
            except OSError:
                results["other"] += 1

    threads = [threading.Thread(target=connector) for _ in range(3)]
    for thread in threads:
        thread.start()

    async def held_client_sees_1012():
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            time.sleep(0.3)
            new = gateway("--workers", "2", "--admin-port", "0", "--takeover", control, "--control-socket", control)
            assert new.port == port and new.admin_port == old.admin_port
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed as closed:
                return new, closed.rcvd.code if closed.rcvd else None

    new, code = asyncio.run(held_client_sees_1012())
    assert code == 1012
    assert old.process.wait(10) == 0
    time.sleep(0.5)  # keep connecting to the new process alone
    stop.set()
    for thread in threads:
        thread.join(10)
    assert results["refused"] == 0 and results["other"] == 0, results
    assert results["ok"] > 20, results

    async def echo():
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send("served by the new process")
            return await ws.recv()

    assert asyncio.run(echo()) == "served by the new process"
    assert http_get(new.admin_port, "/readyz")[0] == 200
    assert control.exists()  # the new process took the control socket over for the next restart
    assert new.stop()["handshakes_ok"] >= 1


def test_takeover_without_a_running_gateway_fails_cleanly(tmp_path):
    result = subprocess.run([str(BINARY), "--port", "0", "--takeover", str(tmp_path / "none.sock")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "cannot connect to the control socket" in result.stderr


def test_sighup_applies_what_it_can_and_names_the_rest(gateway, tmp_path):
    config = tmp_path / "ringgate.toml"
    config.write_text('log-level = "info"\nworkers = 1\n')
    server = gateway("--config", config)
    config.write_text('log-level = "debug"\nworkers = 2\nbogus-key = 1\n')
    server.process.send_signal(signal.SIGHUP)
    assert server.wait_for_line(lambda l: "reload refused" in l and "bogus-key" in l, 5)
    config.write_text('log-level = "debug"\nworkers = 2\n')
    server.process.send_signal(signal.SIGHUP)
    assert server.wait_for_line(lambda l: l.startswith("ringgate: reloaded") and "changed=log-level" in l, 5)
    assert server.wait_for_line(lambda l: "take effect only after a restart" in l and "workers" in l, 5)
    server.stop()
