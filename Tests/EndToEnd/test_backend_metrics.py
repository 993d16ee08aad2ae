"""Worker link state on /metrics: the link counters with HELP and TYPE, and one series per open
link labelled with its id and the name from its HELLO, which come and go with the worker."""

import asyncio
import os
import re
import tempfile
import time

from websockets.asyncio.client import connect

from admin import http_get, samples
from conftest import ROOT
from linkworker import MESSAGE, OPEN, LinkWorker

# A name with a quote, a backslash and a space: the label must escape what the worker sends.
NAME = 'orders "eu" \\ 1'
LABEL_NAME = 'orders \\"eu\\" \\\\ 1'
LINK_SERIES = ["ringgate_backend_link_up", "ringgate_backend_link_connections", "ringgate_backend_link_queued_bytes",
               "ringgate_backend_link_congested", "ringgate_backend_link_events_total",
               "ringgate_backend_link_commands_total"]


def page(server):
    status, text = http_get(server.admin_port, "/metrics")
    assert status == 200
    return text


def wait_for_page(server, predicate, timeout_s=5.0):
    """The /metrics samples once `predicate(samples)` holds (polled, bounded)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = samples(page(server))
        if predicate(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def link_samples(found):
    return {name: value for name, value in found.items() if name.startswith("ringgate_backend_link_")}


def test_link_state_follows_a_worker_on_metrics(gateway):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "gw.sock")
        server = gateway("--workers", "2", "--backend-socket", path, "--admin-port", "0")
        text = page(server)
        # Every backend metric is described, including the per-link ones before any link exists.
        for metric in set(re.findall(r"^(ringgate_(?:backend_\w+|publishes_total|deliveries\w*|history_gaps_total|"
                                     r"topics_refused_total)) ", text, re.M)) | set(LINK_SERIES):
            assert re.search(rf"^# HELP {metric} \S", text, re.M), metric
            assert re.search(rf"^# TYPE {metric} (counter|gauge)$", text, re.M), metric
        found = samples(text)
        assert found["ringgate_backend_links_open"] == 0
        assert link_samples(found) == {}

        worker = LinkWorker(path, name=NAME, on_open=lambda w, fields: w.accept(fields["conn"]))
        labels = f'{{link="{worker.hello["link"]}",name="{LABEL_NAME}"}}'

        async def client():
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                for index in range(3):
                    await ws.send(f"to the worker {index}")
                for _ in range(3):
                    worker.expect(MESSAGE, skip=(OPEN,))
                return wait_for_page(server, lambda s: s.get("ringgate_backend_link_events_total" + labels, 0) >= 5)

        during = asyncio.run(asyncio.wait_for(client(), 30))
        assert during["ringgate_backend_links_open"] == 1
        assert during["ringgate_backend_link_up" + labels] == 1
        assert during["ringgate_backend_link_connections" + labels] == 1
        assert during["ringgate_backend_link_events_total" + labels] == 5  # HELLO, OPEN and 3 MESSAGE
        assert during["ringgate_backend_link_commands_total" + labels] == 2  # HELLO and ACCEPT
        assert during["ringgate_backend_link_queued_bytes" + labels] == 0
        assert during["ringgate_backend_link_congested" + labels] == 0
        assert len(link_samples(during)) == len(LINK_SERIES)  # one link, one sample per series

        worker.close()
        after = wait_for_page(server, lambda s: s["ringgate_backend_links_open"] == 0 and not link_samples(s))
        assert after["ringgate_backend_links_open"] == 0
        assert link_samples(after) == {}
        assert after["ringgate_backend_links_accepted_total"] == 1
        server.stop()


def test_the_readme_lists_every_metric(gateway):
    with tempfile.TemporaryDirectory() as folder:
        server = gateway("--workers", "1", "--backend-socket", os.path.join(folder, "gw.sock"), "--admin-port", "0")
        names = re.findall(r"^# TYPE ringgate_(\w+) ", page(server), re.M)
        readme = (ROOT / "README.md").read_text()
        missing = [name for name in names if f"`{name}`" not in readme and f"`{name}{{" not in readme]
        assert names and not missing, missing


def test_the_process_and_build_series_are_on_metrics(gateway):
    import time
    server = gateway("--workers", "1", "--admin-port", "0")
    found = samples(page(server))
    assert found["process_resident_memory_bytes"] > 1 << 20
    assert 0 < found["process_open_fds"] <= found["process_max_fds"]
    assert found["process_cpu_seconds_total"] > 0
    assert abs(found["process_start_time_seconds"] - time.time()) < 120
    build = [name for name in found if name.startswith("ringgate_build_info{")]
    assert len(build) == 1 and 'version="' in build[0] and 'kernel="' in build[0] and found[build[0]] == 1
