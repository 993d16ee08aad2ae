#!/usr/bin/env python3
"""Checks that a benchmark peer echoes like ringgate's echo path, with the websockets client.

    python3 bench/peers/check_echo.py ws://127.0.0.1:8080/

Text, binary, a 70000-byte message, a fragmented message, ping and the close handshake.
Prints one line per check and a closing 'N passed, N failed' line; exits 1 on any failure.
"""

import asyncio
import os
import sys

from websockets.asyncio.client import connect


async def run(url):
    results = []
    loop = asyncio.get_running_loop()

    def record(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}")

    async with connect(url, max_size=1 << 24, compression=None) as ws:
        await ws.send("hello, peer")
        reply = await asyncio.wait_for(ws.recv(), 5)
        record("text", reply == "hello, peer", repr(reply)[:60])

        payload = os.urandom(1000)
        await ws.send(payload)
        reply = await asyncio.wait_for(ws.recv(), 5)
        record("binary", reply == payload, f"{type(reply).__name__} of {len(reply)}")

        large = os.urandom(70000)
        await ws.send(large)
        reply = await asyncio.wait_for(ws.recv(), 5)
        record("binary 70000 bytes", reply == large, f"{len(reply)} bytes back")

        large_text = "x" * 70000
        await ws.send(large_text)
        reply = await asyncio.wait_for(ws.recv(), 5)
        record("text 70000 bytes", reply == large_text, f"{len(reply)} chars back")

        await ws.send(["frag", "mented"])
        reply = await asyncio.wait_for(ws.recv(), 5)
        record("fragmented text", reply == "fragmented", repr(reply))

        pong = await ws.ping(b"are you there")
        latency = await asyncio.wait_for(pong, 5)
        record("ping", True, f"pong in {latency * 1000:.2f} ms")

        # websockets waits up to close_timeout for the server to end TCP after the handshake, so
        # a prompt return means the peer closed the connection as RFC 6455 7.1.1 asks.
        started = loop.time()
        await ws.close(code=1000, reason="done")
        elapsed = loop.time() - started
        received = ws.protocol.close_rcvd
        record("close", received is not None and received.code == 1000,
               f"peer sent {received.code if received else None}")
        record("TCP closed by peer", elapsed < ws.close_timeout / 2, f"after {elapsed * 1000:.1f} ms")

    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(asyncio.run(run(sys.argv[1])))
