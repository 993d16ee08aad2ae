#!/usr/bin/env bash
# Echo through an application worker: ringgate's built-in echo against the same gateway handing
# every message to the Swift SDK's echo example and to the Python SDK's, over the worker link.
# Gateway and worker share SERVER_CPU (one server core for the whole application), ringload
# runs on CLIENT_CPU. 100 connections need no tuning profile, so none is applied.
# Usage: bench/scenarios/backend_echo.sh [SECONDS] [CONNECTIONS] [IN_FLIGHT]
# SCRATCH_PATH=DIR builds into DIR instead of .build.
source "$(dirname "$0")/lib.sh"
SECONDS_EACH=${1:-10}
CONNECTIONS=${2:-100}
IN_FLIGHT=${3:-16}
SCRATCH=${SCRATCH_PATH:-$ROOT/.build}
RINGGATE="$SCRATCH/release/ringgate"
RINGLOAD="$SCRATCH/release/ringload"
SWIFT_WORKER="$SCRATCH/release/ringgate-echo-worker"
PYTHON_WORKER="$ROOT/clients/python/examples/echo_worker.py"
SOCKET="/tmp/ringgate-bench-backend-$$.sock"
PORT=18811

for product in ringgate ringload ringgate-echo-worker; do
    (cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --product "$product" >/dev/null)
done

# cpu_ticks PID: user + system clock ticks the process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_worker COMMAND...: starts a worker on SERVER_CPU and waits until it has linked; sets WORKER_PID.
start_worker() {
    taskset -c "$SERVER_CPU" "$@" >/tmp/bench-backend-worker.log 2>&1 &
    WORKER_PID=$!
    started_pids+=("$WORKER_PID")
    for _ in $(seq 1 100); do
        if grep -q connected /tmp/bench-backend-worker.log; then return 0; fi
        sleep 0.1
    done
    echo "worker did not link; log:" >&2
    cat /tmp/bench-backend-worker.log >&2
    exit 1
}

rows="| application | size | msgs/s | p50 us | p99 us | gateway CPU % | worker CPU % | ringload CPU % | saturated client |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
measure() {  # NAME SIZE [WORKER COMMAND...]
    local name=$1 size=$2
    shift 2
    local gateway_args=(--port "$PORT" --workers 1)
    if [ $# -gt 0 ]; then gateway_args+=(--backend-socket "$SOCKET"); fi
    start_server "$name" "$PORT" "$RINGGATE" "${gateway_args[@]}"
    local worker_before=0 worker_after=0
    if [ $# -gt 0 ]; then
        start_worker "$@"
        worker_before=$(cpu_ticks "$WORKER_PID")
    fi
    local started out
    started=$(date +%s.%N)
    out=$(run_load echo --url "ws://127.0.0.1:$PORT/" --connections "$CONNECTIONS" --in-flight "$IN_FLIGHT" \
        --message-size "$size" --duration "$SECONDS_EACH" --workers 1 --server-pid "$SERVER_PID")
    local worker_cpu=-
    if [ $# -gt 0 ]; then
        worker_after=$(cpu_ticks "$WORKER_PID")
        worker_cpu=$(python3 -c "import os; print(round(100 * ($worker_after - $worker_before) / os.sysconf('SC_CLK_TCK') / ($(date +%s.%N) - $started)))")
        kill -TERM "$WORKER_PID" 2>/dev/null || true
        wait "$WORKER_PID" 2>/dev/null || true
    fi
    stop_server
    rm -f "$SOCKET"
    rows+=$'\n'"$(echo "$out" | json "f'| $name | $size B | {int(d[\"messages_per_second\"])} | {d[\"latency_us\"][\"p50\"]:.0f} | {d[\"latency_us\"][\"p99\"]:.0f} | {d.get(\"server_cpu_percent\", 0):.0f} | $worker_cpu | {d[\"ringload_cpu_percent\"]:.0f} | {d[\"ringload_saturated\"]} |'")"
}
for size in 32 4096; do
    measure built-in "$size"
    measure swift-worker "$size" "$SWIFT_WORKER" --socket "$SOCKET" --name bench-swift
    measure python-worker "$size" python3 "$PYTHON_WORKER" --socket "$SOCKET" --name bench-python
done
record "Echo through a worker, one server core, $CONNECTIONS connections x $IN_FLIGHT in flight" \
    "bench/scenarios/backend_echo.sh $SECONDS_EACH $CONNECTIONS $IN_FLIGHT" "$rows

Gateway and worker pinned together to one core; worker CPU % is measured from /proc over the
run (setup included, so slightly low). built-in is ringgate's own echo (no worker link).

Bounds: a row with a saturated client (True) gives a lower bound on that application's msgs/s,
set by ringload; a ratio against such a built-in row is an upper bound."
