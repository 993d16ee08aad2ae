"""The built-in demo's page at GET /, as a person sees it: served to a plain HTTP client, and run in
Debian's Chromium (headless, driven by selenium and chromium-driver), where it holds a WebSocket
to the echo demo, shows every echo, measures a burst, and reconnects by itself after the gateway
goes away and comes back."""

import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request

import pytest

TIMEOUT_S = 20


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode()


def test_the_page_is_served_at_the_root_without_a_worker(gateway):
    server = gateway("--workers", "1")
    for path in ("/", "/index.html", "/?from=bookmark"):
        status, content_type, body = get(server.port, path)
        assert status == 200 and content_type == "text/html; charset=utf-8", (path, status)
        assert "<title>RingGate demo</title>" in body and "new WebSocket(url)" in body
    assert get(server.port, "/other")[0] == 426
    assert get(server.port, "/healthz")[:2] == (200, "text/plain")


def test_with_a_worker_the_root_is_the_applications(gateway):
    with tempfile.TemporaryDirectory() as folder:
        server = gateway("--workers", "1", "--backend-socket", os.path.join(folder, "gw.sock"))
        assert get(server.port, "/")[0] == 426


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("Debian's chromium and chromium-driver are needed (scripts/test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(TIMEOUT_S)
    yield driver
    driver.quit()


def wait_for(driver, what, predicate):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, TIMEOUT_S, poll_frequency=0.05).until(lambda d: predicate(d))
    except Exception:
        pytest.fail(f"the page never showed {what}; state: {driver.find_element('id', 'state').text!r} "
                    f"{driver.find_element('id', 'detail').text!r}")


def test_a_browser_echoes_measures_a_burst_and_reconnects(gateway, browser):
    port = free_port()
    server = gateway("--workers", "1", "--port", port)
    browser.get(f"http://127.0.0.1:{port}/")
    text = lambda d, element: d.find_element("id", element).text  # noqa: E731
    wait_for(browser, "an open connection", lambda d: text(d, "state") == "open")

    browser.find_element("id", "text").send_keys("hello from Chromium")
    browser.find_element("id", "sendButton").click()
    wait_for(browser, "the echo", lambda d: "hello from Chromium" in text(d, "log"))
    assert text(browser, "counts") == "1 / 1"
    assert text(browser, "rtt").endswith(" ms")

    browser.find_element("id", "burst").click()
    result = wait_for(browser, "the burst's result", lambda d: "1000 of 1000 back" in text(d, "burstResult") and text(d, "burstResult"))
    assert "msg/s" in result and "p99" in result
    assert text(browser, "counts") == "1001 / 1001"

    # The gateway goes away: the page says so and keeps trying; a new one on the same port is found.
    server.stop()
    wait_for(browser, "the closed state", lambda d: text(d, "state") in ("closed", "connecting"))
    gateway("--workers", "1", "--port", port)
    wait_for(browser, "a reconnect", lambda d: text(d, "state") == "open" and int(text(d, "reconnects")) >= 1)
    browser.find_element("id", "text").send_keys("after the restart")
    browser.find_element("id", "sendButton").click()
    wait_for(browser, "the echo after the restart", lambda d: "after the restart" in text(d, "log"))


def test_a_refused_upgrade_reaches_browser_javascript_as_a_readable_close(gateway, browser):
    from linkworker import LinkWorker

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "gw.sock")
        server = gateway("--workers", "1", "--backend-socket", path)
        before = len(server.lines)
        LinkWorker(path, on_open=lambda w, fields: w.reject(fields["conn"], 403, "banned from this room".encode()))
        assert server.wait_for_line(lambda line: "joined as link" in line, 5.0, after=before)
        # A page of its own origin on loopback (from about:blank Chromium does not reach loopback).
        import http.server
        import threading
        page = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
        threading.Thread(target=page.serve_forever, daemon=True).start()
        browser.get(f"http://127.0.0.1:{page.server_address[1]}/nothing-here")
        browser.set_script_timeout(TIMEOUT_S)
        seen = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const socket = new WebSocket(arguments[0]);
            socket.onclose = (event) => done({ code: event.code, reason: event.reason });
        """, f"ws://127.0.0.1:{server.port}/room")
        page.shutdown()
        assert seen == {"code": 4403, "reason": "banned from this room"}
