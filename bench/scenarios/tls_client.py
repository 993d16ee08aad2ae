#!/usr/bin/env python3
"""Clients for bench/scenarios/tls.sh, with or without TLS, so wss:// and ws:// meet the same client.

echo: CONNECTIONS asyncio connections each send IN_FLIGHT masked frames of SIZE bytes in one write
and wait for the echoes (their byte count is known, so nothing is parsed), until SECONDS pass.
idle: opens WARM connections, reads the server's RssAnon, opens N more, waits, reads it again.
Both print one JSON line. Usage:
  tls_client.py echo PORT TLS(0/1) CA CONNECTIONS IN_FLIGHT SIZE SECONDS SERVER_PID
  tls_client.py idle PORT TLS(0/1) CA N WARM SERVER_PID
"""
import asyncio
import base64
import json
import os
import socket
import ssl
import struct
import sys
import time

UPGRADE = ("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n")


def request():
    return UPGRADE.format(base64.b64encode(os.urandom(16)).decode()).encode()


def masked_frame(size):
    head = bytes([0x82]) + (bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack("!H", size))
    return head + b"\x00\x00\x00\x00" + b"x" * size  # a zero mask leaves the payload as it is


def echo_bytes(size):
    return size + (2 if size < 126 else 4)


def context(tls, ca):
    if not tls:
        return None
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_anon(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return 0


async def echo_connection(port, ctx, in_flight, size, deadline, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                   server_hostname="localhost" if ctx else None)
    writer.write(request())
    await reader.readuntil(b"\r\n\r\n")
    batch = masked_frame(size) * in_flight
    want = echo_bytes(size) * in_flight
    while time.monotonic() < deadline:
        writer.write(batch)
        await reader.readexactly(want)
        counts[0] += in_flight
    writer.close()


async def echo(port, tls, ca, connections, in_flight, size, seconds, pid):
    ctx = context(tls, ca)
    counts = [0]
    cpu0, client0, t0 = cpu_seconds(pid), time.process_time(), time.monotonic()
    await asyncio.gather(*(echo_connection(port, ctx, in_flight, size, t0 + seconds, counts)
                           for _ in range(connections)))
    wall = time.monotonic() - t0
    print(json.dumps({
        "messages_per_second": counts[0] / wall, "mib_per_second": counts[0] * size / wall / 2**20,
        "server_cpu_percent": 100 * (cpu_seconds(pid) - cpu0) / wall,
        "client_cpu_percent": 100 * (time.process_time() - client0) / wall,
    }))


def open_upgraded(port, ctx):
    sock = socket.create_connection(("127.0.0.1", port))
    if ctx:
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    sock.sendall(request())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer[:40]
    return sock


def idle(port, tls, ca, n, warm, pid):
    ctx = context(tls, ca)
    held = [open_upgraded(port, ctx) for _ in range(warm)]
    time.sleep(1)
    before = rss_anon(pid)
    t0 = time.monotonic()
    held += [open_upgraded(port, ctx) for _ in range(n)]
    ramp = time.monotonic() - t0
    time.sleep(2)
    after = rss_anon(pid)
    print(json.dumps({"connections": n, "ramp_seconds": ramp, "server_rss_anon_before": before,
                      "server_rss_anon_after": after, "bytes_per_connection": (after - before) / n}))
    for sock in held:
        sock.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "echo":
        port, tls, ca, conns, in_flight, size, seconds, pid = args
        asyncio.run(echo(int(port), tls == "1", ca, int(conns), int(in_flight), int(size), float(seconds), int(pid)))
    else:
        port, tls, ca, n, warm, pid = args
        idle(int(port), tls == "1", ca, int(n), int(warm), int(pid))
