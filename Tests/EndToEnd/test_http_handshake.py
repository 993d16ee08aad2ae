"""The HTTP/1.1 upgrade over raw sockets: what is refused with which status (RFC 6455 section 4.2,
RFC 7230, RFC 7231), that each refusal ends the connection, and that odd but valid requests upgrade."""

import base64

import pytest

from wsraw import TEXT, RawClient, accept_for, new_key, upgrade_request

EOF_TIMEOUT_S = 3.0


def refused(port, request, status):
    """Send `request`; the response has `status`, then the server closes. Returns the headers."""
    with RawClient(port) as client:
        client.send(request)
        got, headers, body = client.read_response()
        assert got == status, (got, headers, body)
        assert len(body) == int(headers.get("content-length", "0"))
        assert client.wait_for_eof(EOF_TIMEOUT_S) == b""
        return headers


def test_accept_key_is_base64_sha1_of_key_and_guid(gateway):
    server = gateway()
    key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3's example
    with RawClient(server.port) as client:
        client.send(upgrade_request(server.port, key=key))
        status, headers, body = client.read_response()
        assert (status, body) == (101, b"")
        assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" == accept_for(key)
        assert headers["upgrade"].lower() == "websocket"
        assert "upgrade" in [token.strip().lower() for token in headers["connection"].split(",")]
        assert "sec-websocket-protocol" not in headers
        assert client.echo(TEXT, b"after upgrade") == (TEXT, b"after upgrade")
    stats = server.stop(until=lambda s: s["handshakes_ok"] >= 1)
    assert (stats["handshakes_ok"], stats["handshakes_rejected"]) == (1, 0)


def test_random_keys_each_get_their_own_accept(gateway):
    server = gateway()
    for _ in range(5):
        with RawClient(server.port) as client:
            client.handshake(key=new_key())  # checks the accept value


MALFORMED = {
    "garbage request line": b"GARBAGE\r\n\r\n",
    "request line without a version": b"GET /\r\nHost: x\r\n\r\n",
    "request line with extra spaces": b"GET  /  HTTP/1.1\r\nHost: x\r\n\r\n",
    "header line without a colon": b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "space before the colon": b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",  # RFC 7230 section 3.2.4
}


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_request_is_400(gateway, request_bytes):
    server = gateway()
    refused(server.port, request_bytes, 400)


def test_head_above_max_header_size_is_431(gateway):
    server = gateway("--max-header-size", "1024")
    request = upgrade_request(server.port, headers={"X-Padding": "p" * 1100})
    refused(server.port, request, 431)
    # A head of exactly the limit still upgrades.
    key = new_key()
    padding = 1024 - len(upgrade_request(server.port, key=key)) - len("X-Padding: \r\n")
    with RawClient(server.port) as client:
        request = upgrade_request(server.port, key=key, headers={"X-Padding": "p" * padding})
        assert len(request) == 1024
        client.send(request)
        status, headers, _ = client.read_response()
        assert status == 101
        assert headers["sec-websocket-accept"] == accept_for(key)
    stats = server.stop(until=lambda s: s["handshakes_ok"] >= 1)
    assert (stats["handshakes_ok"], stats["handshakes_rejected"]) == (1, 1)


def test_head_above_max_header_size_without_end_is_431(gateway):
    server = gateway("--max-header-size", "1024")
    # No blank line yet: the gateway must not wait for one once the limit is passed.
    refused(server.port, b"GET / HTTP/1.1\r\nX-Padding: " + b"p" * 1100, 431)


def test_version_8_is_426_with_version_13(gateway):
    server = gateway()
    headers = refused(server.port, upgrade_request(server.port, headers={"Sec-WebSocket-Version": "8"}), 426)
    assert headers["sec-websocket-version"] == "13"


@pytest.mark.parametrize("key", [
    None,
    "",
    "not base64!!",
    base64.b64encode(b"fifteen bytes!!").decode(),
    base64.b64encode(b"seventeen bytes!!").decode(),
    "dGhlIHNhbXBsZSBub25jZQ",  # 16 bytes, but the padding is missing
], ids=["missing", "empty", "not base64", "15 bytes", "17 bytes", "unpadded"])
def test_bad_key_is_400(gateway, key):
    server = gateway()
    if key is None:
        request = upgrade_request(server.port, omit=("Sec-WebSocket-Key",))
    else:
        request = upgrade_request(server.port, key=key)
    refused(server.port, request, 400)
    stats = server.stop(until=lambda s: s["handshakes_rejected"] >= 1)
    assert (stats["handshakes_ok"], stats["handshakes_rejected"]) == (0, 1)


def test_post_is_405(gateway):
    server = gateway()
    request = upgrade_request(server.port).replace(b"GET / ", b"POST / ", 1)
    headers = refused(server.port, request, 405)
    # RFC 7231 section 6.5.5: a 405 response MUST carry Allow.
    assert "GET" in [method.strip() for method in headers["allow"].split(",")]


def test_get_with_a_body_is_400(gateway):
    server = gateway()
    request = upgrade_request(server.port, headers={"Content-Length": "5"})
    refused(server.port, request + b"hello", 400)


def test_missing_host_is_400(gateway):
    server = gateway()
    refused(server.port, upgrade_request(server.port, omit=("Host",)), 400)  # RFC 7230 section 5.4


def test_plain_get_is_426(gateway):
    server = gateway()
    headers = refused(server.port, b"GET /chat HTTP/1.1\r\nHost: x\r\n\r\n", 426)
    assert headers["upgrade"].lower() == "websocket"


def test_healthz_is_200_ok(gateway):
    server = gateway()
    with RawClient(server.port) as client:
        client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = client.read_response()
        assert status == 200
        assert body.strip() == b"ok"
        assert client.wait_for_eof(EOF_TIMEOUT_S) == b""


def test_head_on_the_plain_routes_answers_without_a_body(gateway):
    server = gateway()
    for path, status in (("/healthz", 200), ("/", 200), ("/other", 426)):
        with RawClient(server.port) as client:
            client.send(f"HEAD {path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
            answer = client.wait_for_eof(EOF_TIMEOUT_S)
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer
        # The GET's headers, Content-Length included, and nothing after them.
        assert answer.endswith(b"\r\n\r\n") and answer.count(b"\r\n\r\n") == 1, answer
        assert b"Content-Length: 0" not in answer
    # An upgrade is a GET: HEAD with the upgrade fields is refused.
    headers = refused(server.port, upgrade_request(server.port).replace(b"GET ", b"HEAD ", 1), 405)
    assert headers.get("allow") == "GET, HEAD"


def test_disallowed_origin_is_403(gateway):
    server = gateway("--allowed-origin", "https://good.example", "--allowed-origin", "https://also.example")
    refused(server.port, upgrade_request(server.port, headers={"Origin": "https://evil.example"}), 403)
    for origin in ("https://good.example", "https://also.example"):
        with RawClient(server.port) as client:
            client.handshake(headers={"Origin": origin})


def test_a_refused_origin_cannot_hide_behind_an_allowed_one(gateway):
    server = gateway("--allowed-origin", "https://good.example")
    request = upgrade_request(server.port, headers={"Origin": "https://evil.example"})
    head, end = request.split(b"\r\n\r\n", 1)
    for extra in (b"Origin: https://good.example", b"Sec-WebSocket-Version: 13"):
        refused(server.port, head + b"\r\n" + extra + b"\r\n\r\n" + end, 400)
    stats = server.stop()
    assert stats["handshakes_rejected"] == 2 and stats["handshakes_ok"] == 0


def test_comma_separated_connection_and_lower_case_names_upgrade(gateway):
    server = gateway()
    key = new_key()
    request = (
        f"GET /any/path?query=1 HTTP/1.1\r\n"
        f"host: 127.0.0.1:{server.port}\r\n"
        f"connection: keep-alive, Upgrade\r\n"
        f"upgrade: WebSocket\r\n"
        f"sec-websocket-key: {key}\r\n"
        f"sec-websocket-version: 13\r\n"
        f"user-agent: raw\r\n\r\n"
    ).encode()
    with RawClient(server.port) as client:
        client.send(request)
        status, headers, _ = client.read_response()
        assert status == 101
        assert headers["sec-websocket-accept"] == accept_for(key)
        assert client.echo(TEXT, b"ok") == (TEXT, b"ok")


def test_optional_whitespace_around_values_is_ignored(gateway):
    server = gateway()
    key = new_key()
    request = (
        f"GET / HTTP/1.1\r\nHost:127.0.0.1\r\nUpgrade: \t websocket \t\r\nConnection:Upgrade\r\n"
        f"Sec-WebSocket-Key:   {key}  \r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    with RawClient(server.port) as client:
        client.send(request)
        status, headers, _ = client.read_response()
        assert status == 101
        assert headers["sec-websocket-accept"] == accept_for(key)


def test_request_in_one_byte_writes_upgrades(gateway):
    server = gateway()
    key = new_key()
    with RawClient(server.port) as client:
        client.send_bytewise(upgrade_request(server.port, key=key))
        status, headers, _ = client.read_response()
        assert status == 101
        assert headers["sec-websocket-accept"] == accept_for(key)
        assert client.echo(TEXT, b"bytewise") == (TEXT, b"bytewise")
