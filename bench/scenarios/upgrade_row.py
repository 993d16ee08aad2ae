"""One server's row of upgrade.sh's table, from its rounds' ringload JSON reports on stdin (one
line each; an empty line is a round whose ringload did not finish). Prints `RATE|ROW`, RATE being
the median round's upgrades/s (0 when no round upgraded anything), for the script's ratios.

Usage: python3 upgrade_row.py NAME CONNECTIONS < reports"""

import json
import statistics
import sys


def main():
    name, connections = sys.argv[1], int(sys.argv[2])
    rounds = [json.loads(line) if line.strip() else None for line in sys.stdin.read().split("\n")[:-1]]
    finished = [r for r in rounds if r is not None]
    rated = sorted((r for r in finished if r["upgrades_per_second"] > 0), key=lambda r: r["upgrades_per_second"])
    # The lower median of an even count is still a real round, whose CPU shares go with its rate.
    median = rated[(len(rated) - 1) // 2] if rated else None
    each = ", ".join(f"{r['upgrades_per_second']:,.0f}" if r else "-" for r in rounds)
    shortfalls = [shortfall(i + 1, r, connections) for i, r in enumerate(rounds)]
    shortfalls = [s for s in shortfalls if s]
    complete = "yes" if not shortfalls else "no: " + "; ".join(shortfalls)
    if median is None:
        print(f"0|| {name} | {connections} | {worst(finished)} | 0 | {each} | | | | {complete} |")
        return
    print(f"{median['upgrades_per_second']:.0f}|| {name} | {connections} | {worst(finished)} | "
          f"{median['upgrades_per_second']:,.0f} | {each} | {median.get('server_ramp_cpu_percent', 0):.0f} | "
          f"{median['ringload_ramp_cpu_percent_per_core']:.0f} | "
          f"{any(r['ringload_ramp_saturated'] for r in finished)} | {complete} |")


def worst(finished):
    return min((r["upgraded"] for r in finished), default=0)


def shortfall(number, report, connections):
    """Why round `number` stopped short of every connection upgraded, or None."""
    if report is None:
        return f"round {number}: ringload did not finish"
    if report["upgraded"] >= connections:
        return None
    causes = [f"errno {code} x{count}" for code, count in report["connect_failures"].items()]
    if report["handshake_failures"]:
        causes.append(f"handshake x{report['handshake_failures']}")
    unsettled = connections - report["upgraded"] - report["failures"]
    if unsettled > 0:
        causes.append(f"{unsettled} still pending when the ramp's time ran out")
    return f"round {number}: {report['upgraded']} of {connections} ({', '.join(causes)})"


if __name__ == "__main__":
    main()
