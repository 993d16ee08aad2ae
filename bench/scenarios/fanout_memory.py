#!/usr/bin/env python3
"""What a fan-out costs the gateway while recipients are slow: N subscribers that do not read
yet, M published messages of S bytes, then the gateway's RssAnon growth, its send-queue
overflows, and whether every subscriber gets every message once it reads.

    fanout_memory.py RINGGATE_BINARY [--subscribers N] [--messages M] [--size S]

Prints one JSON line. Bounded: every wait has a deadline; the gateway is stopped by its PID."""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "EndToEnd"))
from linkworker import OPEN, LinkWorker  # noqa: E402
from wsraw import RawClient  # noqa: E402


def rss_anon_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--size", type=int, default=16384)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "gw.sock")
    gateway = subprocess.Popen(
        [args.binary, "--port", "0", "--workers", "1", "--no-pin", "--backend-socket", path,
         "--send-queue-limit", str(64 << 20), "--send-pool", str(64 << 20), "--slow-client", "close",
         "--max-connections", str(args.subscribers + 100)],
        stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            line = gateway.stderr.readline()
            if "listening on" in line:
                port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
        worker = LinkWorker(path, on_open=lambda w, f: (w.accept(f["conn"]), w.subscribe(f["conn"], "feed")))
        time.sleep(0.3)
        clients = []
        for _ in range(args.subscribers):
            client = RawClient(port)
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            client.handshake()
            clients.append(client)
        for _ in range(args.subscribers):
            worker.expect(OPEN, timeout_s=30)
        time.sleep(1.0)
        before = rss_anon_kb(gateway.pid)
        payload = "x" * args.size
        started = time.monotonic()
        for _ in range(args.messages):
            worker.publish("feed", payload)
        time.sleep(2.0)  # the fan-out is queued; nobody has read yet
        during = rss_anon_kb(gateway.pid)
        # Now everyone reads: count complete messages per client.
        complete = 0
        for client in clients:
            got = 0
            client.sock.settimeout(5)
            try:
                while got < args.messages:
                    fin, opcode, data = client.read_frame()
                    if opcode == 1 and len(data) == args.size:
                        got += 1
                    elif opcode == 8:
                        break
            except (socket.timeout, ConnectionError, AssertionError, OSError):
                pass
            complete += got == args.messages
        elapsed = time.monotonic() - started
        for client in clients:
            client.close()
        gateway.send_signal(signal.SIGTERM)
        _, err = gateway.communicate(timeout=30)
        final = [l for l in err.splitlines() if "send_queue_overflows=" in l][-1]
        overflows = int(final.split("send_queue_overflows=")[1].split()[0])
        print(json.dumps({
            "subscribers": args.subscribers, "messages": args.messages, "size": args.size,
            "rss_anon_growth_kb": during - before,
            "bytes_per_recipient_message": round((during - before) * 1024 / (args.subscribers * args.messages), 1),
            "subscribers_with_every_message": complete, "send_queue_overflows": overflows,
            "seconds": round(elapsed, 2),
        }))
    finally:
        if gateway.poll() is None:
            os.kill(gateway.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
