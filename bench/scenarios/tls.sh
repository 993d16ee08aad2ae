#!/usr/bin/env bash
# wss:// costs: TLS handshakes per second (full and resumed by ticket, openssl s_time), echo over TLS
# against the same echo over plain TCP with the same client, and idle bytes per TLS connection
# against a plain one. One ringgate worker pinned to SERVER_CPU; clients pinned to CLIENT_CPU.
# Usage: bench/scenarios/tls.sh [SECONDS] [IDLE_CONNECTIONS]
source "$(dirname "$0")/lib.sh"
SECONDS_EACH=${1:-5}
IDLE_N=${2:-3000}
PLAIN_PORT=18821
TLS_PORT=18822
CLIENT="$ROOT/bench/scenarios/tls_client.py"
(cd "$ROOT" && swift build -c release --product ringgate >/dev/null)

CERTS=$(mktemp -d /tmp/ringgate-bench-tls.XXXXXX)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CERTS/key.pem" \
    -out "$CERTS/cert.pem" -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

server_cpu() { python3 -c "import os,sys; f=open('/proc/$1/stat').read().rsplit(')',1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK'))"; }

start_server ringgate-tls "$PLAIN_PORT" "$RINGGATE" --port "$PLAIN_PORT" --tls-port "$TLS_PORT" \
    --tls-cert "$CERTS/cert.pem" --tls-key "$CERTS/key.pem" --workers 1 --max-connections 20000

# s_time: full handshakes (-new) and resumed ones (-reuse); -www / makes each connection read the
# gateway's short answer, so TLS 1.3 tickets arrive before the client closes.
rows="| measurement | TLS | rate | server CPU % | what saturated |
| --- | --- | ---: | ---: | --- |"
for version in tls1_3 tls1_2; do
    for kind in new reuse; do
        cpu0=$(server_cpu "$SERVER_PID"); t0=$(date +%s.%N)
        out=$(taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$TLS_PORT" -"$version" -"$kind" \
            -www / -time "$SECONDS_EACH" 2>&1 | grep "real seconds" | tail -1)
        t1=$(date +%s.%N); cpu1=$(server_cpu "$SERVER_PID")
        n=${out%% connections*}
        read -r rate cpu <<<"$(python3 -c "w=$t1-$t0; print(round($n/w), round(100*($cpu1-$cpu0)/w))")"
        sat=$([ "$cpu" -ge 90 ] && echo server || echo "neither: one s_time process, latency-bound")
        rows+=$'\n'"| handshakes/s, $kind | ${version/tls1_/1.} | $rate | $cpu | $sat |"
    done
done
# Reference: openssl's own s_server with the same certificate and client.
taskset -c "$SERVER_CPU" openssl s_server -accept 18823 -cert "$CERTS/cert.pem" -key "$CERTS/key.pem" -www -quiet \
    >/dev/null 2>&1 &
ref_pid=$!
started_pids+=("$ref_pid")
sleep 1
t0=$(date +%s.%N)
out=$(taskset -c "$CLIENT_CPU" openssl s_time -connect 127.0.0.1:18823 -tls1_3 -new -www / -time "$SECONDS_EACH" 2>&1 |
    grep "real seconds" | tail -1)
t1=$(date +%s.%N)
kill -TERM "$ref_pid"
rows+=$'\n'"| handshakes/s, new (openssl s_server -www, reference) | 1.3 | $(python3 -c "print(round(${out%% connections*}/($t1-$t0)))") | | |"

# Echo: the same Python asyncio client over wss:// and ws://.
for size in 32 4096; do
    for tls in 1 0; do
        port=$([ "$tls" = 1 ] && echo "$TLS_PORT" || echo "$PLAIN_PORT")
        out=$(taskset -c "$CLIENT_CPU" python3 "$CLIENT" echo "$port" "$tls" "$CERTS/cert.pem" 16 32 "$size" \
            "$SECONDS_EACH" "$SERVER_PID")
        label=$([ "$tls" = 1 ] && echo "wss://" || echo "ws://")
        rows+=$'\n'"$(echo "$out" | json "f'| echo $size B, 16 conns x 32 in flight, msgs/s ({d[\"mib_per_second\"]:.1f} MiB/s each way) | $label | {int(d[\"messages_per_second\"])} | {d[\"server_cpu_percent\"]:.0f} | ' + ('server' if d['server_cpu_percent'] >= 90 else 'client (Python, %.0f%% CPU)' % d['client_cpu_percent']) + ' |'")"
    done
done
stop_server

# Idle memory: a fresh server per mode, 100 warm-up connections, then IDLE_N more held.
idle_rows="| connections | wss:// B/conn (RssAnon) | ws:// B/conn (RssAnon) |
| ---: | ---: | ---: |"
declare -A per
for tls in 1 0; do
    start_server ringgate-tls-idle "$PLAIN_PORT" "$RINGGATE" --port "$PLAIN_PORT" --tls-port "$TLS_PORT" \
        --tls-cert "$CERTS/cert.pem" --tls-key "$CERTS/key.pem" --workers 1 --max-connections 20000 \
        --park-after 1 --ping-interval 60
    port=$([ "$tls" = 1 ] && echo "$TLS_PORT" || echo "$PLAIN_PORT")
    out=$(taskset -c "$CLIENT_CPU" python3 "$CLIENT" idle "$port" "$tls" "$CERTS/cert.pem" "$IDLE_N" 100 "$SERVER_PID")
    per[$tls]=$(echo "$out" | json 'round(d["bytes_per_connection"])')
    stop_server
done
idle_rows+=$'\n'"| $IDLE_N | ${per[1]} | ${per[0]} |"
rm -rf "$CERTS"

record "wss://: handshakes, echo and idle memory, one ringgate worker" \
    "bench/scenarios/tls.sh $SECONDS_EACH $IDLE_N" "$rows

$idle_rows

Handshakes: openssl s_time with a P-256 certificate, one client process, wall-clock rate; the host
is a shared VM (about a third of CPU time stolen while this ran), so compare rows, not hosts. Echo: the
same asyncio client (bench/scenarios/tls_client.py) for both schemes; the gateway encrypts one
record per echoed message. Idle: growth of the gateway's RssAnon over the held connections after 100
warm-up connections (parked after 1 s), divided by their number."
