"""tuning/check against fake /proc and /sys trees with known values: one OK host, then one
broken value at a time, each of which must turn exactly the right item to FAIL (or WARN)."""

import re

import pytest

from conftest import GIB, STOCK_SYSCTLS, TUNED_LIMITS, TUNED_SYSCTLS, check_json, run, write_tree

MILLION = 1_000_000


def audit(root, *args, limits=TUNED_LIMITS):
    return check_json("--root", root, *limits, *args)


def test_tuned_host_holds_a_million_with_a_local_load_generator(tuned_tree):
    status, report, items = audit(tuned_tree, "--connections", MILLION, "--source-addresses", 20)
    bad = {name: i for name, i in items.items() if i["status"] != "OK"}
    assert bad == {}
    assert status == 0 and report["ok"] is True
    assert report["target"]["sockets"] == 2 * MILLION
    assert "io_uring.probe" not in items  # never probes the running kernel for a fake tree


def test_text_report_has_one_line_per_item_and_a_summary(tuned_tree):
    result = run("check", "--root", tuned_tree, *TUNED_LIMITS, "--connections", MILLION)
    lines = result.stdout.splitlines()
    item_lines = [line for line in lines if re.match(r"^(OK|WARN|FAIL) ", line)]
    assert len(item_lines) >= 15
    for line in item_lines:
        assert re.match(r"^(OK  |WARN|FAIL)  \S+ +current=.*  needed=\S+", line), line
    assert lines[-1].startswith("summary: ") and "0 FAIL" in lines[-1]
    assert result.returncode == 0


def test_low_nr_open_fails(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"fs.nr_open": "1024"})
    status, _, items = audit(root, "--connections", MILLION)
    assert items["fs.nr_open"]["status"] == "FAIL"
    assert items["fs.nr_open"]["needed"] == ">=125000"  # 1M over 8 CPUs
    assert "tuning/apply --profile c1m" in items["fs.nr_open"]["fix"]
    assert status == 1


def test_low_file_max_fails(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"fs.file-max": "100000"})
    status, _, items = audit(root, "--connections", MILLION)
    item = items["fs.file-max"]
    assert item["status"] == "FAIL" and status == 1
    assert item["needed"] == f">={1000 + MILLION + 1024}"  # open now + sockets + headroom


def test_tiny_tcp_mem_fails(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"net.ipv4.tcp_mem": "100\t200\t300"})
    status, _, items = audit(root, "--connections", MILLION)
    assert items["tcp_mem"]["status"] == "FAIL" and status == 1
    assert items["tcp_mem"]["needed"] == f"max>={MILLION}"


def test_port_range_too_small_for_n_with_k_addresses(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"net.ipv4.ip_local_port_range": "60000\t60999"})
    status, _, items = audit(root, "--connections", MILLION, "--source-addresses", 20)
    item = items["port_range"]
    assert item["status"] == "FAIL" and status == 1
    assert "20 source address(es) x 1 destination(s) x 1000 ports = 20000" in item["detail"]
    assert item["needed"] == "size>=50000"
    assert ">= 16 source addresses" in item["fix"]  # with 1024-65535: ceil(1M / 64512)
    # Enough addresses (or destinations) make the same range sufficient.
    assert audit(root, "--connections", MILLION, "--source-addresses", 1000)[2][
        "port_range"]["status"] == "OK"
    assert audit(root, "--connections", MILLION, "--source-addresses", 100, "--destinations", 10)[
        2]["port_range"]["status"] == "OK"


def test_port_range_is_not_audited_without_a_local_load_generator(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"net.ipv4.ip_local_port_range": "60000\t60999"})
    status, _, items = audit(root, "--connections", MILLION)
    assert items["port_range"]["status"] == "OK" and items["port_range"]["needed"] == "n/a"
    assert status == 0


def test_mem_available_too_low_fails_and_tight_memory_warns(tmp_path):
    root = write_tree(tmp_path / "low", TUNED_SYSCTLS, mem_available=3 * GIB)
    status, _, items = audit(root, "--connections", MILLION)
    assert items["memory"]["status"] == "FAIL" and status == 1
    # 1M server sockets: 4200 B kernel + 100 B RingGate + io_uring ~= 4.0 GiB: 90 % of 4.5 GiB.
    root = write_tree(tmp_path / "tight", TUNED_SYSCTLS, mem_available=9 * GIB // 2)
    status, _, items = audit(root, "--connections", MILLION)
    assert items["memory"]["status"] == "WARN" and status == 0


def test_local_load_generator_doubles_the_memory_need(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS, mem_available=8 * GIB)
    assert audit(root, "--connections", MILLION)[2]["memory"]["status"] == "OK"
    # Loopback pairs cost ~9 KB each: 1M of them no longer fit in 8 GiB.
    items = audit(root, "--connections", MILLION, "--source-addresses", 20)[2]
    assert items["memory"]["status"] == "FAIL"


@pytest.mark.parametrize("value,expected", [("0", "OK"), ("1", "WARN"), ("2", "FAIL")])
def test_io_uring_disabled(tmp_path, value, expected):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"kernel.io_uring_disabled": value})
    status, _, items = audit(root, "--connections", 1000)
    assert items["io_uring.enabled"]["status"] == expected
    assert status == (1 if expected == "FAIL" else 0)


@pytest.mark.parametrize("release,expected", [
    ("5.15.0-91-generic", "FAIL"), ("6.0.9", "WARN"), ("6.1.0-18-amd64", "OK"), ("6.18.2", "OK"),
])
def test_kernel_version_against_io_uring_features(tmp_path, release, expected):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"kernel.osrelease": release})
    item = audit(root, "--connections", 1000)[2]["io_uring.kernel"]
    assert item["status"] == expected
    if release.startswith("6.1."):
        assert "missing multishot timeouts (6.4), incremental buffer consumption (6.12)" in \
            item["detail"]


def test_hard_limit_20000_sets_ring_capacity_and_worker_count(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS)
    limits = ["--rlimit-nofile", "20000:20000", "--rlimit-memlock", "unlimited:unlimited"]
    status, _, items = audit(root, "--connections", MILLION, limits=limits)
    hard = items["nofile.hard"]
    assert hard["status"] == "WARN" and hard["current"] == "20000"
    assert "at most 20000 sockets" in hard["detail"] and ">= 50 rings" in hard["detail"]
    assert items["workers"]["needed"] == ">=50" and items["workers"]["status"] == "WARN"
    assert status == 0
    # Too few workers for that limit cannot hold the target.
    status, _, items = audit(root, "--connections", MILLION, "--workers", 8, limits=limits)
    assert items["workers"]["status"] == "FAIL" and status == 1
    status, _, items = audit(root, "--connections", MILLION, "--workers", 56, limits=limits)
    assert items["workers"]["status"] == "OK" and status == 0


def test_hard_limit_so_low_that_rings_become_absurd_fails(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS)
    limits = ["--rlimit-nofile", "1024:1024"]
    status, _, items = audit(root, "--connections", MILLION, limits=limits)
    assert items["nofile.hard"]["status"] == "FAIL"  # 977 rings on 8 CPUs
    assert status == 1


def test_fixed_hard_limit_is_named_when_cap_sys_resource_is_gone(tmp_path):
    limits = ["--rlimit-nofile", "20000:20000"]
    root = write_tree(tmp_path / "container", TUNED_SYSCTLS, cap_bounding=False)
    item = audit(root, "--connections", MILLION, limits=limits)[2]["nofile.hard"]
    assert "no process here can raise the hard limit" in item["detail"]
    assert item["fix"].startswith("run ringgate with >= 50 workers")
    root = write_tree(tmp_path / "host", TUNED_SYSCTLS, cap_bounding=True)
    item = audit(root, "--connections", MILLION, limits=limits)[2]["nofile.hard"]
    assert item["fix"].startswith("LimitNOFILE=125000")


def test_ring_capacity_caps_at_io_uring_maximum(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"fs.nr_open": "16777216"}, cpus="0")
    limits = ["--rlimit-nofile", "16777216:16777216"]
    items = audit(root, "--connections", 10 * MILLION, limits=limits)[2]
    assert "at most 1048576 sockets" in items["nofile.hard"]["detail"]
    assert items["workers"]["needed"] == ">=10"


def test_conntrack_absent_present_idle_and_tracking(tmp_path):
    absent = audit(write_tree(tmp_path / "a", TUNED_SYSCTLS), "--connections", MILLION)[2]
    assert absent["conntrack"]["status"] == "OK" and absent["conntrack"]["current"] == "not loaded"
    small = {"net.netfilter.nf_conntrack_max": "262144",
             "net.netfilter.nf_conntrack_buckets": "65536"}
    idle = write_tree(tmp_path / "b", TUNED_SYSCTLS | small | {
        "net.netfilter.nf_conntrack_count": "0"})
    assert audit(idle, "--connections", MILLION)[2]["conntrack"]["status"] == "WARN"
    busy = write_tree(tmp_path / "c", TUNED_SYSCTLS | small | {
        "net.netfilter.nf_conntrack_count": "1234"})
    status, _, items = audit(busy, "--connections", MILLION)
    assert items["conntrack"]["status"] == "FAIL" and status == 1
    assert "conntrack" in items["memory"]["detail"]  # tracked entries cost memory too


def test_backlogs_and_orphans_warn_on_stock_values(tmp_path):
    root = write_tree(tmp_path, STOCK_SYSCTLS)
    items = audit(root, "--connections", MILLION)[2]
    for name in ("somaxconn", "tcp_max_syn_backlog", "netdev_max_backlog", "tcp_max_orphans"):
        assert items[name]["status"] == "WARN", name
        assert "tuning/apply --profile c1m" in items[name]["fix"]
    # The same stock values are fine for a small deployment.
    items = audit(root, "--connections", 5000)[2]
    assert all(i["status"] == "OK" for i in items.values()), items


def test_memlock_and_numa_warnings(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS)
    limits = ["--rlimit-nofile", "1048576:1048576", "--rlimit-memlock", "65536:65536"]
    items = audit(root, "--connections", MILLION, "--workers", 3, limits=limits)[2]
    assert items["memlock"]["status"] == "WARN"
    assert "LimitMEMLOCK=infinity" in items["memlock"]["fix"]
    assert items["numa"]["status"] == "WARN" and items["numa"]["fix"] == "--workers 4"


def test_stock_host_is_fixed_by_the_c1m_profile(tmp_path):
    """What check asks for and what apply --profile c1m sets agree."""
    root = write_tree(tmp_path, STOCK_SYSCTLS)
    args = ("--connections", MILLION, "--source-addresses", 20)
    status, _, items = audit(root, *args)
    assert status == 1 and {"tcp_mem", "port_range"} <= {
        n for n, i in items.items() if i["status"] == "FAIL"}
    state = tmp_path / "state.conf"
    assert run("apply", "--root", root, "--state", state, "--profile", "c1m").returncode == 0
    status, _, items = audit(root, *args)
    assert [n for n, i in items.items() if i["status"] != "OK"] == [] and status == 0


def test_bad_arguments_exit_2(tuned_tree):
    assert run("check", "--root", tuned_tree).returncode == 2
    assert run("check", "--root", tuned_tree, "-n", "0").returncode == 2
    assert run("check", "--root", tuned_tree, "-n", "5", "--rlimit-nofile", "7").returncode == 2


def test_a_small_established_hash_warns_with_both_fixes(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"net.ipv4.tcp_ehash_entries": "262144"})
    status, _, items = audit(root, "--connections", MILLION, "--source-addresses", 20)
    item = items["tcp_ehash"]
    assert item["status"] == "WARN" and status == 0  # a cost, not a limit
    assert item["needed"] == ">=2097152"  # two sockets per pair, rounded up to a power of two
    assert "thash_entries=2097152" in item["fix"] and "tcp_child_ehash_entries=2097152" in item["fix"]


def test_an_established_hash_as_large_as_the_sockets_is_ok(tmp_path):
    root = write_tree(tmp_path, TUNED_SYSCTLS | {"net.ipv4.tcp_ehash_entries": "-2097152"})
    _, _, items = audit(root, "--connections", MILLION, "--source-addresses", 20)
    assert items["tcp_ehash"]["status"] == "OK"
