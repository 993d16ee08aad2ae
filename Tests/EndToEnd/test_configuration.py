"""Settings come from a file, RINGGATE_* variables and flags, in that order of precedence, and
bad values stop ringgate with a message naming the key and what it allows."""

import os
import re
import subprocess
import time

import pytest

from conftest import BINARY, LISTENING, ROOT

EXAMPLE = ROOT / "docs" / "ringgate.example.toml"
WORKERS = re.compile(r"with (\d+) workers")


def start_and_read(args, env_extra=None, timeout_s=15):
    """Starts ringgate, returns its listening line, and stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGGATE_")}
    env.update(env_extra or {})
    process = subprocess.Popen([str(BINARY), "--port", "0", "--no-pin", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            if LISTENING.search(line):
                return line
        pytest.fail("ringgate did not start")
    finally:
        process.terminate()
        process.wait(10)


def run_to_exit(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGGATE_")}
    env.update(env_extra or {})
    return subprocess.run([str(BINARY), *args], env=env, capture_output=True, text=True, timeout=30)


def test_flags_beat_environment_beat_file(tmp_path):
    config = tmp_path / "ringgate.toml"
    config.write_text("workers = 3  # from the file\n")
    file_only = start_and_read(["--config", str(config)])
    assert WORKERS.search(file_only).group(1) == "3"
    env_over_file = start_and_read(["--config", str(config)], {"RINGGATE_WORKERS": "2"})
    assert WORKERS.search(env_over_file).group(1) == "2"
    flag_over_env = start_and_read(["--config", str(config), "--workers", "1"], {"RINGGATE_WORKERS": "2"})
    assert WORKERS.search(flag_over_env).group(1) == "1"
    via_env_path = start_and_read([], {"RINGGATE_CONFIG": str(config)})
    assert WORKERS.search(via_env_path).group(1) == "3"


def self_signed(directory):
    """A throwaway certificate and key, standing in for the example's /etc/ringgate/tls files."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def test_the_example_file_loads_and_documents_every_key(tmp_path):
    cert, key = self_signed(tmp_path)
    line = start_and_read([
        "--config", str(EXAMPLE), "--admin-port", "0", "--control-socket", str(tmp_path / "c.sock"),
        "--backend-socket", str(tmp_path / "w.sock"), "--backend-socket-group", "root",
        "--tls-port", "0", "--tls-cert", str(cert), "--tls-key", str(key),
    ])
    assert WORKERS.search(line).group(1) == "2"
    help_text = run_to_exit(["--help"]).stdout
    keys = re.findall(r"^  --([a-z-]+)", help_text, re.M)
    example_keys = re.findall(r"^([a-z-]+) =", EXAMPLE.read_text(), re.M)
    assert set(keys) - {"config", "takeover"} == set(example_keys)


def test_the_readme_shows_the_example_file_whole():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```toml\n(.*?)^```$", readme, re.M | re.S)
    assert blocks == [EXAMPLE.read_text()], "README's toml block must be docs/ringgate.example.toml, unchanged"


@pytest.mark.parametrize("args, env, expected", [
    (["--wait-mode", "fast"], {}, "invalid value 'fast' for wait-mode (from --wait-mode): expected one of recv, poll"),
    (["--port", "70000"], {}, "for port (from --port): expected an integer from 0 to 65535"),
    ([], {"RINGGATE_PING_INTERVAL": "0"}, "for ping-interval (from RINGGATE_PING_INTERVAL): expected seconds above 0"),
    (["--buffer-count", "1000"], {}, "for buffer-count (from --buffer-count): expected a power of two"),
    (["--log-level", "loud"], {}, "expected one of trace, debug, info, notice, warning, error, critical"),
    (["--host", "example.com"], {}, "for host (from --host): expected an IPv4 or IPv6 address literal"),
    (["--no-such-key", "1"], {}, "unknown option '--no-such-key'"),
    (["--workers"], {}, "--workers needs a value"),
    (["--config", "/nonexistent/ringgate.toml"], {}, "cannot read the configuration file /nonexistent/ringgate.toml"),
    # A client message the worker link cannot carry would end the link: refused at start.
    (["--backend-socket", "/tmp/ringgate-config-test.sock", "--max-message-size", "33554432"], {},
     "max-message-size 33554432 is above what one worker-link frame carries (16777270 bytes)"),
])
def test_bad_values_name_the_key_and_what_is_allowed(args, env, expected):
    result = run_to_exit(args, env)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Fatal error" not in result.stderr and "crashed" not in result.stderr


@pytest.mark.parametrize("text, expected", [
    ("workers = many\n", "invalid value 'many' for workers (from "),
    ("\n\nbogus = 1\n", "ringgate.toml:3: unknown key 'bogus'"),
    ("port 8080\n", "ringgate.toml:1: expected `key = value`"),
    ('host = "127.0.0.1\n', "no closing quote"),
    ("allowed-origin = [\"a\"\n", "must end with ]"),
    ("port = [1, 2]\n", "port takes one value, not a list"),
    ("drain-window = -1\n", "for drain-window (from"),
])
def test_bad_files_name_the_line(tmp_path, text, expected):
    config = tmp_path / "ringgate.toml"
    config.write_text(text)
    result = run_to_exit(["--config", str(config)])
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr


def test_a_binary_config_file_is_refused_cleanly(tmp_path):
    config = tmp_path / "ringgate.toml"
    config.write_bytes(b"\xff\xfe\x00garbage")
    result = run_to_exit(["--config", str(config)])
    assert result.returncode == 2 and "not UTF-8" in result.stderr


def test_a_second_gateway_on_a_port_in_use_exits_1_and_takes_no_connections(gateway):
    first = gateway("--workers", "2")
    result = run_to_exit(["--workers", "2", "--port", str(first.port)])
    assert result.returncode == 1, result.stderr
    assert f"port {first.port}: another process is listening there" in result.stderr
    # The first one still gets every connection.
    from wsraw import RawClient
    for _ in range(10):
        with RawClient(first.port) as client:
            client.handshake()
    assert first.stop(until=lambda s: s["handshakes_ok"] == 10)["handshakes_ok"] == 10


def test_a_misspelled_variable_is_named_with_the_nearest_setting(gateway):
    server = gateway("--workers", "1", env={"RINGGATE_PING_INTERVALL": "5", "RINGGATE_NOTHING_LIKE_IT": "1"})
    assert any("RINGGATE_PING_INTERVALL is not a setting (did you mean RINGGATE_PING_INTERVAL?); it is ignored" in l
               for l in server.lines)
    assert any("RINGGATE_NOTHING_LIKE_IT is not a setting; it is ignored" in l for l in server.lines)


def test_an_admin_server_beyond_loopback_is_warned_about(gateway):
    public = gateway("--workers", "1", "--admin-port", "0", "--admin-host", "0.0.0.0")
    assert any("the admin server listens on 0.0.0.0, beyond loopback, and has no authentication" in l
               for l in public.lines)
    private = gateway("--workers", "1", "--admin-port", "0")
    assert not any("beyond loopback" in l for l in private.lines)
