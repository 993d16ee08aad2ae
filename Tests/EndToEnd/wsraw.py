"""A minimal RFC 6455 client on plain sockets, able to send what a real client never would.

Frames are built byte by byte (`frame`), so a test can set reserved bits, skip the mask, lie about
the length or split anything anywhere. `RawClient` reads the server's HTTP response and frames and
checks what RFC 6455 requires of them (server frames unmasked, RSV bits clear).
"""

import base64
import hashlib
import os
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

SOCKET_TIMEOUT_S = 5.0


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    """Sec-WebSocket-Accept for `key`: base64(SHA-1(key + GUID)), RFC 6455 section 4.2.2."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_request(port, key=None, path="/", headers=None, omit=()):
    """A valid upgrade request; `headers` adds or replaces fields, `omit` drops them by name."""
    fields = {
        "Host": f"127.0.0.1:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": new_key() if key is None else key,
        "Sec-WebSocket-Version": "13",
    }
    fields.update(headers or {})
    lines = [f"GET {path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in fields.items() if name not in omit]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None, length=None):
    """One frame. `rsv` is the 3-bit RSV1..RSV3 field; `length` overrides the declared length."""
    if isinstance(payload, str):
        payload = payload.encode()
    declared = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if mask else 0
    if declared < 126:
        head += bytes([mask_bit | declared])
    elif declared < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", declared)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", declared)
    if not mask:
        return head + payload
    key = mask_key if mask_key is not None else os.urandom(4)
    return head + key + masked(payload, key)


def masked(payload, key):
    if not payload:
        return b""
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class RawClient:
    """One TCP connection to the gateway, with a receive buffer shared by HTTP and frame reads."""

    def __init__(self, port, timeout_s=SOCKET_TIMEOUT_S, receive_buffer=None):
        """`receive_buffer` sets SO_RCVBUF before connecting, so the window offered stays small."""
        if receive_buffer is None:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            self.sock.settimeout(timeout_s)
            self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.last_sent_at = time.monotonic()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)
        self.last_sent_at = time.monotonic()

    def send_bytewise(self, data, pause_s=0.001):
        """One send() per byte, with a pause so each byte leaves in its own segment."""
        for i in range(len(data)):
            self.sock.send(data[i:i + 1])
            time.sleep(pause_s)
        self.last_sent_at = time.monotonic()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buffer += chunk

    def _take(self, count):
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_response(self):
        """(status, {lower-case name: value}, body) of one HTTP response; body per Content-Length."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ")[:2]
        assert version == "HTTP/1.1", lines[0]
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            assert name.lower() not in headers, f"duplicate header {name}"
            headers[name.lower()] = value.strip()
        body = self._take(int(headers.get("content-length", "0")))
        return int(status), headers, body

    def handshake(self, key=None, **kwargs):
        """Send an upgrade request and check the 101; returns the response headers."""
        key = new_key() if key is None else key
        self.send(upgrade_request(self.sock.getpeername()[1], key=key, **kwargs))
        status, headers, _ = self.read_response()
        assert status == 101, (status, headers)
        assert headers["sec-websocket-accept"] == accept_for(key)
        return headers

    def send_frame(self, opcode, payload=b"", **kwargs):
        self.send(frame(opcode, payload, **kwargs))

    def read_frame(self):
        """(fin, opcode, payload) of the next server frame."""
        first, second = self._take(2)
        assert first & 0x70 == 0, "server set RSV bits: %#x" % first
        assert second & 0x80 == 0, "server frames must not be masked (RFC 6455 section 5.1)"
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._take(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._take(8))[0]
        return bool(first & 0x80), first & 0x0F, self._take(length)

    def read_message(self):
        """(opcode, payload) of the next whole data message; control frames are returned as they come."""
        fin, opcode, payload = self.read_frame()
        while not fin:
            fin, continuation, more = self.read_frame()
            assert continuation == CONT, "expected a continuation, got opcode %#x" % continuation
            payload += more
        return opcode, payload

    def read_close(self):
        """(code, reason) of the next frame, which must be a close frame."""
        fin, opcode, payload = self.read_frame()
        assert fin and opcode == CLOSE, (fin, opcode, payload[:64])
        if not payload:
            return None, b""
        return struct.unpack("!H", payload[:2])[0], payload[2:]

    def wait_for_eof(self, timeout_s=SOCKET_TIMEOUT_S):
        """Read until the server closes (EOF or reset); returns the bytes that came before it."""
        deadline = time.monotonic() + timeout_s
        received = self.buffer
        self.buffer = b""
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the server did not close within %.1f s" % timeout_s
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return received
            except socket.timeout:
                raise AssertionError("the server did not close within %.1f s" % timeout_s) from None
            if not chunk:
                return received
            received += chunk

    def echo(self, opcode, payload):
        """Send one masked message and return the echoed (opcode, payload)."""
        self.send_frame(opcode, payload)
        return self.read_message()
