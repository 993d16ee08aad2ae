#!/usr/bin/env python3
"""The publishing side of `ringload broadcast`: an application worker that accepts every
WebSocket connection, subscribes all of them to one topic, and publishes timestamped messages.

Steps, each bounded by --timeout:
  1. link to `ringgate --backend-socket PATH` and accept every OPEN at once;
  2. once --subscribers connections are open, settle, read the gateway's RssAnon (--gateway-pid),
     subscribe them all with SUBSCRIBE_MANY, and poll PRESENCE until the topic counts them all;
     settle and read RssAnon again, so the difference is what the subscriptions cost;
  3. publish --messages binary messages of --size bytes, at --rate per second (0: back to back).
     Each payload starts with the send time, CLOCK_MONOTONIC nanoseconds as a little-endian u64
     (strictly increasing, so it also names the message), then the message's index as a u64;
  4. stay linked until every connection has closed (or --linger seconds), so no connection loses
     its worker while a fan-out is still running, then print one JSON line and exit.
With --gateway-pid it also reads the gateway's CPU time (user, system, and time spent runnable
but waiting for a CPU) from just before the first publish to the first CLOSED, which comes
after ringload has every delivery: the cost of the fan-out, and how contended its core was.

The protocol client is Tests/EndToEnd/linkworker.py (written from docs/PROTOCOL.md alone).
Standard library only."""

import argparse
import json
import os
import queue
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "Tests" / "EndToEnd"))
from linkworker import (C_PUBLISH, C_SUBSCRIBE_MANY, CLOSED, OPEN, PRESENCE,  # noqa: E402
                        LinkWorker, frame, str16)


class BroadcastWorker(LinkWorker):
    """LinkWorker whose sends are serialized: accepts go out from the reader thread,
    everything else from the main thread."""

    def __init__(self, path, **options):
        self.send_lock = threading.Lock()
        self.opened = []
        self.closed_count = 0
        self.first_close = None
        self.gateway_pid = 0
        self.counts_changed = threading.Condition()
        super().__init__(path, on_open=self._accept, **options)

    def send(self, data):
        with self.send_lock:
            self.sock.sendall(data)

    def _accept(self, _worker, fields):
        self.accept(fields["conn"])
        with self.counts_changed:
            self.opened.append(fields["conn"])
            self.counts_changed.notify_all()

    def wait_until(self, predicate, timeout_s, what):
        deadline = time.monotonic() + timeout_s
        with self.counts_changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed.is_set():
                    raise SystemExit(f"broadcast_worker: gave up waiting for {what}")
                self.counts_changed.wait(min(remaining, 0.2))

    def subscribe_many(self, conns, topic):
        body = struct.pack("<I", len(conns)) + b"".join(struct.pack("<Q", c) for c in conns) + topic.encode()
        self.send(frame(C_SUBSCRIBE_MANY, body))

    def publish_binary(self, topic, payload):
        self.send(frame(C_PUBLISH, struct.pack("<BQ", 2, 0) + str16(topic) + payload))

    def presence_total(self, request, topic, timeout_s):
        self.presence(request, topic, offset=0, limit=0)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                event = self.next(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if event is None:
                raise SystemExit("broadcast_worker: the gateway closed the link")
            kind, fields = event
            if kind == PRESENCE and fields["request"] == request:
                return fields["total"]
            if kind == CLOSED:
                self._closed()
        raise SystemExit("broadcast_worker: no PRESENCE answer")

    def _closed(self):
        with self.counts_changed:
            if self.closed_count == 0:
                self.first_close = gateway_cpu(self.gateway_pid)
            self.closed_count += 1
            self.counts_changed.notify_all()

    def count_closes(self, timeout_s):
        """Consumes queued events, counting CLOSED, for at most `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                event = self.next(min(0.2, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                continue
            if event is None:
                return
            if event[0] == CLOSED:
                self._closed()
            if self.closed_count >= len(self.opened):
                return


def rss_anon_bytes(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return None


def gateway_cpu(pid):
    """(user s, system s, runnable-but-waiting s) of `pid` so far, or None."""
    if not pid:
        return None
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    waiting_ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                waiting_ns += int(schedstat.read().split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    return int(fields[11]) / ticks, int(fields[12]) / ticks, waiting_ns / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--socket", required=True, help="the gateway's --backend-socket path")
    parser.add_argument("--subscribers", type=int, required=True, help="connections to wait for")
    parser.add_argument("--messages", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0, help="messages per second; 0: back to back")
    parser.add_argument("--size", type=int, default=64, help="payload bytes (at least 16)")
    parser.add_argument("--topic", default="bench")
    parser.add_argument("--gateway-pid", type=int, default=0, help="read this process's RssAnon")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before each memory reading")
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on each wait, seconds")
    parser.add_argument("--linger", type=float, default=60.0, help="most seconds to wait for the closes")
    args = parser.parse_args()
    if args.size < 16:
        parser.error("--size must be at least 16")

    worker = BroadcastWorker(args.socket, name="broadcast-bench", timeout_s=args.timeout)
    worker.gateway_pid = args.gateway_pid
    print("broadcast_worker: connected", flush=True)
    worker.wait_until(lambda: len(worker.opened) >= args.subscribers, args.timeout,
                      f"{args.subscribers} connections")
    time.sleep(args.settle)
    anon_before = rss_anon_bytes(args.gateway_pid)

    with worker.counts_changed:
        conns = list(worker.opened)
    for start in range(0, len(conns), 4096):
        worker.subscribe_many(conns[start:start + 4096], args.topic)
    deadline = time.monotonic() + args.timeout
    request = 1
    while worker.presence_total(request, args.topic, args.timeout) < len(conns):
        if time.monotonic() > deadline:
            raise SystemExit("broadcast_worker: the topic never counted every subscriber")
        request += 1
        time.sleep(0.05)
    time.sleep(args.settle)
    anon_after = rss_anon_bytes(args.gateway_pid)
    print(f"broadcast_worker: {len(conns)} subscribed", flush=True)

    padding = bytes(args.size - 16)
    sent = []
    last_ns = 0
    cpu_before = gateway_cpu(args.gateway_pid)
    started = time.monotonic()
    for index in range(args.messages):
        if args.rate > 0:
            due = started + index / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        stamp = max(time.monotonic_ns(), last_ns + 1)
        last_ns = stamp
        worker.publish_binary(args.topic, struct.pack("<QQ", stamp, index) + padding)
        sent.append(stamp)
    print(f"broadcast_worker: {len(sent)} published", flush=True)

    worker.count_closes(args.linger)
    result = {"subscribers": len(conns), "published_ns": sent}
    if anon_before is not None and anon_after is not None:
        result.update(gateway_anon_before=anon_before, gateway_anon_after=anon_after,
                      gateway_anon_bytes_per_subscription=(anon_after - anon_before) / max(1, len(conns)))
    if cpu_before is not None and worker.first_close is not None:
        user, system, waiting = (after - before for after, before in zip(worker.first_close, cpu_before))
        result.update(fanout_gateway_user_s=user, fanout_gateway_system_s=system, fanout_gateway_waiting_s=waiting)
    print(json.dumps(result), flush=True)
    worker.close()


if __name__ == "__main__":
    main()
