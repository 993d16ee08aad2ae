"""wss:// end to end: clients written by others (Python's ssl and websockets, `openssl s_client`, Node's
WebSocket) against the gateway's TLS listener, with certificates this file makes with the `openssl` CLI.

Covered: echo over TLS, ALPN, SNI selection, session resumption by ticket, certificate reload on
SIGHUP (same files, or paths changed in the config file), garbage and truncated handshakes (closed,
counted, logged, others unaffected), start-up errors that name the file at fault, TLS series on
/metrics, and a zero-downtime restart that hands the wss:// listeners over.
"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import BINARY
from test_node_websocket import EXPECTED, SCRIPT, node  # noqa: F401 (fixture)
from wsraw import RawClient, frame

WSS = re.compile(r"ringgate: listening for wss on (\S+):(\d+)")
TIMEOUT_S = 5.0


def run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=30)


def leaf(directory, name, *dns):
    """A P-256 key and a certificate for `dns` signed by the test CA; returns (cert, key) paths."""
    ext = directory / f"{name}.ext"
    alt = ",".join([f"DNS:{d}" for d in dns] + ["IP:127.0.0.1"])
    ext.write_text(f"subjectAltName={alt}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                   "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)
    run("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name, cwd=directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    directory = tmp_path_factory.mktemp("certs")
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=RingGate Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory)
    return {
        "dir": directory,
        "ca": directory / "ca.pem",
        "main": leaf(directory, "main", "localhost"),
        "a": leaf(directory, "a.test", "a.test"),
        "b": leaf(directory, "b.test", "b.test"),
        "next": leaf(directory, "next", "localhost"),
    }


def start(gateway, certs, *extra, cert=None, key=None):
    """A gateway with wss:// on a free port; returns (gateway, tls port)."""
    cert = cert or certs["main"][0]
    key = key or certs["main"][1]
    server = gateway("--tls-port", "0", "--tls-cert", cert, "--tls-key", key, *extra)
    line = server.wait_for_line(lambda l: WSS.search(l), TIMEOUT_S)
    assert line, "no wss listening line:\n" + "\n".join(server.lines)
    return server, int(WSS.search(line).group(2))


def client_context(certs):
    context = ssl.create_default_context(cafile=str(certs["ca"]))
    context.set_alpn_protocols(["http/1.1"])
    return context


class TLSClient(RawClient):
    """RawClient over TLS: same HTTP and frame helpers, on an SSL socket."""

    def __init__(self, port, context, server_hostname="localhost", session=None):
        self.buffer = b""
        self.last_sent_at = time.monotonic()
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.sock = context.wrap_socket(raw, server_hostname=server_hostname, session=session)


def peer_common_name(tls_socket):
    subject = dict(item[0] for item in tls_socket.getpeercert()["subject"])
    return subject["commonName"]


def echo_once(ws, message):
    ws.send(message)
    assert ws.recv(timeout=TIMEOUT_S) == message


def test_python_websockets_echo_over_tls(gateway, certs):
    server, port = start(gateway, certs)
    with connect(f"wss://localhost:{port}/", ssl=client_context(certs), open_timeout=TIMEOUT_S) as ws:
        echo_once(ws, "hello over tls")
        echo_once(ws, b"\x00\xff" * 40000)  # many records each way
        echo_once(ws, "\u00e9" * 20000)
    # Plain ws:// still works beside it.
    with connect(f"ws://127.0.0.1:{server.port}/", open_timeout=TIMEOUT_S) as ws:
        echo_once(ws, "plain")
    stats = server.stop(until=lambda s: s["closed_by_client"] >= 2)
    assert stats["tls_handshakes_full"] == 1
    assert stats["tls_handshake_failures"] == 0 and stats["tls_errors"] == 0
    assert stats["messages_in"] == stats["messages_out"] == 4


def test_alpn_and_minimum_version(gateway, certs):
    server, port = start(gateway, certs, "--tls-min-version", "1.3")
    with TLSClient(port, client_context(certs)) as client:
        assert client.sock.selected_alpn_protocol() == "http/1.1"
        assert client.sock.version() == "TLSv1.3"
        client.handshake()
    tls12_only = client_context(certs)
    tls12_only.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        TLSClient(port, tls12_only)
    server.stop(until=lambda s: s["tls_handshake_failures"] >= 1)


def test_openssl_s_client_and_session_resumption(gateway, certs, tmp_path):
    server, port = start(gateway, certs)
    session = tmp_path / "session.pem"
    common = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
              "-CAfile", str(certs["ca"]), "-alpn", "http/1.1", "-tls1_2"]
    first = subprocess.run([*common, "-sess_out", str(session)], input=b"", capture_output=True, timeout=15)
    out = first.stdout.decode()
    assert "Verify return code: 0 (ok)" in out, out
    assert "ALPN protocol: http/1.1" in out, out
    assert "New, TLSv1.2" in out, out
    second = subprocess.run([*common, "-sess_in", str(session)], input=b"", capture_output=True, timeout=15)
    assert "Reused, TLSv1.2" in second.stdout.decode(), second.stdout.decode()

    # TLS 1.3 with Python: the ticket arrives after the handshake, so read the 101 first.
    context = client_context(certs)
    with TLSClient(port, context) as client:
        client.handshake()
        ticket = client.sock.session
        assert not client.sock.session_reused
    with TLSClient(port, context, session=ticket) as client:
        assert client.sock.session_reused
        assert client.sock.version() == "TLSv1.3"
        client.handshake()
    stats = server.stop(until=lambda s: s["tls_handshakes_resumed"] >= 2)
    assert stats["tls_handshakes_full"] == 2


def test_sni_chooses_the_certificate(gateway, certs):
    a_cert, a_key = certs["a"]
    b_cert, b_key = certs["b"]
    server, port = start(gateway, certs, "--tls-sni-cert", f"a.test={a_cert},{a_key}",
                         "--tls-sni-cert", f"*.test={b_cert},{b_key}")
    context = client_context(certs)
    context.check_hostname = False  # *.test matches b.test's certificate only by our SNI table
    seen = {}
    for name in ["a.test", "b.test", "localhost", "other.test"]:
        with TLSClient(port, context, server_hostname=name) as client:
            seen[name] = peer_common_name(client.sock)
            client.handshake()
    assert seen == {"a.test": "a.test", "b.test": "b.test", "localhost": "main", "other.test": "b.test"}
    server.stop(until=lambda s: s["tls_handshakes_full"] >= 4)


def test_sighup_reloads_certificates_and_keeps_open_connections(gateway, certs, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(certs["main"][0], cert)
    shutil.copy(certs["main"][1], key)
    server, port = start(gateway, certs, cert=cert, key=key)
    context = client_context(certs)
    with connect(f"wss://localhost:{port}/", ssl=context, open_timeout=TIMEOUT_S) as old:
        echo_once(old, "before")
        assert peer_common_name(old.socket) == "main"
        shutil.copy(certs["next"][0], cert)
        shutil.copy(certs["next"][1], key)
        mark = len(server.lines)
        server.process.send_signal(signal.SIGHUP)
        assert server.wait_for_line(lambda l: "TLS certificates reloaded" in l, TIMEOUT_S, after=mark)
        # Workers swap on their own thread; a connection made right after may still race it.
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            with TLSClient(port, context) as fresh:
                name = peer_common_name(fresh.sock)
                fresh.handshake()
            if name == "next" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert name == "next"
        echo_once(old, "after")  # the old connection keeps its session and certificate

    # A broken file on reload keeps the running certificates.
    key.write_text("not a key\n")
    mark = len(server.lines)
    server.process.send_signal(signal.SIGHUP)
    line = server.wait_for_line(lambda l: "TLS reload failed" in l, TIMEOUT_S, after=mark)
    assert line and str(key) in line, line
    with TLSClient(port, context) as fresh:
        assert peer_common_name(fresh.sock) == "next"
    server.stop()


def test_garbage_and_truncated_handshakes_are_closed_and_counted(gateway, certs):
    server, port = start(gateway, certs, "--handshake-timeout", "1")
    context = client_context(certs)
    with connect(f"wss://localhost:{port}/", ssl=context, open_timeout=TIMEOUT_S) as good:
        echo_once(good, "first")
        garbage = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        garbage.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(64))
        plain_http = garbage.recv(4096)  # an alert, or nothing, then EOF
        assert plain_http == b"" or plain_http[0] == 0x15, plain_http
        assert garbage.recv(4096) == b""
        garbage.close()
        # The first bytes of a ClientHello, then silence: the handshake timer cuts it.
        stalled = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        stalled.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(20))
        started = time.monotonic()
        assert stalled.recv(4096) == b""
        assert time.monotonic() - started < 4.0
        stalled.close()
        # Random bytes and an instant close.
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as junk:
                junk.sendall(os.urandom(300))
        echo_once(good, "still here")
    stats = server.stop(until=lambda s: s["tls_handshake_failures"] >= 7 and s["open"] == 0)
    assert stats["tls_handshakes_full"] == 1
    assert stats["messages_in"] == 2
    assert any("TLS handshake failed" in l for l in server.lines)
    assert any("ended before it completed" in l for l in server.lines)


def test_node_websocket_over_tls(gateway, certs, node):  # noqa: F811 (fixture)
    server, port = start(gateway, certs)
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=str(certs["ca"]))
    done = subprocess.run([*node, str(SCRIPT), f"wss://localhost:{port}/", "1000"], capture_output=True,
                          text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    assert [(e["name"], e["bytes"], e["equal"]) for e in report["echoes"]] == [
        (name, len(data), True) for name, _, data in EXPECTED
    ]
    assert report["close"]["code"] == 1000
    server.stop(until=lambda s: s["closed_by_client"] >= 1)


def start_error(*args):
    done = subprocess.run([str(BINARY), "--port", "0", "--no-pin", *map(str, args)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode != 0, done.stderr
    return done.stderr


def test_wrong_configuration_names_the_file(certs, tmp_path):
    cert, key = certs["main"]
    missing = tmp_path / "missing.pem"
    assert f"'{missing}'" in start_error("--tls-port", 0, "--tls-cert", missing, "--tls-key", key)
    assert f"'{missing}'" in start_error("--tls-port", 0, "--tls-cert", cert, "--tls-key", missing)
    mismatch = start_error("--tls-port", 0, "--tls-cert", cert, "--tls-key", certs["a"][1])
    assert "does not match" in mismatch and str(cert) in mismatch, mismatch
    not_pem = tmp_path / "empty.pem"
    not_pem.write_text("hello\n")
    assert str(not_pem) in start_error("--tls-port", 0, "--tls-cert", not_pem, "--tls-key", key)
    assert "needs --tls-cert" in start_error("--tls-port", 0)
    assert "--tls-sni-cert" in start_error("--tls-port", 0, "--tls-cert", cert, "--tls-key", key,
                                           "--tls-sni-cert", "nocomma")


def test_no_plain_serves_only_wss(certs):
    cert, key = certs["main"]
    process = subprocess.Popen([str(BINARY), "--port", "0", "--no-pin", "--no-plain", "--tls-port", "0",
                                "--tls-cert", str(cert), "--tls-key", str(key)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for _ in range(10):
            line = process.stderr.readline()
            if WSS.search(line):
                port = int(WSS.search(line).group(2))
            if "listening on 127.0.0.1:-" in line:
                break
        assert port, "no wss line"
        with TLSClient(port, ssl.create_default_context(cafile=str(certs["ca"]))) as client:
            client.handshake()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def test_metrics_count_tls_handshakes_by_kind(gateway, certs):
    server, port = start(gateway, certs, "--admin-port", "0")
    context = client_context(certs)
    with TLSClient(port, context) as client:
        client.handshake()
        ticket = client.sock.session
    with TLSClient(port, context, session=ticket) as client:
        assert client.sock.session_reused
        client.handshake()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as junk:
        junk.sendall(os.urandom(300))
    server.wait_for_stats(lambda s: s["tls_handshakes_resumed"] >= 1 and s["tls_handshake_failures"] >= 1)
    samples = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
    assert samples['ringgate_tls_handshakes_total{kind="full"}'] == 1
    assert samples['ringgate_tls_handshakes_total{kind="resumed"}'] == 1
    assert samples["ringgate_tls_handshake_failures_total"] >= 1
    assert samples["ringgate_tls_errors_total"] == 0
    server.stop()


def test_sighup_applies_certificate_paths_changed_in_the_file(gateway, certs, tmp_path):
    config = tmp_path / "ringgate.toml"
    cert, key = certs["main"]
    config.write_text(f'tls-port = 0\ntls-cert = "{cert}"\ntls-key = "{key}"\n')
    server = gateway("--config", config)
    port = int(WSS.search(server.wait_for_line(lambda l: WSS.search(l), TIMEOUT_S)).group(2))
    context = client_context(certs)
    with TLSClient(port, context) as client:
        assert peer_common_name(client.sock) == "main"
    cert, key = certs["next"]
    config.write_text(f'tls-port = 0\ntls-cert = "{cert}"\ntls-key = "{key}"\n')
    mark = len(server.lines)
    server.process.send_signal(signal.SIGHUP)
    assert server.wait_for_line(lambda l: "TLS certificates reloaded" in l and str(cert) in l, TIMEOUT_S, after=mark)
    line = server.wait_for_line(lambda l: l.startswith("ringgate: reloaded"), TIMEOUT_S, after=mark)
    assert "tls-cert" in line and "tls-key" in line, line
    assert not server.wait_for_line(lambda l: "only after a restart" in l, 0.2, after=mark)
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        with TLSClient(port, context) as client:
            name = peer_common_name(client.sock)
        if name == "next" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert name == "next"
    server.stop()


def test_a_restart_hands_over_the_wss_listeners(gateway, certs, tmp_path):
    control = tmp_path / "control.sock"
    old, tls_port = start(gateway, certs, "--workers", "2", "--control-socket", control, "--drain-window", "0.5")
    context = client_context(certs)
    results = {"ok": 0, "failed": []}
    stop = threading.Event()

    def connector():
        while not stop.is_set():
            try:
                with TLSClient(tls_port, context) as client:
                    client.handshake()
                results["ok"] += 1
            except (OSError, AssertionError) as error:
                results["failed"].append(repr(error))

    threads = [threading.Thread(target=connector) for _ in range(2)]
    for thread in threads:
        thread.start()
    held = connect(f"wss://localhost:{tls_port}/", ssl=context, open_timeout=TIMEOUT_S).__enter__()
    echo_once(held, "on the old process")
    time.sleep(0.3)
    new, new_tls_port = start(gateway, certs, "--workers", "2", "--takeover", control, "--control-socket", control)
    assert new_tls_port == tls_port and new.port == old.port
    assert any("took over from the running gateway" in l for l in new.lines)
    with pytest.raises(ConnectionClosed) as closed:
        held.recv(timeout=TIMEOUT_S)  # the old process drains its wss:// client over TLS
    assert closed.value.rcvd and closed.value.rcvd.code == 1012
    assert old.process.wait(10) == 0
    time.sleep(0.5)  # keep connecting to the new process alone
    stop.set()
    for thread in threads:
        thread.join(10)
    assert results["failed"] == [] and results["ok"] > 5, results
    with connect(f"wss://localhost:{tls_port}/", ssl=context, open_timeout=TIMEOUT_S) as ws:
        echo_once(ws, "served by the new process")
    assert new.stop()["tls_handshakes_full"] >= 1


def test_a_takeover_without_wss_refuses_the_tls_listeners(gateway, certs, tmp_path):
    control = tmp_path / "control.sock"
    old, tls_port = start(gateway, certs, "--workers", "1", "--control-socket", control)
    done = subprocess.run([str(BINARY), "--port", "0", "--no-pin", "--workers", "1", "--takeover", str(control)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stderr
    assert "does not serve wss://" in done.stderr, done.stderr
    # The running gateway never saw "ready": it keeps serving both schemes.
    with connect(f"wss://localhost:{tls_port}/", ssl=client_context(certs), open_timeout=TIMEOUT_S) as ws:
        echo_once(ws, "still the old process")
    assert old.stop()["tls_handshakes_full"] >= 1


def test_a_publish_reaches_wss_and_ws_subscribers_alike(gateway, certs, tmp_path):
    """Fan-out queues shared frames by reference on plain connections; a TLS connection must
    get its own encrypted copy instead."""
    from linkworker import OPEN, LinkWorker
    path = str(tmp_path / "gw.sock")
    server, port = start(gateway, certs, "--workers", "1", "--backend-socket", path)
    before = len(server.lines)
    worker = LinkWorker(path, on_open=lambda w, f: (w.accept(f["conn"]), w.subscribe(f["conn"], "news")))
    assert server.wait_for_line(lambda l: "joined as link" in l, TIMEOUT_S, after=before)
    with connect(f"wss://localhost:{port}/", ssl=client_context(certs), open_timeout=TIMEOUT_S) as secure, \
         connect(f"ws://127.0.0.1:{server.port}/", open_timeout=TIMEOUT_S) as plain:
        worker.expect(OPEN)
        worker.expect(OPEN)
        time.sleep(0.2)
        big = "y" * 30000  # several TLS records
        for text in ("first", big, "third"):
            worker.publish("news", text)
        for ws in (secure, plain):
            assert [ws.recv(timeout=TIMEOUT_S) for _ in range(3)] == ["first", big, "third"]
    worker.close()


def test_slow_client_drop_on_wss_drops_the_new_message_and_never_cuts_a_record(gateway, certs):
    # A wss:// send queue holds encrypted records, which cannot be cut without breaking the TLS
    # stream: under --slow-client drop the new message is dropped instead of the oldest.
    server, port = start(gateway, certs, "--workers", "1", "--slow-client", "drop", "--send-queue-limit", str(64 << 10))
    count = 3000
    with TLSClient(port, client_context(certs)) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.handshake()
        client.send(b"".join(frame(0x1, b"%06d" % seq + b"z" * 1018) for seq in range(count)))
        stats = server.wait_for_stats(lambda s: s["messages_in"] == count and s["dropped_newest"] > 0, timeout_s=30)
        assert stats["messages_in"] == count and stats["dropped_newest"] > 0, stats
        assert stats["dropped_oldest"] == 0
        seqs = []
        for _ in range(count - stats["dropped_newest"]):
            opcode, data = client.read_message()
            assert opcode == 0x1 and data[6:] == b"z" * 1018
            seqs.append(int(data[:6]))
        assert seqs == sorted(set(seqs)) and seqs[0] == 0
        client.send_frame(0x1, "after")
        assert client.read_message() == (0x1, b"after")
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["tls_errors"] == 0
