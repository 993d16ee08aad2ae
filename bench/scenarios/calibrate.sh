#!/usr/bin/env bash
# ringload's ceiling, and the kernel's floor under the gateway's figures: the same ringload runs
# against ringgate, against a trivial C server that costs next to nothing per connection
# (scenarios/floor_server.c: epoll, a fixed 101, frames echoed blindly, optional pings), and
# against uWebSockets when its echo server is built (../shared/peers/build.sh), all pinned to
# SERVER_CPU with ringload on CLIENT_CPU, in one run:
#   - upgrades: N connections, unpaced ramp bounded by --max-pending; server CPU per upgrade
#     and the client's CPU beside it. If ringload is saturated against the floor server, one
#     client core cannot out-run one server core on loopback, and the figure to quote is the
#     server's CPU per upgrade, not the rate.
#   - echo: 32 B, 100 connections x 16 in flight, 10 s; server CPU per million messages.
#   - pings: N idle connections for HOLD seconds, each pinged every PING_INTERVAL seconds;
#     server CPU per ping round trip (ringgate against the floor server's plain send/recv).
# Usage: bench/scenarios/calibrate.sh [CONNECTIONS]   (default 19000: under the open-file limit,
# which caps the floor server and uWS). UWS_DIR (default /tmp/uws-peers), ROUNDS (3), HOLD (20),
# PING_INTERVAL (2).
source "$(dirname "$0")/lib.sh"
N=${1:-19000}
ROUNDS=${ROUNDS:-3}
HOLD=${HOLD:-20}
PING_INTERVAL=${PING_INTERVAL:-2}
UWS=${UWS_DIR:-/tmp/uws-peers}/echoserver
FLOOR=/tmp/ringgate-floor-server
SKIP_PEERS=1 build_all
cc -O2 -Wall -o "$FLOOR" "$ROOT/bench/scenarios/floor_server.c" -lcrypto
apply_tuning

servers=(ringgate floor)
[ -x "$UWS" ] && servers+=(uws)
start() {  # NAME PORT [ping interval [pong timeout]]
    case $1 in
        ringgate) start_server ringgate "$2" "$RINGGATE" --port "$2" --workers 1 --max-connections "$N" \
            --ping-interval "${3:-600}" --pong-timeout "${4:-10}" ;;
        floor) start_server floor "$2" "$FLOOR" "$2" ${3:+--ping-interval "$3"} ;;
        uws) start_server uws "$2" "$UWS" "$2" ;;
    esac
}
load() {  # ringload ARGS... -> JSON on stdout (empty if it did not finish); its log is kept
    timeout 300 "${IN_NS[@]}" taskset -c "$CLIENT_CPU" "$RINGLOAD" "$@" --server-pid "$SERVER_PID" \
        --json 2>>/tmp/calibrate-ringload.log || true
}
: >/tmp/calibrate-ringload.log

up="| server | round | upgraded of $N | upgrades/s | server CPU µs per upgrade | server CPU % | ringload CPU % | flags |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
echo_rows="| server | msgs/s | server CPU s per million | server CPU % | ringload CPU % | flags |
| --- | ---: | ---: | ---: | ---: | --- |"
port=18861
for s in "${servers[@]}"; do
    port=$((port + 1))
    start "$s" "$port"
    for round in $(seq 1 "$ROUNDS"); do
        out=$(load idle --url "ws://127.0.0.1:$port/" --connections "$N" --duration 1 --workers 2 \
            --ramp 1000000000 --max-pending 1000)
        up+=$'\n'"$(echo "$out" | python3 -c "
import json,sys
t=sys.stdin.read().strip()
if not t: print('| $s | $round | did not finish | | | | | |'); sys.exit()
d=json.loads(t); cpu=d.get('server_ramp_cpu_percent',0)
per=cpu/100*d['ramp_seconds']/max(1,d['upgraded'])*1e6
print(f\"| $s | $round | {d['upgraded']:,} | {d['upgrades_per_second']:,.0f} | {per:.1f} | {cpu:.0f} | {d['ringload_ramp_cpu_percent_per_core']:.0f} | {'; '.join(d['problems']+d['flags']) or 'none'} |\")")"
        sleep 2
    done
    out=$(load echo --url "ws://127.0.0.1:$port/" --connections 100 --in-flight 16 --message-size 32 \
        --duration 10 --workers 1)
    echo_rows+=$'\n'"$(echo "$out" | python3 -c "
import json,sys
t=sys.stdin.read().strip()
if not t: print('| $s | did not finish | | | | |'); sys.exit()
d=json.loads(t); cpu=d.get('server_cpu_percent',0); rate=d['messages_per_second']
print(f\"| $s | {rate:,.0f} | {cpu/100/rate*1e6:.2f} | {cpu:.0f} | {d['ringload_cpu_percent_per_core']:.0f} | {'; '.join(d['problems']+d['flags']) or 'none'} |\")")"
    stop_server
done

ping_rows="| server | connections | pings answered in the hold | server CPU % | server CPU µs per ping | flags |
| --- | ---: | ---: | ---: | ---: | --- |"
for s in ringgate floor; do
    port=$((port + 1))
    # A pong timeout under the interval: ringgate checks for the pong when it times out, and pings
    # again from there, so a longer timeout would stretch the period past the interval.
    start "$s" "$port" "$PING_INTERVAL" 1
    out=$(load idle --url "ws://127.0.0.1:$port/" --connections "$N" --duration "$HOLD" --workers 2 --ramp 20000)
    ping_rows+=$'\n'"$(echo "$out" | python3 -c "
import json,sys
t=sys.stdin.read().strip()
if not t: print('| $s | $N | did not finish | | | |'); sys.exit()
d=json.loads(t); cpu=d.get('server_cpu_percent',0); pings=max(1,d['pings_answered'])
print(f\"| $s | {d['upgraded']:,} | {d['pings_answered']:,} | {cpu:.1f} | {cpu/100*d['hold_seconds']/pings*1e6:.2f} | {'; '.join(d['problems']+d['flags']) or 'none'} |\")")"
    stop_server
done

record "ringload's ceiling and the kernel's floor, one server core, $N connections" \
    "bench/scenarios/calibrate.sh $N" "Upgrades (unpaced ramp, --max-pending 1000 per ring, 2 rings):

$up

Echo, 32 B, 100 connections x 16 in flight, 10 s:

$echo_rows

Pings: $N idle connections, each pinged every $PING_INTERVAL s ($(( N / PING_INTERVAL )) pings/s), held $HOLD s; the floor
server pings with plain send(2) and reads the pong with recv(2), nothing else:

$ping_rows

floor: bench/scenarios/floor_server.c (epoll, one thread, a 101 with the accept value computed,
frames echoed unmasked). Server CPU from /proc/PID/stat over the ramp or the hold; per ping it is
the hold's CPU seconds over the pings answered in it. ringload's log:
/tmp/calibrate-ringload.log.

Bounds: in a row flagged \"client saturated\", upgrades/s and msgs/s are lower bounds on the
server's rate, set by ringload; the server CPU per upgrade, per million messages and per ping is
the server's own CPU over its own events and holds whoever is the limit."
