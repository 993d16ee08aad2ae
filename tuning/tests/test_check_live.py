"""tuning/check against this machine's real values. Expectations are computed from the host's
own readings (getrlimit, /proc), never hard-coded, so the tests hold on any host; on the CI host
(hard open-file limit 20000, 2 CPUs) they pin what one ring can hold and how many rings 1M needs."""

import math
import os
import resource

import pytest

from conftest import check_json, run, run_script

MILLION = 1_000_000


def proc_ints(key):
    with open(os.path.join("/proc/sys", *key.split("."))) as f:
        return [int(v) for v in f.read().split()]


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    pytest.skip("no MemAvailable in /proc/meminfo")


@pytest.fixture(scope="module")
def million():
    """check --connections 1000000 --source-addresses 20 on this host, with its own rlimits."""
    return check_json("--connections", MILLION, "--source-addresses", 20)


def test_open_file_limit_is_reported_with_what_it_means_for_one_ring(million):
    _, report, items = million
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = min(hard, 1 << 20)
    rings = math.ceil(MILLION / cap)
    assert items["nofile.soft"]["current"] == str(soft)
    assert items["nofile.hard"]["current"] == str(hard)
    assert f"holds at most {cap} sockets" in items["nofile.hard"]["detail"]
    assert f"need >= {rings} rings" in items["nofile.hard"]["detail"]
    assert items["workers"]["needed"] == f">={rings}"
    cpus = report["host"]["cpus"]
    expected = "OK" if rings <= cpus else "WARN" if rings <= 32 * cpus else "FAIL"
    assert items["nofile.hard"]["status"] == expected


def test_20000_hard_limit_means_50_rings_for_a_million():
    """The CI host's limit, injected so the statement holds wherever the suite runs."""
    result = run("check", "--connections", MILLION, "--rlimit-nofile", "20000:20000")
    line = next(x for x in result.stdout.splitlines() if " nofile.hard " in x)
    assert "current=20000" in line
    assert "one ring's fixed-file table holds at most 20000 sockets" in line
    assert "need >= 50 rings" in line


def test_sysctl_items_match_the_kernel(million):
    status, _, items = million
    tcp_mem = proc_ints("net.ipv4.tcp_mem")
    assert items["tcp_mem"]["current"] == " ".join(map(str, tcp_mem))
    assert (items["tcp_mem"]["status"] == "FAIL") == (tcp_mem[2] < 2 * MILLION)

    lo, hi = proc_ints("net.ipv4.ip_local_port_range")
    assert items["port_range"]["current"] == f"{lo} {hi}"
    assert (items["port_range"]["status"] == "FAIL") == (20 * (hi - lo + 1) < MILLION)

    file_max = proc_ints("fs.file-max")[0]
    assert items["fs.file-max"]["current"] == str(file_max)
    assert (items["fs.file-max"]["status"] == "FAIL") == (file_max < 2 * MILLION)

    assert items["fs.nr_open"]["current"] == str(proc_ints("fs.nr_open")[0])
    has_conntrack = os.path.exists("/proc/sys/net/netfilter/nf_conntrack_max")
    assert (items["conntrack"]["current"] == "not loaded") == (not has_conntrack)

    fails = [n for n, i in items.items() if i["status"] == "FAIL"]
    assert status == (1 if fails else 0)


def test_memory_verdict_follows_mem_available(million):
    _, _, items = million
    available = mem_available()
    assert abs(int(items["memory"]["current"]) - available) < available // 20  # it moves
    kernel_floor = MILLION * 9000  # loopback pairs alone, ~9 KB each
    if available < kernel_floor:
        assert items["memory"]["status"] == "FAIL"
    elif available > 2 * MILLION * 10_000:
        assert items["memory"]["status"] == "OK"


def test_io_uring_items_match_the_kernel(million):
    _, _, items = million
    with open("/proc/sys/kernel/osrelease") as f:
        assert items["io_uring.kernel"]["current"] == f.read().strip()
    disabled = "/proc/sys/kernel/io_uring_disabled"
    if os.path.exists(disabled):
        with open(disabled) as f:
            assert items["io_uring.enabled"]["current"] == f.read().strip()
    assert "io_uring.probe" in items  # the running host is probed


def test_scripts_run_as_executables():
    result = run_script("check", "--connections", 1000, "--no-probe")
    assert result.returncode in (0, 1), result.stderr
    assert result.stdout.splitlines()[-1].startswith("summary: ")
    assert run_script("apply", "--list").stdout.split()[::2] == ["c10m", "c1m"]
    assert run_script("revert", "--help").returncode == 0
