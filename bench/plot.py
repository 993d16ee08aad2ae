#!/usr/bin/env python3
"""Draws bench/results.png: RingGate against SwiftNIO, Hummingbird and uWebSockets, from the newest sections
the scenario scripts appended to bench/RESULTS.md (below "Runs appended by the scenario scripts"):
idle memory per connection at 19,000, echo messages/s at 32 B and 4 KiB, the upgrade rate when
upgrade.sh has run, and kernel bytes per loopback pair with the kernel floor when idle.sh
measured it, and against uWebSockets the server CPU per echoed message by size (echo_sizes.sh)
and burst broadcast deliveries (broadcast.sh 19000). Each panel names the run it comes from. Installs matplotlib with pip when missing.

Usage: python3 bench/plot.py [RESULTS.md] [OUT.png]"""

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVERS = [("ringgate", "RingGate", "#1f6feb"), ("nio", "SwiftNIO", "#f0883e"), ("hummingbird", "Hummingbird", "#8957e5")]
FLOOR_ROW = "plain socket pairs, nothing armed (kernel floor)"


def matplotlib_pyplot():
    try:
        import matplotlib
    except ImportError:
        # Debian's Python refuses a plain pip install outside a virtualenv (PEP 668).
        install = [sys.executable, "-m", "pip", "install", "-q", "matplotlib"]
        if subprocess.run(install, stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(install + ["--break-system-packages"], check=True)
        import matplotlib
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as pyplot
    return pyplot


class Section:
    """One appended run: its title, its "date, commit ..." line and its first table."""

    def __init__(self, text):
        lines = text.split("\n")
        self.title = lines[0].strip()
        self.stamp = lines[1].split(", x86_64")[0].strip() if len(lines) > 1 else ""
        table = []
        for line in lines:
            if line.startswith("|"):
                table.append(line)
            elif table:
                break  # the first table only
        header = cells(table[0]) if table else []
        self.rows = [dict(zip(header, cells(line))) for line in table[2:]]

    def row(self, first_cell_prefix):
        return next((r for r in self.rows if next(iter(r.values()), "").startswith(first_cell_prefix)), None)


def cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def number(text):
    match = re.match(r"-?[\d,]+(\.\d+)?", (text or "").strip())
    return float(match.group(0).replace(",", "")) if match else None


def appended_sections(results):
    text = results.read_text()
    _, _, appended = text.partition("## Runs appended by the scenario scripts")
    return [Section(part) for part in appended.split("\n### ")[1:]]


def newest(sections, pattern):
    matching = [s for s in sections if re.match(pattern, s.title)]
    return matching[-1] if matching else None


def column(row, *names):
    """The first of `names` the row has (older runs named some columns differently)."""
    for name in names:
        if row and name in row:
            return number(row[name])
    return None


def bars(axis, labels, values, colors, unit, log):
    shown = [(l, v, c) for l, v, c in zip(labels, values, colors) if v]
    positions = range(len(shown))
    axis.bar(positions, [v for _, v, _ in shown], color=[c for _, _, c in shown], width=0.6)
    axis.set_xticks(list(positions), [l for l, _, _ in shown])
    for x, (_, v, _) in zip(positions, shown):
        axis.annotate(f"{v:,.0f}", (x, v), ha="center", va="bottom", fontsize=9,
                      xytext=(0, 2), textcoords="offset points")
    if log:
        axis.set_yscale("log")
        axis.set_ylim(min(v for _, v, _ in shown) / 3, max(v for _, v, _ in shown) * 4)
    else:
        from matplotlib.ticker import StrMethodFormatter  # installed by now
        axis.set_ylim(0, max(v for _, v, _ in shown) * 1.18)
        axis.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axis.set_ylabel(unit)


def missing(axis, title, why):
    axis.set_title(title, fontsize=10)
    axis.text(0.5, 0.5, why, ha="center", va="center", transform=axis.transAxes, color="gray", wrap=True)
    axis.set_xticks([])
    axis.set_yticks([])


def ratio(ringgate, peer, inverse=False):
    if not ringgate or not peer:
        return ""
    if inverse:
        return f"1/{peer / ringgate:.0f}"
    # Two decimals near a target like 2.5x, so 2.49 does not print as 2.5.
    return f"{ringgate / peer:.2f}x" if ringgate / peer < 10 else f"{ringgate / peer:.1f}x"


def idle_memory(axis, idle):
    title = "User-space memory per idle connection"
    if idle is None:
        return missing(axis, title, "no idle.sh run at 19,000 yet")
    values = [column(idle.row(key), "user B/conn (anon)", "user B/conn") for key, _, _ in SERVERS]
    bars(axis, [n for _, n, _ in SERVERS], values, [c for _, _, c in SERVERS], "bytes per connection (log)", log=True)
    axis.set_title(f"{title}\n19,000 held; RingGate {ratio(values[0], values[1], inverse=True)} of SwiftNIO's"
                   f"\n{idle.stamp}", fontsize=10)


def echo_rate(axis, echo):
    title = "Echo messages per second, one server core each"
    if echo is None:
        return missing(axis, title, "no echo.sh run yet")
    width = 0.38
    for offset, size, label in ((-width / 2, "32 B", "32 B"), (width / 2, "4096 B", "4 KiB")):
        rows = {r["server"]: r for r in echo.rows if r.get("size") == size}
        values = [column(rows.get(key), "msgs/s") or 0 for key, _, _ in SERVERS]
        positions = [i + offset for i in range(len(SERVERS))]
        hatch = None if size == "32 B" else "//"
        axis.bar(positions, values, width=width, color=[c for _, _, c in SERVERS], hatch=hatch,
                 edgecolor="white", label=label)
        for x, v in zip(positions, values):
            if v:
                axis.annotate(f"{v / 1000:,.0f}k", (x, v), ha="center", va="bottom", fontsize=8,
                              xytext=(0, 2), textcoords="offset points")
    axis.set_xticks(range(len(SERVERS)), [n for _, n, _ in SERVERS])
    axis.set_yscale("log")
    axis.set_ylim(5_000, 20_000_000)
    axis.set_ylabel("messages per second (log)")
    axis.legend(title="message size", fontsize=8, title_fontsize=8, loc="upper right")
    ringgate = column(next((r for r in echo.rows if r["server"] == "ringgate" and r["size"] == "32 B"), None), "msgs/s")
    nio = column(next((r for r in echo.rows if r["server"] == "nio" and r["size"] == "32 B"), None), "msgs/s")
    shape = echo.title.split(",", 2)[-1].strip()
    axis.set_title(f"{title}\n{shape}; RingGate {ratio(ringgate, nio)} SwiftNIO at 32 B\n{echo.stamp}", fontsize=10)


def upgrade_rate(axis, upgrade):
    title = "Upgrades per second (connect + WebSocket handshake)"
    if upgrade is None:
        return missing(axis, title, "no upgrade.sh run yet:\nbench/scenarios/upgrade.sh")
    values = [column(upgrade.row(key), "upgrades/s (median)") for key, _, _ in SERVERS]
    bars(axis, [n for _, n, _ in SERVERS], values, [c for _, _, c in SERVERS], "upgrades per second", log=False)
    axis.set_title(f"{title}\n{upgrade.title.split(',', 2)[-1].strip()}, one server core; RingGate "
                   f"{ratio(values[0], values[1])} SwiftNIO\n{upgrade.stamp}", fontsize=10)


def kernel_memory(axis, idle):
    # Slab objects in use where the run has them: MemAvailable reads low for every run after the
    # first, which reuses the objects the first one freed (RESULTS.md).
    slab = idle is not None and column(idle.row(FLOOR_ROW), "kernel slab B/pair") is not None
    key = "kernel slab B/pair" if slab else "kernel B/pair"
    what = "slab objects in use" if slab else "MemAvailable drop"
    title = f"Kernel memory per loopback pair (both sockets, {what})"
    if idle is None:
        return missing(axis, title, "no idle.sh run at 19,000 yet")
    values = [column(idle.row(name), key) for name, _, _ in SERVERS]
    bars(axis, [n for _, n, _ in SERVERS], values, [c for _, _, c in SERVERS], "bytes per pair", log=False)
    floor = column(idle.row(FLOOR_ROW), key)
    if floor:
        axis.axhline(floor, color="black", linestyle="--", linewidth=1,
                     label=f"kernel floor: plain socket pairs, nothing armed ({floor:,.0f})")
        axis.legend(loc="upper left", fontsize=8)
        note = "dashed: the kernel floor" if slab else "dashed: the kernel floor (run first; later runs read low)"
    else:
        note = "this run has no kernel-floor row"
    axis.set_title(f"{title}\n19,000 held, RingGate parked; {note}\n{idle.stamp}", fontsize=10)


def uws_echo(axis, run):
    title = "Server CPU per echoed message: RingGate / uWebSockets"
    if run is None:
        return missing(axis, title, "no echo_sizes.sh run yet:\nbench/scenarios/echo_sizes.sh")
    labels, values = [], []
    for row in run.rows:
        if row.get("server") != "ringgate":
            continue
        peer = next((r for r in run.rows if r.get("server") == "uws" and r.get("size x in flight") == row.get("size x in flight")), None)
        mine, theirs = column(row, "server CPU s per million"), column(peer, "server CPU s per million")
        if mine and theirs:
            labels.append(row["size x in flight"].replace(" x ", "\nx "))
            values.append(mine / theirs)
    if not values:
        return missing(axis, title, "the newest echo_sizes.sh run has no uWS rows")
    colors = ["#1f6feb" if v <= 1 else "#d1242f" for v in values]
    axis.bar(range(len(values)), values, color=colors, width=0.6)
    axis.set_xticks(range(len(values)), labels, fontsize=8)
    for x, v in enumerate(values):
        axis.annotate(f"{v:.2f}", (x, v), ha="center", va="bottom", fontsize=9, xytext=(0, 2), textcoords="offset points")
    axis.axhline(1.0, color="black", linestyle="--", linewidth=1, label="uWebSockets (1.0); below: RingGate cheaper")
    axis.legend(loc="upper left", fontsize=8)
    axis.set_ylim(0, max(values + [1.0]) * 1.25)
    axis.set_ylabel("RingGate CPU / uWS CPU, same run")
    axis.set_title(f"{title}\ndefault settings, 100 connections, one server core each\n{run.stamp}", fontsize=10)


def uws_broadcast(axis, run):
    title = "Burst broadcast, 20 x 64 B back to back: deliveries per second"
    rows = [] if run is None else [r for r in run.rows if "back to back" in r.get("publish", "")]
    mine = next((r for r in rows if r.get("gateway workers") != "uWS"), None)
    theirs = next((r for r in rows if r.get("gateway workers") == "uWS"), None)
    if not mine or not theirs:
        return missing(axis, title, "no broadcast.sh run with uWS rows yet:\nbench/scenarios/broadcast.sh 19000")
    values = [column(mine, "deliveries/s"), column(theirs, "deliveries/s")]
    bars(axis, ["RingGate", "uWebSockets"], values, ["#1f6feb", "#57606a"], "deliveries per second", log=False)
    axis.set_title(f"{title}\n{mine.get('subscribers')} subscribers of one topic; RingGate {ratio(values[0], values[1])} uWS"
                   f"\n{run.stamp}", fontsize=10)


def main():
    results = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "RESULTS.md"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "results.png"
    sections = appended_sections(results)
    idle = newest(sections, r"Idle connections: 19000,")
    # The memory panel compares within one run: the newest that measured the peers too.
    idle_with_peers = next((x for x in reversed(sections)
                            if re.match(r"Idle connections: 19000,", x.title) and x.row("nio")), idle)
    echo = newest(sections, r"Echo, one server core")
    upgrade = newest(sections, r"Upgrade rate, one server core")
    sizes = newest(sections, r"Echo at default settings, 100 connections, ringgate and uWebSockets")
    broadcast = newest(sections, r"Broadcast: one topic, 64-byte messages, 19000")
    pyplot = matplotlib_pyplot()
    figure, axes = pyplot.subplots(3, 2, figsize=(13, 14))
    idle_memory(axes[0][0], idle_with_peers)
    echo_rate(axes[0][1], echo)
    upgrade_rate(axes[1][0], upgrade)
    kernel_memory(axes[1][1], idle)
    uws_echo(axes[2][0], sizes)
    uws_broadcast(axes[2][1], broadcast)
    for axis in axes.flat:
        axis.grid(axis="y", alpha=0.3)
        axis.set_axisbelow(True)
    figure.suptitle("RingGate against SwiftNIO, Hummingbird and uWebSockets, same machine, one server core each",
                    fontsize=13)
    figure.text(0.5, 0.005, f"From the newest runs in {results.name} (date, commit of each under its title). "
                "2 shared cores, loopback; ratios within one run.", ha="center", fontsize=8, color="dimgray")
    figure.tight_layout(rect=(0, 0.02, 1, 0.97))
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
