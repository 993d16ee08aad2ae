"""Operating ringgate: metrics while traffic flows, readiness during a drain, the drain itself
(1001 spread over the window, exit 0 when empty) and a restart under a steady connect load
(ringload) that refuses no connection."""

import asyncio
import json
import signal
import subprocess
import time

import pytest

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from admin import http_get, scrape
from conftest import BINARY, RINGLOAD, parse_stats


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


def final_stats(server):
    """The stats line a gateway printed as it exited on its own (after a drain)."""
    assert server.process.wait(10) == 0
    server._reader.join(5)
    finals = [parse_stats(line) for line in server.lines if parse_stats(line) is not None]
    assert finals and any(line == "ringgate: stopping" for line in server.lines), server.lines
    return finals[-1]


def test_a_restart_under_a_steady_connect_load_refuses_nothing(gateway, tmp_path):
    # ringload opens 1000 connections at 200 per second (5 s of steady upgrades); a second
    # gateway takes the listeners over 1 s in, and the first drains with 1012 over 0.5 s.
    connections, rate = 1000, 200
    control = tmp_path / "control.sock"
    old = gateway("--workers", "2", "--admin-port", "0", "--control-socket", control, "--drain-window", "0.5")
    port = old.port
    load = subprocess.Popen(
        [str(RINGLOAD), "idle", "--url", f"ws://127.0.0.1:{port}/", "--connections", str(connections),
         "--ramp", str(rate), "--duration", "0.5", "--workers", "2", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        async def held_client_sees_1012():
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                time.sleep(1.0)
                new = gateway("--workers", "2", "--admin-port", "0", "--takeover", control, "--control-socket", control)
                assert new.port == port and new.admin_port == old.admin_port
                try:
                    while True:
                        await ws.recv()
                except ConnectionClosed as closed:
                    return new, closed.rcvd.code if closed.rcvd else None

        new, code = asyncio.run(held_client_sees_1012())
        output, _ = load.communicate(timeout=90)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait(10)
    assert code == 1012
    report = json.loads(output)
    # ringload does not reconnect, so the drained connections are not held at the end of its
    # hold: it reports exactly those as lost and exits with 1.
    drained = report["server_close_codes"].get("1012", 0)
    assert load.returncode == 1, report
    assert report["problems"] == [f"{drained} of {connections} upgraded connections not held "
                                  "(no echo of the end-of-hold probe)"], report
    # No connection attempt was refused or broken: every one connected and upgraded.
    assert report["failures"] == 0 and report["connect_failures"] == {}, report
    assert report["upgraded"] == connections, report
    assert report["closed_by_server"] == 0, report
    # The old process closed each of its connections with 1012, and only those.
    assert set(report["server_close_codes"]) <= {"1012"}, report
    old_stats = final_stats(old)
    assert old_stats["handshakes_ok"] == drained + 1  # and the held client
    assert 0 < drained < connections, report  # the switch came in the middle of the ramp

    async def echo():
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send("served by the new process")
            return await ws.recv()

    assert asyncio.run(echo()) == "served by the new process"
    assert http_get(new.admin_port, "/readyz")[0] == 200
    assert control.exists()  # the new process took the control socket over for the next restart
    assert new.stop()["handshakes_ok"] == connections - drained + 1


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
    assert server.wait_for_line(
        lambda l: l == "ringgate: reloaded applied=log-level restart_needed=workers", 5)
    assert server.wait_for_line(lambda l: "take effect only after a restart" in l and "workers" in l, 5)
    server.stop()


def test_sighup_applies_new_limits_to_open_and_new_connections(gateway, tmp_path):
    config = tmp_path / "ringgate.toml"
    config.write_text("max-message-size = 4096\n")
    server = gateway("--config", config, "--workers", "1", "--tick-ms", "50")
    url = f"ws://127.0.0.1:{server.port}/"
    big = "x" * 2000

    async def closed_with(ws):
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def scenario():
        # Before: a 2000-byte message and a burst of 20 both pass.
        early = await connect(url)
        quiet = await connect(url, ping_interval=None)
        await early.send(big)
        assert await early.recv() == big
        for index in range(20):
            await early.send(f"burst {index}")
        assert [await early.recv() for _ in range(20)] == [f"burst {index}" for index in range(20)]

        config.write_text("max-message-size = 1000\nrate-limit-messages = 5\nidle-timeout = 1\nmax-connections = 2\n")
        mark = len(server.lines)
        server.process.send_signal(signal.SIGHUP)
        line = server.wait_for_line(lambda l: l.startswith("ringgate: reloaded"), 5, after=mark)
        assert line == ("ringgate: reloaded applied=max-connections,rate-limit-messages,max-message-size,idle-timeout "
                        "restart_needed="), line
        reloaded_at = time.monotonic()

        # A connection opened before the reload is held to the new message limit (1009)...
        await early.send(big)
        assert await closed_with(early) == 1009
        # ...and to the new idle timeout, though its next timer check was 10 s away (1001).
        assert await closed_with(quiet) == 1001
        assert time.monotonic() - reloaded_at < 4.0
        # A new one is held to the new rate limit, which was off at start (1008).
        flooding = await connect(url)
        for index in range(10):
            await flooding.send(f"flood {index}")
        assert await closed_with(flooding) == 1008
        server.wait_for_stats(lambda s: s["open"] == 0)

        # The connection limit fell to 2: a third connection is closed at once.
        held = [await connect(url) for _ in range(2)]
        with pytest.raises(Exception):
            extra = await connect(url, open_timeout=5)
            await extra.close()
        for ws in held:
            await ws.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["protocol_errors"] >= 1 and stats["idle_timeouts"] == 1 and stats["rate_limited"] == 1
    assert stats["refused_over_limit"] == 1
    # Only the two the clients closed themselves: a client answering the gateway's close (1009,
    # 1001, 1008 above) is counted under the gateway's reason alone.
    assert stats["closed_by_client"] == 2, stats
