#!/usr/bin/env bash
# Upgrade rate on one server core: connects plus WebSocket handshakes per second, ringgate (one
# worker) against the SwiftNIO and Hummingbird peers (one thread each), all pinned to SERVER_CPU.
# ringload, on CLIENT_CPU, ramps unpaced: only --max-pending (MAX_PENDING connections per ring
# between connect and upgrade) holds it back, so the server sets the rate without its listen
# backlog overflowing. idle.sh paces its ramp, so its ramp times are ringload's pace, not this.
# Each server runs ROUNDS ramps of N connections (closed between rounds); the table keeps the
# median and every round.
# Usage: bench/scenarios/upgrade.sh [CONNECTIONS]   (default 19000: below the 20,000 open-file
# limit, which caps the peers; they keep every socket in their fd table)
# MAX_PENDING (default 1000 per ring; two rings stay under the servers' 4096 backlog), ROUNDS (3).
source "$(dirname "$0")/lib.sh"
N=${1:-19000}
MAX_PENDING=${MAX_PENDING:-1000}
ROUNDS=${ROUNDS:-3}
LOAD_WORKERS=$(( (N + 18999) / 19000 + 1 ))
build_all
apply_tuning

rows="| server | connections | upgraded (worst round) | upgrades/s (median) | each round | server CPU % during ramp | ringload CPU % during ramp | saturated client | ramp complete |
| --- | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |"
declare -A rate
# One ramp of N connections, held for a second and closed; prints ringload's JSON (empty if it
# did not finish within its bound).
one_ramp() {  # PORT
    timeout $(( N / 1000 + 90 )) "${IN_NS[@]}" taskset -c "$CLIENT_CPU" "$RINGLOAD" idle \
        --url "ws://127.0.0.1:$1/" --connections "$N" --duration 1 --workers "$LOAD_WORKERS" \
        --ramp 1000000000 --max-pending "$MAX_PENDING" --server-pid "$SERVER_PID" --buffer-count 64 \
        --json 2>/dev/null || true
}
measure() {  # NAME PORT COMMAND...
    local name=$1 port=$2 reports=()
    shift 2
    start_server "$name" "$port" "$@"
    for round in $(seq 1 "$ROUNDS"); do
        reports+=("$(one_ramp "$port")")
        if [ "$round" -lt "$ROUNDS" ]; then sleep "${SETTLE_SECONDS:-3}"; fi
    done
    stop_server
    local summary
    summary=$(printf '%s\n' "${reports[@]}" | python3 "$ROOT/bench/scenarios/upgrade_row.py" "$name" "$N")
    rate[$name]=${summary%%|*}
    rows+=$'\n'"${summary#*|}"
}
measure ringgate 18841 "$RINGGATE" --port 18841 --workers 1 --max-connections "$N" --buffer-count 64
# The peers keep sockets in the fd table, so the open-file limit caps them; past it they are skipped.
if [ "$N" -lt "$(ulimit -Hn)" ]; then
    if [ -x "$NIO_ECHO" ]; then measure nio 18842 "$NIO_ECHO" --port 18842 --threads 1; fi
    if [ -x "$HB_ECHO" ]; then measure hummingbird 18843 "$HB_ECHO" --port 18843 --threads 1; fi
fi
ratios=""
for peer in nio hummingbird; do
    if [ "${rate[$peer]:-0}" != 0 ] && [ "${rate[ringgate]:-0}" != 0 ]; then
        ratios+="ringgate/$peer: $(python3 -c "print(round(${rate[ringgate]}/${rate[$peer]}, 2))")x. "
    fi
done
record "Upgrade rate, one server core, $N connections" "bench/scenarios/upgrade.sh $N" "$rows

${ratios:-No ratio: a peer was skipped or upgraded nothing. }Target (issue 7): ringgate at least 2.5x SwiftNIO.

Upgrades/s: connections upgraded over the span from ringload's first connect to the last 101 it
read, ringload ramping unpaced: only --max-pending held it back, at most $MAX_PENDING connections
per ring awaiting upgrade ($LOAD_WORKERS rings). $ROUNDS rounds per server, each a fresh ramp
after the last one closed. CPU shares are over the median round's ramp; the client counts as
saturated when it was above 90 % of its core in any round's ramp. On loopback the client's
connect runs much of the TCP handshake in its own context, so with a saturated client the figure
is a lower bound. A ramp that did not complete says how many connections it lost and why."
