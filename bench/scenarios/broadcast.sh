#!/usr/bin/env bash
# Topic fan-out: a worker (bench/peers/broadcast_worker.py) subscribes every connection that
# `ringload broadcast` opens to topic "bench", then publishes 64-byte messages stamped with their
# send time; ringload counts each message's deliveries and the time until its last subscriber
# has it. Gateway and worker share SERVER_CPU (the application is part of the server), ringload
# runs on CLIENT_CPU. Two runs per subscriber count: PACED messages one interval apart, the
# interval (max(0.5 s, N / 25,000 s)) long enough for each fan-out to finish before the next
# (one message's latency), and BURST messages back to back (sustained deliveries/s). The worker reads the gateway's RssAnon before and after subscribing
# every connection, so memory per subscription excludes the connections themselves.
# uWebSockets' broadcast peer runs the same rows up to 19,000 subscribers (one process is held to
# the open-file limit); the SwiftNIO and Hummingbird peers have no pub/sub.
# Usage: bench/scenarios/broadcast.sh [SUBSCRIBERS...]   (default: 19000 100000)
# SCRATCH_PATH=DIR builds into DIR instead of .build; RINGGATE_BINARY and RINGLOAD_BINARY use
# prebuilt binaries instead (no build). GATEWAY_WORKERS (default: 1 up to 19,000 subscribers,
# else 8), PACED (10), BURST (20), RAMP (10000 connections/s), GATEWAY_ARGS (extra ringgate
# options; default --ping-interval 600: broadcast clients never send, so with the default 25 s
# every connection would be pinged mid-run; heartbeats are measured by idle.sh).
source "$(dirname "$0")/lib.sh"
COUNTS=("$@")
if [ ${#COUNTS[@]} -eq 0 ]; then COUNTS=(19000 100000); fi
SCRATCH=${SCRATCH_PATH:-$ROOT/.build}
GATEWAY_ARGS=${GATEWAY_ARGS---ping-interval 600}
PACED=${PACED:-10}
BURST=${BURST:-20}
RAMP=${RAMP:-10000}
WORKER="$ROOT/bench/peers/broadcast_worker.py"
SOCKET="/tmp/ringgate-bench-broadcast-$$.sock"
PORT=18821

if [ -n "${RINGGATE_BINARY:-}" ] && [ -n "${RINGLOAD_BINARY:-}" ]; then
    RINGGATE=$RINGGATE_BINARY
    RINGLOAD=$RINGLOAD_BINARY
else
    RINGGATE="$SCRATCH/release/ringgate"
    RINGLOAD="$SCRATCH/release/ringload"
    for product in ringgate ringload; do
        (cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --product "$product" >/dev/null)
    done
fi
apply_tuning

rows="| subscribers | gateway workers | publish | messages seen | deliveries/s | one message's fan-out/s | until last p50 ms | p99 ms | max ms | per-delivery p50 ms | p99 ms | missing | out of order | B per subscription | gateway CPU us per delivery (user + sys) | gateway waited for CPU s | ringload CPU % | saturated client | load avg before |
| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
failures=""
measure() {  # SUBSCRIBERS RATE MESSAGES
    local n=$1 rate=$2 MESSAGES=$3
    local gateway_workers=${GATEWAY_WORKERS:-$([ "$n" -le 19000 ] && echo 1 || echo 8)}
    last_rate=0
    # ringload: a ring holds about the open-file limit; one more for room.
    local load_workers=$(((n + 17999) / 18000 + 1))
    local label="$MESSAGES back to back"
    if [ "$rate" != 0 ]; then label="$MESSAGES, 1 per $(python3 -c "print(round(1 / $rate, 2))") s"; fi
    rm -f "$SOCKET"
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    start_server "broadcast" "$PORT" "$RINGGATE" --port "$PORT" --workers "$gateway_workers" \
        --max-connections $((n + 1000)) --backend-socket "$SOCKET" $GATEWAY_ARGS
    taskset -c "$SERVER_CPU" python3 "$WORKER" --socket "$SOCKET" --subscribers "$n" --messages "$MESSAGES" \
        --rate "$rate" --size 64 --gateway-pid "$SERVER_PID" --timeout 120 --linger 60 \
        >/tmp/bench-broadcast-worker.log 2>&1 &
    local worker_pid=$!
    started_pids+=("$worker_pid")
    for _ in $(seq 1 100); do
        if grep -q connected /tmp/bench-broadcast-worker.log; then break; fi
        sleep 0.1
    done
    local out
    out=$(run_load broadcast --url "ws://127.0.0.1:$PORT/" --connections "$n" --messages "$MESSAGES" \
        --duration 120 --workers "$load_workers" --ramp "$RAMP" --server-pid "$SERVER_PID") || true
    # The worker exits once every connection has closed (bounded by --linger).
    for _ in $(seq 1 700); do kill -0 "$worker_pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
    stop_server
    rm -f "$SOCKET"
    # The gateway's own view of the run, from its final stats line.
    local gateway_stats
    # The last stats line (at exit) holds the totals; one value per counter, by name.
    gateway_stats=$(tail -n 1 "/tmp/bench-broadcast.log" \
        | grep -oE '(deliveries|send_queue_overflows|pong_timeouts|dropped_oldest|dropped_newest|backend_closed_on_loss)=[0-9]+' \
        | tr '\n' ' ')
    if echo "$gateway_stats" | grep -qE '(send_queue_overflows|pong_timeouts|dropped_oldest|dropped_newest)=[1-9]'; then
        failures+="$n subscribers, $label: gateway counters $gateway_stats"$'\n'
    fi
    local memory per_sub cpu waited
    memory=$(tail -n 1 /tmp/bench-broadcast-worker.log)
    per_sub=$(echo "$memory" | json 'round(d["gateway_anon_bytes_per_subscription"], 1)' 2>/dev/null || echo "-")
    cpu=$(echo "$memory" | json "f'{(d[\"fanout_gateway_user_s\"] + d[\"fanout_gateway_system_s\"]) * 1e6 / ($n * $MESSAGES):.1f} ({d[\"fanout_gateway_user_s\"] * 1e6 / ($n * $MESSAGES):.1f} + {d[\"fanout_gateway_system_s\"] * 1e6 / ($n * $MESSAGES):.1f})'" 2>/dev/null || echo "-")
    waited=$(echo "$memory" | json 'round(d["fanout_gateway_waiting_s"], 2)' 2>/dev/null || echo "-")
    if [ -z "$out" ] || ! echo "$out" | json 'd["scenario"]' >/dev/null 2>&1; then
        failures+="$n subscribers, $label: ringload gave no report; worker log: $(tail -n 3 /tmp/bench-broadcast-worker.log | tr '\n' ' ')"$'\n'
        rows+=$'\n'"| $n | $gateway_workers | $label | failed | | | | | | | | | | $per_sub | | | | | $load |"
        return
    fi
    rows+=$'\n'"$(echo "$out" | json "f'| {d[\"subscribers\"]} | $gateway_workers | $label | {d[\"messages_seen\"]} of {d[\"messages_expected\"]} | {int(d[\"deliveries_per_second\"]):,} | {int(d[\"fanout_per_second\"]):,} | {d[\"until_last_us\"][\"p50\"]/1000:.1f} | {d[\"until_last_us\"][\"p99\"]/1000:.1f} | {d[\"until_last_us\"][\"max\"]/1000:.1f} | {d[\"latency_us\"][\"p50\"]/1000:.1f} | {d[\"latency_us\"][\"p99\"]/1000:.1f} | {d[\"missing_deliveries\"]} | {d[\"out_of_order\"]} | $per_sub | $cpu | $waited | {d[\"ringload_cpu_percent\"]:.0f} | {d[\"ringload_saturated\"]} | $load |'")"
    last_rate=$(echo "$out" | json 'int(d["deliveries_per_second"])')
    if [ "$(echo "$out" | json 'd["upgraded"]')" != "$n" ]; then
        failures+="$n subscribers, $label: only $(echo "$out" | json 'd["upgraded"]') upgraded; connect failures $(echo "$out" | json 'd["connect_failures"]'), handshake failures $(echo "$out" | json 'd["handshake_failures"]')"$'\n'
    fi
}
# measure_uws SUBSCRIBERS RATE MESSAGES: the same ringload run against uWebSockets' broadcast peer
# (UWS_DIR/broadcastbench, built by ../shared/peers/build.sh), which publishes by itself once
# every subscriber is open and reports its own CPU from its first publish to the first close.
declare -A burst_rate
measure_uws() {
    local n=$1 rate=$2 MESSAGES=$3
    local interval_ms=0 label="$MESSAGES back to back"
    if [ "$rate" != 0 ]; then
        interval_ms=$(python3 -c "print(round(1000 / $rate))")
        label="$MESSAGES, 1 per $(python3 -c "print(round(1 / $rate, 2))") s"
    fi
    local load out
    load=$(cut -d' ' -f1 /proc/loadavg)
    start_server "uws-broadcast" "$UWS_PORT" "$UWS_BROADCAST" "$UWS_PORT" "$n" "$MESSAGES" "$interval_ms" 64
    out=$(run_load broadcast --url "ws://127.0.0.1:$UWS_PORT/" --connections "$n" --messages "$MESSAGES" \
        --duration 120 --workers $(((n + 17999) / 18000 + 1)) --ramp "$RAMP" --server-pid "$SERVER_PID") || true
    stop_server
    local log=/tmp/bench-uws-broadcast.log start_kb sub_kb user_s sys_s per_sub cpu
    start_kb=$(grep -oE 'rss_anon_kb_start=[0-9]+' "$log" | cut -d= -f2)
    sub_kb=$(grep -oE 'subscribed, rss_anon_kb=[0-9]+' "$log" | cut -d= -f2)
    user_s=$(grep -oE 'user_s=[0-9.]+' "$log" | cut -d= -f2)
    sys_s=$(grep -oE 'sys_s=[0-9.]+' "$log" | cut -d= -f2)
    per_sub=$(python3 -c "print(round(($sub_kb - $start_kb) * 1024 / $n, 1))" 2>/dev/null || echo "-")
    cpu=$(python3 -c "u=$user_s; s=$sys_s; d=$n*$MESSAGES; print(f'{(u+s)*1e6/d:.1f} ({u*1e6/d:.1f} + {s*1e6/d:.1f})')" 2>/dev/null || echo "-")
    if [ -z "$out" ] || ! echo "$out" | json 'd["scenario"]' >/dev/null 2>&1; then
        failures+="uWS, $n subscribers, $label: ringload gave no report"$'\n'
        rows+=$'\n'"| $n | uWS | $label | failed | | | | | | | | | | $per_sub | | | | | $load |"
        return
    fi
    if [ "$rate" = 0 ]; then burst_rate[uws-$n]=$(echo "$out" | json 'int(d["deliveries_per_second"])'); fi
    rows+=$'\n'"$(echo "$out" | json "f'| {d[\"subscribers\"]} | uWS | $label | {d[\"messages_seen\"]} of {d[\"messages_expected\"]} | {int(d[\"deliveries_per_second\"]):,} | {int(d[\"fanout_per_second\"]):,} | {d[\"until_last_us\"][\"p50\"]/1000:.1f} | {d[\"until_last_us\"][\"p99\"]/1000:.1f} | {d[\"until_last_us\"][\"max\"]/1000:.1f} | {d[\"latency_us\"][\"p50\"]/1000:.1f} | {d[\"latency_us\"][\"p99\"]/1000:.1f} | {d[\"missing_deliveries\"]} | {d[\"out_of_order\"]} | $per_sub | $cpu | - | {d[\"ringload_cpu_percent\"]:.0f} | {d[\"ringload_saturated\"]} | $load |'")"
}
UWS_BROADCAST=${UWS_DIR:-/tmp/uws-peers}/broadcastbench
UWS_PORT=18822
if [ ! -x "$UWS_BROADCAST" ] && [ -x "$ROOT/../shared/peers/build.sh" ]; then
    "$ROOT/../shared/peers/build.sh" "${UWS_DIR:-/tmp/uws-peers}" >/dev/null || true
fi
for n in "${COUNTS[@]}"; do
    measure "$n" "$(python3 -c "print(min(2.0, 25000 / $n))")" "$PACED"
    measure "$n" 0 "$BURST"
    burst_rate[ringgate-$n]=${last_rate:-0}
    # uWS is one process, held to the open-file limit (20,000 here): no row past it.
    if [ -x "$UWS_BROADCAST" ] && [ "$n" -le 19000 ]; then
        measure_uws "$n" "$(python3 -c "print(min(2.0, 25000 / $n))")" "$PACED"
        measure_uws "$n" 0 "$BURST"
    fi
done
ratios=""
for n in "${COUNTS[@]}"; do
    if [ -n "${burst_rate[uws-$n]:-}" ] && [ "${burst_rate[uws-$n]}" -gt 0 ]; then
        ratios+="ringgate / uWS, back-to-back deliveries/s at $n subscribers: $(python3 -c "print(round(${burst_rate[ringgate-$n]} / ${burst_rate[uws-$n]}, 2))"). "
    fi
done
record "Broadcast: one topic, 64-byte messages, ${COUNTS[*]} subscribers" \
    "GATEWAY_ARGS='$GATEWAY_ARGS' bench/scenarios/broadcast.sh ${COUNTS[*]}" "$rows

ringgate options beyond the port, workers, max connections and backend socket: ${GATEWAY_ARGS:-(none)}.

Latency runs from the worker's send timestamp (CLOCK_MONOTONIC, taken just before it writes
PUBLISH to the gateway's worker socket) to the ringload completion batch holding the delivery.
\"Until last\": per message, until every subscriber had it. deliveries/s: all deliveries over first
publish to last delivery (in paced rows bounded by the pacing; the back-to-back row is the
sustained rate). One message's fan-out/s: subscribers / median until-last.
B per subscription: gateway RssAnon after subscribing every connection minus before, over N.
Gateway CPU per delivery: the gateway's user and system time from just before the first publish
to the first CLOSED (after ringload had every delivery), over the deliveries; on loopback the
system time includes the receiving side's TCP path, run in the sender's context. Waited for
CPU: time the gateway's threads were runnable but not running over the same span (schedstat,
summed over its threads, so it can exceed the span), a measure of how contended its core was.
Gateway and worker pinned to CPU $SERVER_CPU, ringload to CPU $CLIENT_CPU. Load average: the
host's 1-minute load before the run (2 cores, shared).
Rows marked uWS: uWebSockets' broadcast peer (one process, epoll) under the same ringload; its
CPU is its own from its first publish to the first close. The SwiftNIO and Hummingbird peers
have no pub/sub. $ratios
${failures:+
Problems: $failures}"
