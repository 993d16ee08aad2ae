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

rows="| connections | rings | upgraded | failed | ramp s | messages sent | received | p99 latency ms | gateway user B/conn | kernel B/pair | gateway CPU % holding | ringload CPU % ramp / hold | saturated client |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
for N in "${SIZES[@]}"; do
    wait_for_teardown
    RINGS=$(( (N + PER_RING - 1) / PER_RING ))
    SOURCES=$(( (N + 9999) / 10000 ))
    if ! in_ns "$ROOT/tuning/check" --connections "$N" --workers "$RINGS" --source-addresses "$SOURCES" >/tmp/million-check.txt; then
        echo "tuning/check says this host cannot hold $N connections:" >&2
        grep '^FAIL' /tmp/million-check.txt >&2
        break
    fi
    start_server ringgate 18901 "$RINGGATE" --port 18901 --workers "$RINGS" --max-connections "$N" \
        --buffer-count 64 --ping-interval 30 --pong-timeout 10 --stats-interval 0 --batch-wait-us 2000 ${GATEWAY_ARGS:-}
    out=$(timeout $(( N / 5000 + HOLD + 120 )) "${IN_NS[@]}" taskset -c "$CLIENT_CPU" "$RINGLOAD" "$SCENARIO" \
        --url ws://127.0.0.1:18901/ --connections "$N" --workers "$RINGS" --source-addresses "$SOURCES" \
        --duration "$HOLD" --trickle-min "$TRICKLE_MIN" --trickle-max "$TRICKLE_MAX" --buffer-count 64 \
        --ramp 20000 --server-pid "$SERVER_PID" ${LOAD_ARGS:-} --json 2>/dev/null) || true
    SETTLE_SECONDS=1 stop_server
    echo "$out" >"/tmp/million-$N.json"   # the whole report, failures by cause included
    if [ -z "$out" ]; then
        echo "ringload did not finish for $N connections" >&2
        break
    fi
    rows+=$'\n'"$(echo "$out" | json "f'| $N | $RINGS | {d[\"upgraded\"]} | {d[\"failures\"]} | {d[\"ramp_seconds\"]:.1f} | {d[\"messages_sent\"]} | {d[\"messages_received\"]} | {d[\"latency_us\"][\"p99\"]/1000:.1f} | {d.get(\"server_anon_bytes_per_connection\", 0):.0f} | {d.get(\"kernel_bytes_per_connection_pair\", 0):.0f} | {d.get(\"server_cpu_percent\", 0):.1f} | {d[\"ringload_ramp_cpu_percent_per_core\"]:.0f} / {d[\"ringload_cpu_percent_per_core\"]:.0f} | {d[\"ringload_ramp_saturated\"] or d[\"ringload_saturated\"]} |'")"
    echo "$rows" | tail -1
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
batch of completions (--batch-wait-us 2000); ringload in the $SCENARIO
scenario on the other core, parked between messages. ${NS_NOTE}Messages sent and received are counted by
ringload (every 1-byte message echoed). User B/conn is the gateway's anonymous memory growth;
kernel B/pair the MemAvailable drop for both ends of each loopback pair. ringload CPU is per core
it ran on (all its rings share CLIENT_CPU), over the ramp and over the hold; saturated client:
above 90 % in either, and then the gateway's figures are bounds set by the client."
