#!/usr/bin/env bash
# Builds the RingWebSocket libFuzzer target with AddressSanitizer and runs it for a bounded
# time. Usage: bench/fuzz/run.sh [seconds, default 60]. Exits non-zero on a crash, a
# sanitizer report, or a split-dependent result; the reproducer lands in bench/fuzz/artifacts/.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-60}"
# No -parse-as-library: SwiftPM defines main as RingWebSocketFuzz_main on Linux, so the
# target keeps a main.swift that calls LLVMFuzzerRunDriver (see fuzzer_driver.h).
flags=(-c release --package-path "$here" --scratch-path "$here/.build"
       -Xswiftc -sanitize=fuzzer,address)

swift build "${flags[@]}"
binary="$(swift build "${flags[@]}" --show-bin-path)/RingWebSocketFuzz"

corpus="$here/corpus"
mkdir -p "$corpus" "$here/artifacts"
# Seeds: the first byte picks the split pattern; the rest is the input. One upgrade request
# with a pipelined masked frame, and a stream of masked frames.
printf '\x07GET /chat?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: b, a\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58' > "$corpus/seed-upgrade"
printf '\x03\x01\x82\x37\xfa\x21\x3d\x7f\x9f\x89\x80\x01\x02\x03\x04\x80\x83\x37\xfa\x21\x3d\x5b\x9f\x4d\x88\x82\x00\x00\x00\x00\x03\xe8' > "$corpus/seed-frames"
printf '\x05\x81\xfe\x00\x7e\x00\x00\x00\x00%0126d' 0 > "$corpus/seed-long"

"$binary" "$corpus" -max_total_time="$seconds" -artifact_prefix="$here/artifacts/" -print_final_stats=1
