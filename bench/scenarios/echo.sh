#!/usr/bin/env bash
# Echo throughput on one server core: ringgate's built-in echo against the SwiftNIO and
# Hummingbird peers, each pinned to SERVER_CPU, driven by ringload pinned to CLIENT_CPU.
# Usage: bench/scenarios/echo.sh [SECONDS] [CONNECTIONS] [IN_FLIGHT]
source "$(dirname "$0")/lib.sh"
SECONDS_EACH=${1:-10}
CONNECTIONS=${2:-100}
IN_FLIGHT=${3:-64}
build_all
apply_tuning

rows="| server | size | msgs/s | p50 us | p99 us | server CPU % | ringload CPU % | saturated client |
| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
declare -A rate
measure() {  # NAME PORT SIZE COMMAND...
    local name=$1 port=$2 size=$3
    shift 3
    start_server "$name" "$port" "$@"
    local out
    out=$(run_load echo --url "ws://127.0.0.1:$port/" --connections "$CONNECTIONS" --in-flight "$IN_FLIGHT" \
        --message-size "$size" --duration "$SECONDS_EACH" --workers 1 --server-pid "$SERVER_PID")
    stop_server
    rate[$name-$size]=$(echo "$out" | json 'int(d["messages_per_second"])')
    rows+=$'\n'"$(echo "$out" | json "f'| $name | $size B | {int(d[\"messages_per_second\"])} | {d[\"latency_us\"][\"p50\"]:.0f} | {d[\"latency_us\"][\"p99\"]:.0f} | {d.get(\"server_cpu_percent\", 0):.0f} | {d[\"ringload_cpu_percent\"]:.0f} | {d[\"ringload_saturated\"]} |'")"
}
for size in 32 4096; do
    measure ringgate 18801 "$size" "$RINGGATE" --port 18801 --workers 1 --max-connections 20000
    if [ -x "$NIO_ECHO" ]; then measure nio 18802 "$size" "$NIO_ECHO" --port 18802 --threads 1; fi
    if [ -x "$HB_ECHO" ]; then measure hummingbird 18803 "$size" "$HB_ECHO" --port 18803 --threads 1; fi
done
ratios=""
for size in 32 4096; do
    for peer in nio hummingbird; do
        if [ -n "${rate[$peer-$size]:-}" ] && [ "${rate[$peer-$size]}" -gt 0 ]; then
            ratios+="ringgate/$peer at $size B: $(python3 -c "print(round(${rate[ringgate-$size]}/${rate[$peer-$size]}, 2))")x. "
        fi
    done
done
record "Echo, one server core, $CONNECTIONS connections x $IN_FLIGHT in flight" \
    "bench/scenarios/echo.sh $SECONDS_EACH $CONNECTIONS $IN_FLIGHT" "$rows

$ratios"
