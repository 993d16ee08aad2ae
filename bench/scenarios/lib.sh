# Shared parts of the benchmark scenarios: build, tuning, servers, bookkeeping.
# Every server is started by its script, pinned with taskset, and stopped by its own PID.

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RESULTS="$ROOT/bench/RESULTS.md"
RINGGATE="$ROOT/.build/release/ringgate"
RINGLOAD="$ROOT/.build/release/ringload"
NIO_ECHO="$ROOT/bench/peers/nio-echo/.build/release/nio-echo"
HB_ECHO="$ROOT/bench/peers/hummingbird-echo/.build/release/hummingbird-echo"
SERVER_CPU=${SERVER_CPU:-1}   # the server's core
CLIENT_CPU=${CLIENT_CPU:-0}   # ringload's core
started_pids=()

build_all() {
    (cd "$ROOT" && swift build -c release --product ringgate >/dev/null && swift build -c release --product ringload >/dev/null)
    for peer in nio-echo hummingbird-echo; do
        if [ -f "$ROOT/bench/peers/$peer/Package.swift" ] && [ "${SKIP_PEERS:-0}" != 1 ]; then
            swift build -c release --package-path "$ROOT/bench/peers/$peer" \
                --scratch-path "$ROOT/bench/peers/$peer/.build" >/dev/null
        fi
    done
}

# apply_profile STATE: tuning/apply --profile c1m (in the bench namespace once make_netns made
# one), recording the old values in STATE. A failure does not stop the run, since figures on the
# host's own limits can still be read, but it prints a warning: they were not taken as tuned.
apply_profile() {
    local errors
    errors=$(in_ns "$ROOT/tuning/apply" --profile c1m --state "$1" 2>&1 >/dev/null) && return 0
    echo "warning: tuning/apply --profile c1m failed${BENCH_NETNS:+ in $BENCH_NETNS}; this run keeps the host's settings: $(printf '%s' "$errors" | tail -1)" >&2
}

# Applies the c1m profile for the run and reverts it on exit (tuning/README.md).
apply_tuning() {
    TUNING_STATE=$(mktemp /tmp/ringgate-bench-tuning.XXXXXX)
    rm -f "$TUNING_STATE"
    apply_profile "$TUNING_STATE"
    # The profile lets client sockets take any port from 1024 up; the servers' ports (18800-18999)
    # are kept out of that range, or a load generator's sockets (and their TIME_WAIT) may hold one.
    RESERVED_BEFORE=$(sysctl -n net.ipv4.ip_local_reserved_ports)
    sysctl -qw net.ipv4.ip_local_reserved_ports="18800-18999${RESERVED_BEFORE:+,$RESERVED_BEFORE}"
}

# in_ns COMMAND...: runs COMMAND in the bench's network namespace, if make_netns made one.
# `ip netns exec` execs its command, so a server started as "${IN_NS[@]}" CMD & keeps $! as its PID.
IN_NS=()
in_ns() { "${IN_NS[@]}" "$@"; }

# make_netns BUCKETS: a network namespace for the run whose TCP established-connection hash has
# BUCKETS buckets (net.ipv4.tcp_child_ehash_entries, Linux 5.19). The host's table is sized at
# boot (262144 buckets here, `thash_entries=` on the kernel command line changes it); with two
# million loopback sockets its chains grow to eight and every arriving segment walks one. A
# production host sets thash_entries instead (tuning/README.md). Removed on exit.
make_netns() {
    local buckets=$1 previous
    BENCH_NETNS="ringgate-bench-$$"
    previous=$(sysctl -n net.ipv4.tcp_child_ehash_entries)
    sysctl -qw net.ipv4.tcp_child_ehash_entries="$buckets"
    ip netns add "$BENCH_NETNS"
    sysctl -qw net.ipv4.tcp_child_ehash_entries="$previous"
    ip -n "$BENCH_NETNS" link set lo up
    IN_NS=(ip netns exec "$BENCH_NETNS")
    # Per-namespace sysctls (backlogs, port range, TIME_WAIT reuse) start at their defaults.
    NS_TUNING_STATE=$(mktemp -u /tmp/ringgate-bench-ns.XXXXXX)
    apply_profile "$NS_TUNING_STATE"
    in_ns sysctl -qw net.ipv4.ip_local_reserved_ports=18800-18999
}

cleanup() {
    for pid in "${started_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${started_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${BENCH_NETNS:-}" ]; then ip netns delete "$BENCH_NETNS" 2>/dev/null || true; fi
    # The namespace's old values went with it; nothing is left to revert.
    if [ -n "${NS_TUNING_STATE:-}" ]; then rm -f "$NS_TUNING_STATE"; fi
    if [ -n "${RESERVED_BEFORE+set}" ]; then sysctl -qw net.ipv4.ip_local_reserved_ports="$RESERVED_BEFORE" || true; fi
    if [ -n "${TUNING_STATE:-}" ] && [ -f "$TUNING_STATE" ]; then
        "$ROOT/tuning/revert" --state "$TUNING_STATE" >/dev/null || true
    fi
}
trap cleanup EXIT

# start_server NAME PORT COMMAND...: starts a server on SERVER_CPU, waits for its port, sets SERVER_PID.
start_server() {
    local name=$1 port=$2
    shift 2
    "${IN_NS[@]}" taskset -c "$SERVER_CPU" "$@" >"/tmp/bench-$name.log" 2>&1 &
    SERVER_PID=$!
    started_pids+=("$SERVER_PID")
    for _ in $(seq 1 100); do
        if in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "$name did not start; log:" >&2
    cat "/tmp/bench-$name.log" >&2
    exit 1
}

stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    # Bounded: a server that does not exit within 60 s is killed.
    for _ in $(seq 1 600); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    # Let the kernel finish tearing the sockets down before the next measurement.
    sleep "${SETTLE_SECONDS:-3}"
}

# run_load ARGS...: ringload on CLIENT_CPU with --json; prints the JSON.
run_load() {
    in_ns taskset -c "$CLIENT_CPU" "$RINGLOAD" "$@" --json 2>/dev/null
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# record TITLE COMMAND BODY: appends a dated section to bench/RESULTS.md and prints it.
record() {
    local title=$1 command=$2 body=$3
    local commit
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    local section
    section=$(printf '\n### %s\n%s, commit %s, %s, %s cores, kernel %s\n\nCommand: `%s`\n\n%s\n' \
        "$title" "$(date -u +%Y-%m-%d)" "$commit" "$(uname -m)" "$(nproc)" "$(uname -r)" "$command" "$body")
    printf '%s\n' "$section"
    if [ "${RECORD:-1}" = 1 ]; then printf '%s\n' "$section" >>"$RESULTS"; fi
}
