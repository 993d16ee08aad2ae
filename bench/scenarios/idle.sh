#!/usr/bin/env bash
# Memory per idle connection: user space (server RSS growth / N) and kernel (MemAvailable drop / N,
# client and server side of each loopback pair together), for ringgate in both wait modes and
# for the peers. Usage: bench/scenarios/idle.sh [CONNECTIONS] [RINGGATE_WORKERS]
source "$(dirname "$0")/lib.sh"
N=${1:-19000}
WORKERS=${2:-1}
LOAD_WORKERS=$(( (N + 18999) / 19000 + 1 ))
build_all
apply_tuning

rows="| server | connections | upgraded | ramp s | server RSS MiB | user B/conn (anon) | kernel B/pair | kernel slab B/pair | ringload CPU % ramp / hold | saturated client |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
measure() {  # NAME PORT COMMAND...
    local name=$1 port=$2
    shift 2
    start_server "$name" "$port" "$@"
    local out
    out=$(run_load idle --url "ws://127.0.0.1:$port/" --connections "$N" --duration 6 --workers "$LOAD_WORKERS" \
        --ramp 20000 --server-pid "$SERVER_PID" --buffer-count 64)
    stop_server
    rows+=$'\n'"$(echo "$out" | json "f'| $name | $N | {d[\"upgraded\"]} | {d[\"ramp_seconds\"]:.1f} | {d.get(\"server_rss_bytes\", 0)/1048576:.1f} | {d.get(\"server_anon_bytes_per_connection\", 0):.0f} | {d.get(\"kernel_bytes_per_connection_pair\", 0):.0f} | {d.get(\"kernel_slab_bytes_per_connection_pair\", 0):.0f} | {d[\"ringload_ramp_cpu_percent_per_core\"]:.0f} / {d[\"ringload_cpu_percent_per_core\"]:.0f} | {d[\"ringload_ramp_saturated\"] or d[\"ringload_saturated\"]} |'")"
}
# The floor: the same number of loopback pairs as plain sockets with nothing armed on them.
floor() {
    local binary=/tmp/ringgate-socket-floor-$$
    cc -O2 -o "$binary" "$ROOT/bench/scenarios/socket_floor.c"
    local out
    out=$(in_ns taskset -c "$SERVER_CPU" "$binary" "$N" 18819 3)
    rm -f "$binary"
    rows+=$'\n'"$(echo "$out" | json "f'| plain socket pairs, nothing armed (kernel floor) | {d[\"pairs\"]} | | | | | {d[\"kernel_bytes_per_pair\"]:.0f} | {d[\"kernel_slab_bytes_per_pair\"]:.0f} | | |'")"
    sleep 3
}
floor
common=(--workers "$WORKERS" --max-connections "$N" --buffer-count 64 --ping-interval 30 --park-after 1)
measure "ringgate recv, parked after 1 s" 18811 "$RINGGATE" --port 18811 "${common[@]}" --wait-mode recv
measure "ringgate recv, never parked" 18815 "$RINGGATE" --port 18815 "${common[@]}" --wait-mode recv --park-after 0
measure "ringgate poll" 18812 "$RINGGATE" --port 18812 "${common[@]}" --wait-mode poll
# The peers keep sockets in the fd table, so the open-file limit caps them; past it they are skipped.
if [ "$N" -lt "$(ulimit -Hn)" ]; then
    if [ -x "$NIO_ECHO" ]; then measure nio 18813 "$NIO_ECHO" --port 18813 --threads 1; fi
    if [ -x "$HB_ECHO" ]; then measure hummingbird 18814 "$HB_ECHO" --port 18814 --threads 1; fi
fi
record "Idle connections: $N, ringgate with $WORKERS worker(s)" "bench/scenarios/idle.sh $N $WORKERS" "$rows

User B/conn is the growth of the server's anonymous resident memory (RssAnon) from before the
first connection to the end of the hold, divided by the connections; it includes the workers'
fixed buffers but not shared library pages faulted in on first use. Kernel B/pair is the drop in
MemAvailable over the same span: both sockets of each loopback pair plus the requests armed on
them (ringload parks its idle client side, so the client adds the same for every server). The
floor row holds the same pairs as plain sockets that traded an upgrade-sized request and answer,
with nothing armed (bench/scenarios/socket_floor.c). Kernel slab B/pair is the growth of kernel
slab objects in use (/proc/slabinfo) over the same span: unlike MemAvailable it does not drop
when a run reuses objects an earlier one freed, so it is the figure to set against the floor. The ramp is paced at 20,000 connections/s, so
ramp s is that pace unless a server falls behind (upgrade.sh measures the upgrade rate). ringload
CPU is per core it ran on, over the ramp and over the hold; saturated client: above 90 % in either."
