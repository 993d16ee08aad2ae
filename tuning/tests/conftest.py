"""Shared helpers: run the scripts, and build fake /proc + /sys trees with known values.

The baseline tree is a host tuned for one million connections (8 CPUs on 2 NUMA nodes, 64 GiB,
the c1m profile's values), so a test changes one value and sees exactly one item move.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

TUNING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TUNING, "lib"))

GIB = 1 << 30

TUNED_SYSCTLS = {
    "fs.nr_open": "1048576",
    "fs.file-max": "4194304",
    "fs.file-nr": "1000\t0\t4194304",
    "kernel.osrelease": "6.12.0-test",
    "kernel.io_uring_disabled": "0",
    "kernel.io_uring_group": "-1",
    "net.core.somaxconn": "65535",
    "net.core.netdev_max_backlog": "16384",
    "net.ipv4.tcp_max_syn_backlog": "65535",
    "net.ipv4.ip_local_port_range": "1024\t65535",
    "net.ipv4.tcp_tw_reuse": "1",
    "net.ipv4.tcp_max_tw_buckets": "2097152",
    "net.ipv4.tcp_mem": "1048576\t1572864\t2097152",
    "net.ipv4.tcp_rmem": "4096\t16384\t6291456",
    "net.ipv4.tcp_wmem": "4096\t16384\t4194304",
    "net.ipv4.tcp_max_orphans": "1048576",
    "net.ipv4.tcp_fin_timeout": "15",
    "net.ipv4.tcp_keepalive_time": "600",
    "net.ipv4.tcp_keepalive_intvl": "60",
    "net.ipv4.tcp_keepalive_probes": "5",
}

# What a stock 64 GiB Debian host reports before any tuning.
STOCK_SYSCTLS = dict(TUNED_SYSCTLS) | {
    "fs.file-max": "9223372036854775807",
    "net.core.somaxconn": "4096",
    "net.core.netdev_max_backlog": "1000",
    "net.ipv4.tcp_max_syn_backlog": "2048",
    "net.ipv4.ip_local_port_range": "32768\t60999",
    "net.ipv4.tcp_tw_reuse": "2",
    "net.ipv4.tcp_max_tw_buckets": "262144",
    "net.ipv4.tcp_mem": "766008\t1021344\t1532016",
    "net.ipv4.tcp_rmem": "4096\t131072\t6291456",
    "net.ipv4.tcp_max_orphans": "262144",
    "net.ipv4.tcp_fin_timeout": "60",
    "net.ipv4.tcp_keepalive_time": "7200",
    "net.ipv4.tcp_keepalive_intvl": "75",
    "net.ipv4.tcp_keepalive_probes": "9",
}

TUNED_LIMITS = ["--rlimit-nofile", "1048576:1048576", "--rlimit-memlock", "unlimited:unlimited"]


def write_tree(root, sysctls, mem_available=64 * GIB, cpus="0-7",
               nodes=(("0", "0-3"), ("1", "4-7")), cap_bounding=None):
    """Write a fake tree under `root`; a sysctl whose value is None is left out."""
    for key, value in sysctls.items():
        if value is None:
            continue
        path = os.path.join(root, "proc", "sys", *key.split("."))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(value + "\n")
    with open(os.path.join(root, "proc", "meminfo"), "w") as f:
        f.write(f"MemTotal:       {mem_available * 2 // 1024} kB\n"
                f"MemFree:        {mem_available // 1024} kB\n"
                f"MemAvailable:   {mem_available // 1024} kB\n")
    cpu_dir = os.path.join(root, "sys", "devices", "system", "cpu")
    os.makedirs(cpu_dir, exist_ok=True)
    with open(os.path.join(cpu_dir, "online"), "w") as f:
        f.write(cpus + "\n")
    node_dir = os.path.join(root, "sys", "devices", "system", "node")
    os.makedirs(node_dir, exist_ok=True)
    with open(os.path.join(node_dir, "online"), "w") as f:
        f.write(",".join(n for n, _ in nodes) + "\n")
    for node, cpulist in nodes:
        os.makedirs(os.path.join(node_dir, f"node{node}"), exist_ok=True)
        with open(os.path.join(node_dir, f"node{node}", "cpulist"), "w") as f:
            f.write(cpulist + "\n")
    if cap_bounding is not None:
        os.makedirs(os.path.join(root, "proc", "self"), exist_ok=True)
        mask = 0x1ffffffffff if cap_bounding else 0x1fffeffffff  # bit 24: CAP_SYS_RESOURCE
        with open(os.path.join(root, "proc", "self", "status"), "w") as f:
            f.write(f"CapEff:\t{mask:016x}\nCapBnd:\t{mask:016x}\n")
    return str(root)


def run_script(script, *args):
    """Run the executable tuning/<script> in a child process; returns the CompletedProcess."""
    return subprocess.run([os.path.join(TUNING, script), *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def run(script, *args):
    """Run tuning/<script>'s main in this process (a child costs ~0.5 s of start-up on a busy
    host); returns an object with returncode, stdout and stderr like a CompletedProcess."""
    from ringtune import cli
    main = {"check": cli.check_main, "apply": cli.apply_main, "revert": cli.revert_main}[script]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:
            code = e.code
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def check_json(*args):
    """Run `check --json`; returns (exit status, parsed output, {item name: item})."""
    result = run("check", "--json", *args)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return result.returncode, report, {i["name"]: i for i in report["items"]}


@pytest.fixture
def tuned_tree(tmp_path):
    return write_tree(tmp_path, TUNED_SYSCTLS)
