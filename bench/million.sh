#!/usr/bin/env bash
# The headline run: N concurrent WebSocket connections on this one machine, gateway and load
# generator side by side, each connection sending 1 byte at random intervals while the gateway
# pings the quiet ones. Stepwise sizes show where a failure starts.
#
# Usage: bench/million.sh [SIZE ...]       (default: 100000 250000 500000 1000000)
#   HOLD=60      seconds to hold each size once every connection is up
#   TRICKLE="10 60"  a connection's message interval range, seconds
#   SCENARIO=idle    hold the connections silent instead (only the gateway's pings and their
#                    pongs): the gateway's idle CPU while holding
#   GATEWAY_ARGS, LOAD_ARGS  extra arguments for ringgate and ringload
#   RINGGATE_BINARY, RINGLOAD_BINARY  prebuilt binaries to run instead of building
#   EHASH=0      run in the host's network namespace instead of one with a TCP hash sized for
#                the largest size (see make_netns in scenarios/lib.sh)
#   RAMP=12000   new connections per second
#
# Every connection is counted: attempted, upgraded, not upgraded by the end of the ramp,
# closed by the server during the hold, and held: at the end of the hold each connection sends
# a probe and is held only if its echo comes back. The script exits 1 when any connection was
# not upgraded or not held, the ramp hit its limit, ringload was above 90 % of its core, or the
# trickle ran below 90 % of its nominal rate; the table's last column says which.
#
# Each size: wait until the previous size's sockets are gone, ask tuning/check whether the host
# can hold N (refuse with its reason when not), start ringgate with enough rings for N (each
# ring's table stops at the open-file limit), run ringload trickle, stop, record. Every phase is
# bounded; the c1m tuning profile is applied for the run and reverted on exit.
source "$(dirname "$0")/scenarios/lib.sh"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 250000 500000 1000000)
HOLD=${HOLD:-60}
read -r TRICKLE_MIN TRICKLE_MAX <<<"${TRICKLE:-10 60}"
SCENARIO=${SCENARIO:-trickle}
PER_RING=15000   # below the 20000 cap: SO_REUSEPORT spreads connections by hash, not evenly
# New connections per second: paced below what one client core can open (bench/RESULTS.md,
# "ringload's ceiling"), so the client's saturation does not set the ramp.
RAMP=${RAMP:-12000}

if [ -n "${RINGGATE_BINARY:-}" ] && [ -n "${RINGLOAD_BINARY:-}" ]; then
    RINGGATE=$RINGGATE_BINARY   # prebuilt binaries, for a before/after pair in one session
    RINGLOAD=$RINGLOAD_BINARY
else
    SKIP_PEERS=1 build_all
fi
apply_tuning
if [ "${EHASH:-1}" != 0 ]; then
    largest=$(printf '%s\n' "${SIZES[@]}" | sort -n | tail -1)
    buckets=65536   # a power of two at least twice the sockets (both ends of each pair), at most 2^24
    while [ "$buckets" -lt $(( largest * 2 )) ] && [ "$buckets" -lt 16777216 ]; do buckets=$(( buckets * 2 )); done
    make_netns "$buckets"
fi

tcp_in_use() { in_ns awk '/^TCP:/ { print $3 }' /proc/net/sockstat; }

# A new size must not start while the last one's sockets are still closing.
wait_for_teardown() {
    for _ in $(seq 1 360); do
        [ "$(tcp_in_use)" -lt 1000 ] && return 0
        sleep 0.5
    done
    echo "sockets of the previous run are still closing after 180 s: $(tcp_in_use) in use" >&2
    exit 1
}

rows="| connections | rings | attempted | upgraded | not upgraded | closed by server in hold | held (probe echoed) | ramp s | messages sent / received | p99 ms | gateway CPU µs per upgrade (ramp) | gateway CPU % hold / ringload CPU % ramp, hold | gateway user B/conn | kernel slab B/pair / MemAvailable B/pair | flags |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
failed=0
for N in "${SIZES[@]}"; do
    wait_for_teardown
    RINGS=$(( (N + PER_RING - 1) / PER_RING ))
    SOURCES=$(( (N + 9999) / 10000 ))
    if ! in_ns "$ROOT/tuning/check" --connections "$N" --workers "$RINGS" --source-addresses "$SOURCES" >/tmp/million-check.txt; then
        echo "tuning/check says this host cannot hold $N connections:" >&2
        grep '^FAIL' /tmp/million-check.txt >&2
        failed=1
        break
    fi
    start_server ringgate 18901 "$RINGGATE" --port 18901 --workers "$RINGS" --max-connections "$N" \
        --buffer-count 64 --ping-interval 30 --pong-timeout 10 --stats-interval 0 --batch-wait-us 2000 ${GATEWAY_ARGS:-}
    # ringload's progress lines and errors go to its log, never away.
    log="/tmp/million-$N.ringload.log"
    status=0
    out=$(timeout $(( N / 5000 + HOLD + 160 )) "${IN_NS[@]}" taskset -c "$CLIENT_CPU" "$RINGLOAD" "$SCENARIO" \
        --url ws://127.0.0.1:18901/ --connections "$N" --workers "$RINGS" --source-addresses "$SOURCES" \
        --duration "$HOLD" --trickle-min "$TRICKLE_MIN" --trickle-max "$TRICKLE_MAX" --buffer-count 64 \
        --ramp "$RAMP" --batch-wait-us 2000 --server-pid "$SERVER_PID" ${LOAD_ARGS:-} --json 2>"$log") || status=$?
    SETTLE_SECONDS=1 stop_server
    echo "$out" >"/tmp/million-$N.json"   # the whole report, failures by cause included
    if [ -z "$out" ]; then
        echo "ringload did not finish for $N connections (status $status); its log: $log" >&2
        tail -5 "$log" >&2
        failed=1
        rows+=$'\n'"| $N | $RINGS | $N | | | | 0 | | | | | | | | **ringload did not finish (status $status)** |"
        break
    fi
    rows+=$'\n'"$(echo "$out" | python3 "$ROOT/bench/scenarios/million_row.py" "$RINGS")"
    echo "$rows" | tail -1
    # Lost connections (ringload's exit status 1) or any flag fail the script: the row says why.
    if [ "$status" != 0 ] || [ "$(echo "$out" | json 'len(d["flags"])')" != 0 ]; then failed=1; fi
done
if [ "$SCENARIO" = idle ]; then what="idle"; else what="trickle ${TRICKLE_MIN}-${TRICKLE_MAX} s"; fi
shown="HOLD=$HOLD bench/million.sh ${SIZES[*]}"
[ "$SCENARIO" = trickle ] || shown="SCENARIO=$SCENARIO $shown"
[ -z "${GATEWAY_ARGS:-}" ] || shown="GATEWAY_ARGS='$GATEWAY_ARGS' $shown"
NS_NOTE=""
if [ -n "${BENCH_NETNS:-}" ]; then
    NS_NOTE="Both ran in a network namespace whose TCP established hash has $buckets buckets (the host's
has $(sysctl -n net.ipv4.tcp_ehash_entries)). "
fi
record "Concurrent connections, $what, hold ${HOLD} s" \
    "$shown" "$rows

Gateway: ringgate, pings after 30 s of silence, parked once upgraded, each worker woken once per
batch of completions (--batch-wait-us 2000); ringload in the $SCENARIO scenario on the other
core, ramp paced at $RAMP/s, parked between messages, its rings also woken per batch. ${NS_NOTE}
Held: the connection's end-of-hold probe came back. Messages are counted by ringload (every
1-byte message echoed). Gateway CPU per upgrade is its CPU seconds over the ramp (from
/proc/PID/stat) divided by the upgrades, so it includes what the connections already up did
meanwhile (trickle, pings). User B/conn is the gateway's anonymous memory growth. Kernel B/pair
for both ends of each loopback pair: slab objects in use (/proc/slabinfo), and the drop in
MemAvailable beside it. ringload CPU is per core it ran on (all its rings share CLIENT_CPU).
Flags: a client above 90 % of its core (the figures are then bounds set by the client), a trickle
below 90 % of its nominal rate, lost connections; any flag fails the script (exit 1)."
exit "$failed"
