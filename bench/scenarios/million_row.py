"""One row of bench/million.sh's table from ringload's JSON report on stdin.

Every connection attempted is in the row (upgraded, not upgraded, closed by the server during
the hold, held by probe), with the run's problems and flags in words in the last column.
Usage: ringload ... --json | python3 million_row.py RINGS
"""
import json
import sys


def main():
    rings = sys.argv[1]
    d = json.load(sys.stdin)
    words = d["problems"] + d["flags"]
    flags = "**" + "; ".join(words) + "**" if words else "none"
    us = d.get("server_us_per_upgrade_ramp")
    slab = d.get("kernel_slab_bytes_per_connection_pair", 0)
    avail = d.get("kernel_bytes_per_connection_pair", 0)
    cells = [
        f"{d['attempted']:,}", rings, f"{d['attempted']:,}", f"{d['upgraded']:,}", f"{d['not_upgraded']:,}",
        f"{d['closed_by_server_in_hold']:,}", f"{d['held']:,}", f"{d['ramp_seconds']:.1f}",
        f"{d['messages_sent']:,} / {d['messages_received']:,}", f"{d['latency_us']['p99'] / 1000:.1f}",
        f"{us:.1f}" if us is not None else "",
        f"{d.get('server_cpu_percent', 0):.1f} / {d['ringload_ramp_cpu_percent_per_core']:.0f}, "
        f"{d['ringload_cpu_percent_per_core']:.0f}",
        f"{d.get('server_anon_bytes_per_connection', 0):.0f}", f"{slab:,.0f} / {avail:,.0f}", flags,
    ]
    print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
