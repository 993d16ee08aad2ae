"""The admin server as tests read it: plain GETs and /metrics parsed into samples."""

import urllib.error
import urllib.request


def http_get(port, path):
    """(status, body) of GET `path` on the admin port; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text):
    """`name{labels}` -> value for every sample of a Prometheus text page."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def scrape(port):
    """The samples on /metrics, which must answer 200."""
    status, text = http_get(port, "/metrics")
    assert status == 200
    return samples(text)
