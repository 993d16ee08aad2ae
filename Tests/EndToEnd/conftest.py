"""Start the real `ringgate` binary on a free loopback port, and stop it by its own PID.

`gateway(*args)` starts one gateway with the given extra options and returns a `Gateway` holding
its port and process. A background thread drains stderr so the pipe never fills; the periodic
(every 0.1 s unless `--stats-interval` is given) and final `name=value` stats lines can then be
read with `stats()`, `wait_for_stats()` and `stop()`. Every gateway still
running when the test ends is sent SIGTERM, then SIGKILL if it does not exit within a few seconds.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ROOT = HERE.parent.parent
BINARY = Path(os.environ.get("RINGGATE_BINARY", ROOT / ".build" / "debug" / "ringgate"))
RINGLOAD = Path(os.environ.get("RINGLOAD_BINARY", ROOT / ".build" / "debug" / "ringload"))

LISTENING = re.compile(r"ringgate: listening on (\S+):(\d+) ")
ADMIN = re.compile(r"ringgate: admin on (\S+):(\d+)$")
STATS = re.compile(r"^ringgate: ((?:[a-z_]+=\d+ ?)+)$")

# What ringgate prints when the kernel lacks io_uring or the features it needs: a skip, not a failure.
KERNEL_MISSING = ("io_uring is not available", "io_uring is disabled", "this kernel is too old")

# Generous bounds: the machine is shared and the binary is a debug build.
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
STATS_INTERVAL_S = "0.1"  # periodic lines let a test poll counters instead of sleeping
DRAIN_WINDOW_S = "0.2"


def parse_stats(line):
    """`ringgate: a=1 b=2` -> {"a": 1, "b": 2}, or None when `line` is not a stats line."""
    match = STATS.match(line)
    if not match:
        return None
    return {name: int(value) for name, value in (field.split("=") for field in match.group(1).split())}


class Gateway:
    """One running ringgate process; `port` is the port it picked."""

    def __init__(self, args, env=None, binary=BINARY):
        if not binary.is_file():
            pytest.fail(f"{binary} is missing; build it with `swift build --product ringgate`")
        defaults = [] if "--stats-interval" in args else ["--stats-interval", STATS_INTERVAL_S]
        # A short drain keeps teardown fast; drain tests pass their own window.
        defaults += [] if "--drain-window" in args else ["--drain-window", DRAIN_WINDOW_S]
        self.args = ["--host", "127.0.0.1", "--port", "0", "--no-pin", *defaults, *args]
        self.lines = []
        self.exit_stats = None
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [str(binary), *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=None if env is None else {**os.environ, **env},
        )
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        line = self.wait_for_line(lambda l: LISTENING.search(l), START_TIMEOUT_S)
        if line is None:
            self.kill()
            missing = [l for l in self.lines if any(m in l for m in KERNEL_MISSING)]
            if missing:
                pytest.skip("the kernel cannot run ringgate: " + missing[0])
            pytest.fail(f"ringgate {' '.join(args)} did not start; stderr:\n" + "\n".join(self.lines))
        self.port = int(LISTENING.search(line).group(2))
        admin = self.wait_for_line(lambda l: ADMIN.search(l), 0) if "--admin-port" in args else None
        self.admin_port = int(ADMIN.search(admin).group(2)) if admin else None

    def _drain(self):
        for raw in self.process.stderr:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, predicate, timeout_s, after=0):
        """The first stderr line from index `after` on that satisfies `predicate`, or None."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    return None
                self._changed.wait(min(remaining, 0.1))

    def stats(self, timeout_s=5.0):
        """The next periodic stats line (needs `--stats-interval`), as a dict."""
        with self._changed:
            start = len(self.lines)
        line = self.wait_for_line(lambda l: parse_stats(l) is not None, timeout_s, after=start)
        assert line is not None, "no stats line within %.1f s; was --stats-interval given?" % timeout_s
        return parse_stats(line)

    def wait_for_stats(self, predicate, timeout_s=5.0):
        """Poll periodic stats lines until `predicate(stats)` holds; return the last stats seen."""
        deadline = time.monotonic() + timeout_s
        stats = self.stats(timeout_s)
        while not predicate(stats) and time.monotonic() < deadline:
            stats = self.stats(max(0.1, deadline - time.monotonic()))
        return stats

    def stop(self, until=None, timeout_s=5.0):
        """SIGTERM, wait for exit, and return the final stats line as a dict.

        Workers publish their counters once per tick, so an event in the last tick before SIGTERM
        may be missing from the final line. `until(stats)` names what the test waits for: the
        periodic lines are polled until it holds, and only then is the gateway stopped.
        """
        if until is not None:
            seen = self.wait_for_stats(until, timeout_s)
            assert until(seen), f"stats never satisfied the condition within {timeout_s} s: {seen}"
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("ringgate did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT_S)
        self._reader.join(STOP_TIMEOUT_S)
        assert code == 0, f"ringgate exited with {code}; stderr:\n" + "\n".join(self.lines)
        with self._changed:
            stopping = [i for i, l in enumerate(self.lines) if l == "ringgate: stopping"]
            assert stopping, "no 'ringgate: stopping' line; stderr:\n" + "\n".join(self.lines)
            finals = [parse_stats(l) for l in self.lines[stopping[-1]:] if parse_stats(l) is not None]
        assert finals, "no final stats line; stderr:\n" + "\n".join(self.lines)
        self.exit_stats = finals[-1]
        return self.exit_stats

    def kill(self):
        """SIGTERM this process by its PID, then SIGKILL it if it lingers."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT_S)
        if self.process.stderr:
            self._reader.join(STOP_TIMEOUT_S)
            self.process.stderr.close()


@pytest.fixture
def gateway():
    """Factory: `gateway("--workers", "1")` starts a gateway; all are stopped at teardown."""
    started = []

    def start(*args, env=None, binary=BINARY):
        instance = Gateway([str(a) for a in args], env=env, binary=binary)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.kill()
