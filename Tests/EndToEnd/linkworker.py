"""A minimal application worker speaking docs/PROTOCOL.md over raw sockets, for tests of the
gateway's side of the link. It is written from the document alone, independently of the SDKs,
so a test using it checks the gateway against the contract, not against shared code."""

import queue
import socket
import struct
import threading
import time

HELLO, OPEN, MESSAGE, CLOSED, FLOW, GAP, PRESENCE, ERROR, DRAINING, SUBSCRIBED, UNSUBSCRIBED = range(1, 12)
(C_HELLO, C_ACCEPT, C_REJECT, C_SEND, C_CLOSE, C_SUBSCRIBE, C_UNSUBSCRIBE, C_PUBLISH, C_BROADCAST,
 C_SEND_MANY, C_SUBSCRIBE_MANY, C_PRESENCE, C_TOPIC) = range(0x81, 0x8E)


def frame(kind, body=b""):
    return struct.pack("<IB", len(body) + 1, kind) + body


def str16(data):
    data = data.encode() if isinstance(data, str) else data
    return struct.pack("<H", len(data)) + data


class Reader:
    def __init__(self, body):
        self.body, self.at = body, 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.body, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def str16(self):
        n = self.take("H")
        data = self.body[self.at:self.at + n]
        self.at += n
        return data

    def rest(self):
        data = self.body[self.at:]
        self.at = len(self.body)
        return data


def decode(kind, body):
    """(kind, dict of fields) for one event."""
    r = Reader(body)
    if kind == HELLO:
        version, _flags, max_frame, link = r.take("HHII")
        return {"version": version, "max_frame": max_frame, "link": link, "gateway": r.str16().decode()}
    if kind == OPEN:
        conn, flags = r.take("QB")
        remote, path, query, protocols = r.str16(), r.str16(), r.str16(), r.str16()
        headers = {}
        for _ in range(r.take("H")):
            name = r.str16().decode()
            headers[name] = r.str16().decode()
        return {"conn": conn, "flags": flags, "remote": remote.decode(), "path": path.decode(),
                "query": query.decode(), "protocols": protocols.decode(), "headers": headers}
    if kind == MESSAGE:
        conn, payload_kind = r.take("QB")
        return {"conn": conn, "kind": payload_kind, "payload": r.rest()}
    if kind == CLOSED:
        conn, code = r.take("QH")
        return {"conn": conn, "code": code, "reason": r.rest()}
    if kind == FLOW:
        conn, state = r.take("QB")
        return {"conn": conn, "slow": state == 1}
    if kind == GAP:
        conn, since, evicted = r.take("QQQ")
        return {"conn": conn, "since": since, "evicted": evicted, "topic": r.str16().decode()}
    if kind == PRESENCE:
        request, total, offset, n = r.take("IIII")
        ids = [r.take("Q") for _ in range(n)]
        return {"request": request, "total": total, "offset": offset, "ids": ids, "topic": r.rest().decode()}
    if kind == ERROR:
        return {"code": r.take("H"), "message": r.rest().decode()}
    if kind in (SUBSCRIBED, UNSUBSCRIBED):
        return {"conn": r.take("Q"), "topic": r.rest().decode()}
    return {"raw": body}


class LinkWorker:
    """Connects, exchanges HELLO, and collects events on a thread; commands are sent at once."""

    def __init__(self, path, name="raw", hello=True, timeout_s=10.0, on_open=None):
        """`on_open(worker, fields)` runs on the reader thread for each OPEN (e.g. to accept at once);
        the OPEN is still queued as an event."""
        self.on_open = on_open
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.events = queue.Queue()
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.hello = self.expect(HELLO)
        if hello:
            self.send(frame(C_HELLO, struct.pack("<H", 1) + str16(name)))

    def _read(self):
        buffer = b""
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                self.closed.set()
                self.events.put(None)
                return
            buffer += data
            while len(buffer) >= 5:
                length, kind = struct.unpack_from("<IB", buffer)
                if len(buffer) < 4 + length:
                    break
                body = buffer[5:4 + length]
                buffer = buffer[4 + length:]
                fields = decode(kind, body)
                if kind == OPEN and self.on_open is not None:
                    self.on_open(self, fields)
                self.events.put((kind, fields))

    def send(self, data):
        self.sock.sendall(data)

    def drain(self, kind):
        """All queued events of `kind` (others are dropped)."""
        found = []
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return found
            if event is not None and event[0] == kind:
                found.append(event[1])

    def next(self, timeout_s=10.0):
        """The next event as (kind, fields), or None once the gateway closed the link."""
        return self.events.get(timeout=timeout_s)

    def expect(self, kind, timeout_s=10.0, skip=()):
        """The next event of `kind`, skipping kinds in `skip`; anything else fails."""
        while True:
            event = self.next(timeout_s)
            assert event is not None, f"link closed while waiting for event {kind}"
            if event[0] == kind:
                return event[1]
            assert event[0] in skip, f"expected event {kind}, got {event}"

    # Commands.
    def accept(self, conn, subprotocol=""):
        self.send(frame(C_ACCEPT, struct.pack("<Q", conn) + str16(subprotocol)))

    def reject(self, conn, status, body=b""):
        self.send(frame(C_REJECT, struct.pack("<QH", conn, status) + body))

    def send_text(self, conn, text):
        self.send(frame(C_SEND, struct.pack("<QB", conn, 1) + text.encode()))

    def close_conn(self, conn, code=1000, reason=b""):
        self.send(frame(C_CLOSE, struct.pack("<QH", conn, code) + reason))

    def subscribe(self, conn, topic, since=None):
        self.send(frame(C_SUBSCRIBE, struct.pack("<QBQ", conn, 1 if since is not None else 0, since or 0) + topic.encode()))

    def unsubscribe(self, conn, topic):
        self.send(frame(C_UNSUBSCRIBE, struct.pack("<Q", conn) + topic.encode()))

    def publish(self, topic, text, seq=0):
        self.send(frame(C_PUBLISH, struct.pack("<BQ", 1, seq) + str16(topic) + text.encode()))

    def broadcast(self, text):
        self.send(frame(C_BROADCAST, struct.pack("<B", 1) + text.encode()))

    def presence(self, request, topic, offset=0, limit=1000):
        self.send(frame(C_PRESENCE, struct.pack("<III", request, offset, limit) + topic.encode()))

    def configure_topic(self, topic, count, age_ms=0):
        self.send(frame(C_TOPIC, struct.pack("<II", count, age_ms) + topic.encode()))

    def close(self):
        # shutdown first: while the reader thread sits in recv, close alone sends no FIN.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
