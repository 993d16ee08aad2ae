#!/usr/bin/env bash
# User-space instructions per echoed message, counted by callgrind, which repeats on a noisy
# machine where CPU time does not: ringgate's built-in echo and uWebSockets' echo server, each
# under `valgrind --tool=callgrind`, driven by one ringload connection with IN_FLIGHT messages in
# flight (so batching is the same for both). The counters are zeroed after a warm-up run and
# dumped after the measured one; the kernel's share (the same for both servers) is not counted.
# Usage: bench/scenarios/instructions.sh [IN_FLIGHT] [SIZES...]   (default 16; 32 4096)
# UWS_DIR (default /tmp/uws-peers) holds uWS's echoserver. Valgrind 3.19 cannot read the DWARF 5
# of Swift 6 binaries, so the servers run from copies stripped of debug info (symbols stay).
source "$(dirname "$0")/lib.sh"
IN_FLIGHT=${1:-16}
shift || true
SIZES=("$@")
if [ ${#SIZES[@]} -eq 0 ]; then SIZES=(32 4096); fi
UWS=${UWS_DIR:-/tmp/uws-peers}/echoserver
command -v valgrind >/dev/null || { echo "instructions.sh needs valgrind (apt-get install valgrind)" >&2; exit 1; }
SKIP_PEERS=1 build_all
WORK=$(mktemp -d /tmp/ringgate-instructions.XXXXXX)
strip --strip-debug -o "$WORK/ringgate" "$RINGGATE"
servers=(ringgate)
if [ -x "$UWS" ]; then
    strip --strip-debug -o "$WORK/uws" "$UWS"
    servers+=(uws)
fi

declare -A per
count() {  # NAME SIZE PORT: instructions per message, or nothing when the run failed
    local name=$1 size=$2 port=$3 pid
    local command=("$WORK/ringgate" --port "$port" --workers 1)
    if [ "$name" = uws ]; then command=("$WORK/uws" "$port"); fi
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
        --callgrind-out-file="$WORK/$name-$size.out" "${command[@]}" >"$WORK/$name.log" 2>&1 &
    pid=$!
    started_pids+=("$pid")
    for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
    local load=(taskset -c "$CLIENT_CPU" "$RINGLOAD" echo --url "ws://127.0.0.1:$port/" --connections 1
        --in-flight "$IN_FLIGHT" --message-size "$size" --workers 1 --json)
    "${load[@]}" --duration 2 >/dev/null 2>&1 || true
    callgrind_control -z "$pid" >/dev/null
    "${load[@]}" --duration 4 >"$WORK/$name-$size.json" 2>/dev/null || true
    callgrind_control -d "$pid" >/dev/null
    sleep 1
    # valgrind delays the server's signal handling: it is killed, its counts are already dumped.
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    python3 - "$WORK/$name-$size" <<'PY'
import json, glob, sys
base = sys.argv[1]
dumps = sorted(glob.glob(base + ".out.*"))
if not dumps:
    sys.exit()
total = next(int(l.split()[1]) for l in open(dumps[-1]) if l.startswith(("summary:", "totals:")))
messages = json.load(open(base + ".json"))["messages_received"]
print(f"{total / messages:.0f}" if messages else "")
PY
}

rows="| message size | server | instructions per message (user space) |
| --- | --- | ---: |"
port=18870
for size in "${SIZES[@]}"; do
    for s in "${servers[@]}"; do
        port=$((port + 1))
        per[$s-$size]=$(count "$s" "$size" "$port")
        rows+=$'\n'"| $size B | $s | ${per[$s-$size]:-failed} |"
    done
done
ratios=""
for size in "${SIZES[@]}"; do
    if [ -n "${per[uws-$size]:-}" ] && [ -n "${per[ringgate-$size]:-}" ]; then
        ratios+="ringgate / uWS at $size B: $(python3 -c "print(round(${per[ringgate-$size]} / ${per[uws-$size]}, 2))"). "
    fi
done
rm -rf "$WORK"
record "User-space instructions per echoed message (callgrind), 1 connection x $IN_FLIGHT in flight" \
    "bench/scenarios/instructions.sh $IN_FLIGHT ${SIZES[*]}" "$rows

$ratios
Counted from a warm-up's end to the end of a 4 s run; messages from ringload's count."
