#!/usr/bin/env bash
# Echo at default settings, ringgate against uWebSockets, message sizes from 32 B to 64 KiB: server
# CPU per message (the figure to compare: both servers on SERVER_CPU, one ringload on CLIENT_CPU)
# and every connection the server closed. No server option is changed from its default except the
# port and one worker, so a close here is one a user with default settings would see.
# Usage: bench/scenarios/echo_sizes.sh [SECONDS]   UWS_DIR (default /tmp/uws-peers) holds uWS's
# echoserver; it is built there from ../shared/peers when missing and that source is present.
# Exits 1 when any row is flagged (a close, a saturated client, refused sends).
source "$(dirname "$0")/lib.sh"
SECONDS_EACH=${1:-6}
UWS_DIR=${UWS_DIR:-/tmp/uws-peers}
UWS="$UWS_DIR/echoserver"
SKIP_PEERS=1 build_all
if [ ! -x "$UWS" ] && [ -x "$ROOT/../shared/peers/build.sh" ]; then
    "$ROOT/../shared/peers/build.sh" "$UWS_DIR" >/dev/null
fi
servers=(ringgate)
[ -x "$UWS" ] && servers+=(uws)

cases=("32 16" "32 128" "4096 16" "16384 16" "65536 8")
rows="| size x in flight | server | msgs/s | server CPU s per million | server CPU % | closed by the server | ringload CPU % | flags |
| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
declare -A per_million
flagged=0
port=18880
for case in "${cases[@]}"; do
    read -r size in_flight <<<"$case"
    for s in "${servers[@]}"; do
        port=$((port + 1))
        case $s in
            ringgate) start_server ringgate "$port" "$RINGGATE" --port "$port" --workers 1 ;;
            uws) start_server uws "$port" "$UWS" "$port" ;;
        esac
        out=$(timeout 120 "${IN_NS[@]}" taskset -c "$CLIENT_CPU" "$RINGLOAD" echo --url "ws://127.0.0.1:$port/" \
            --connections 100 --in-flight "$in_flight" --message-size "$size" --duration "$SECONDS_EACH" \
            --workers 1 --server-pid "$SERVER_PID" --json 2>/dev/null || true)
        stop_server
        row=$(echo "$out" | python3 -c "
import json,sys
t=sys.stdin.read().strip()
if not t: print('0\t1\t| $size B x $in_flight | $s | did not finish | | | | | |'); sys.exit()
d=json.loads(t); cpu=d.get('server_cpu_percent',0); rate=max(1,d['messages_per_second'])
per=cpu/100/rate*1e6
flags=d['problems']+d['flags']
closed=d['closed_by_server']+d['closed_by_server_in_hold']
if closed: flags.append(f'the server closed {closed} of 100')
print(f\"{per:.3f}\t{1 if flags else 0}\t| $size B x $in_flight | $s | {rate:,.0f} | {per:.2f} | {cpu:.0f} | {closed} | {d['ringload_cpu_percent_per_core']:.0f} | {'; '.join(flags) or 'none'} |\")")
        IFS=$'\t' read -r per flag line <<<"$row"
        per_million[$s-$case]=$per
        if [ "$flag" = 1 ]; then flagged=1; fi
        rows+=$'\n'"$line"
    done
done

ratios=""
if [ -x "$UWS" ]; then
    ratios="ringgate / uWS, server CPU per message (below 1: ringgate is cheaper):"
    for case in "${cases[@]}"; do
        read -r size in_flight <<<"$case"
        a=${per_million[ringgate-$case]}
        b=${per_million[uws-$case]}
        ratios+=" $size B x $in_flight $(python3 -c "print(f'{$a/$b:.2f}' if $b > 0 else 'n/a')");"
    done
fi
record "Echo at default settings, 100 connections, ringgate and uWebSockets on one server core" \
    "bench/scenarios/echo_sizes.sh $SECONDS_EACH" "$rows

$ratios

Bounds: msgs/s is the load generator's rate, a lower bound on the server's in a row flagged
\"client saturated\"; server CPU per message holds either way. A close is the server's alone."
if [ "$flagged" = 1 ]; then
    echo "echo_sizes: some rows are flagged (see the flags column)" >&2
    exit 1
fi
