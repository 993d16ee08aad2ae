"""Command lines of tuning/check, tuning/apply and tuning/revert.

All three take --root DIR (or RINGGATE_TUNING_ROOT) to work on a fake /proc and /sys tree; apply
and revert take --state FILE (or RINGGATE_TUNING_STATE). Exit status: 0 fine, 1 something failed
(a FAIL item, a key not written), 2 bad arguments.
"""

import argparse
import json
import os
import sys

from . import audit, sysctls
from .host import Host, parse_rlimit


def _positive(text):
    value = int(text.replace("_", "").replace(",", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _rlimit(text):
    try:
        return parse_rlimit(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def _root_arg(parser):
    parser.add_argument(
        "--root", default=os.environ.get("RINGGATE_TUNING_ROOT", "/"), metavar="DIR",
        help="read (and for apply/revert, write) proc/ and sys/ under DIR instead of / "
             "(default: $RINGGATE_TUNING_ROOT or /)")


def _state_arg(parser):
    parser.add_argument(
        "--state", default=os.environ.get("RINGGATE_TUNING_STATE", sysctls.DEFAULT_STATE),
        metavar="FILE", help="where apply records previous values and revert reads them "
                             f"(default: $RINGGATE_TUNING_STATE or {sysctls.DEFAULT_STATE})")


def check_main(argv=None):
    p = argparse.ArgumentParser(
        prog="tuning/check",
        description="Audit this host for N RingGate connections. Read-only. Prints one line per "
                    "item (OK / WARN / FAIL, current and needed value, fix); exits 1 on any FAIL.")
    p.add_argument("--connections", "-n", type=_positive, required=True, metavar="N")
    p.add_argument("--workers", "-w", type=_positive, metavar="W",
                   help="worker rings RingGate will run (default: audit how many are needed)")
    p.add_argument("--source-addresses", "-k", type=_positive, metavar="K",
                   help="source addresses of a load generator on this host; implies --role both")
    p.add_argument("--destinations", type=_positive, default=1, metavar="D",
                   help="gateway ip:port pairs the load generator spreads over (default 1)")
    p.add_argument("--role", choices=("server", "client", "both"),
                   help="what runs here: the gateway, a load generator, or both "
                        "(default: both with --source-addresses, else server)")
    _root_arg(p)
    p.add_argument("--rlimit-nofile", type=_rlimit, metavar="SOFT:HARD",
                   help="use these open-file limits instead of this process's own")
    p.add_argument("--rlimit-memlock", type=_rlimit, metavar="SOFT:HARD",
                   help="use these locked-memory limits (bytes) instead of this process's own")
    p.add_argument("--no-probe", action="store_true",
                   help="do not create a test io_uring (always off for a fake --root)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = p.parse_args(argv)

    role = args.role or ("both" if args.source_addresses else "server")
    target = audit.Target(args.connections, args.workers, args.source_addresses,
                          args.destinations, role)
    host = Host(args.root, nofile=args.rlimit_nofile, memlock=args.rlimit_memlock,
                probe=False if args.no_probe else None)
    items, counts = audit.run(host, target)
    failed = counts["FAIL"] > 0
    if args.json:
        print(json.dumps({
            "target": vars(target) | {"sockets": target.sockets},
            "host": _host_summary(host),
            "items": [audit.as_dict(i) for i in items],
            "counts": counts,
            "ok": not failed,
        }, indent=2))
    else:
        _print_report(host, target, items, counts)
    return 1 if failed else 0


def _host_summary(host):
    soft, hard = host.rlimit_nofile()
    return {
        "root": host.root,
        "kernel": host.kernel_release(),
        "cpus": host.cpus(),
        "numa_nodes": len(host.numa_nodes()),
        "mem_available": host.meminfo().get("MemAvailable"),
        "nofile": [audit.show(soft), audit.show(hard)],
    }


def _print_report(host, target, items, counts):
    where = {"server": "gateway on this host", "client": "load generator on this host",
             "both": "gateway and load generator on this host"}[target.role]
    line = f"tuning/check: {target.connections} connections, {where}"
    if target.client:
        k = target.source_addresses
        line += f", {k if k else '1 (assumed)'} source address(es) x {target.destinations} " \
                f"destination(s)"
    if target.workers:
        line += f", {target.workers} workers"
    print(line)
    h = _host_summary(host)
    avail = h["mem_available"]
    print(f"host: {'fake tree ' + host.root + ', ' if not host.is_live else ''}"
          f"Linux {h['kernel']}, {h['cpus']} CPUs, {h['numa_nodes']} NUMA node(s), "
          f"{audit.human_bytes(avail) if avail else 'unknown'} available, "
          f"RLIMIT_NOFILE {h['nofile'][0]}/{h['nofile'][1]}")
    width = max(len(i.name) for i in items)
    for i in items:
        text = f"{i.status:<4}  {i.name:<{width}}  current={i.current}  needed={i.needed}"
        if i.detail:
            text += f"  {i.detail}"
        if i.fix:
            text += f"  fix: {i.fix}"
        print(text)
    verdict = ("cannot hold" if counts["FAIL"] else "can hold")
    print(f"summary: {counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL: this host "
          f"{verdict} {target.connections} connections as set up now"
          + (" (fix the FAIL items)" if counts["FAIL"] else
             " (WARN items cost capacity or robustness)" if counts["WARN"] else ""))


def apply_main(argv=None):
    p = argparse.ArgumentParser(
        prog="tuning/apply",
        description="Apply a sysctl profile from tuning/sysctl.d, recording the values it "
                    "replaces so tuning/revert can restore them. Idempotent.")
    p.add_argument("--profile", default="c1m", metavar="NAME",
                   help="profile name (%s) or a path to a sysctl.d file (default c1m)"
                        % ", ".join(sysctls.profile_names()))
    p.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    p.add_argument("--list", action="store_true", help="list the shipped profiles and exit")
    _root_arg(p)
    _state_arg(p)
    args = p.parse_args(argv)
    if args.list:
        for name in sysctls.profile_names():
            print(f"{name}  {sysctls.profile_path(name)}")
        return 0
    try:
        return sysctls.apply_profile(args.root, args.profile, args.state, args.dry_run, sys.stdout)
    except (OSError, ValueError) as e:
        print(f"apply: {e}", file=sys.stderr)
        return 2


def revert_main(argv=None):
    p = argparse.ArgumentParser(
        prog="tuning/revert",
        description="Restore the sysctl values recorded by tuning/apply and remove the record.")
    p.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    _root_arg(p)
    _state_arg(p)
    args = p.parse_args(argv)
    try:
        return sysctls.revert_state(args.root, args.state, args.dry_run, sys.stdout)
    except (OSError, ValueError) as e:
        print(f"revert: {e}", file=sys.stderr)
        return 2
