// ringmicro: micro-benchmarks for RingGate's modules, one family per file.
//
//     ringmicro <family> [options]
//
// Each family prints a table of nanoseconds per operation. Build with `-c release`: debug figures
// mean nothing.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let families: [(name: String, summary: String, run: ([String]) -> Void)] = [
    ("wheel", "RingTimers.TimingWheel: schedule, reschedule, cancel, expire", runWheelBenchmarks),
    ("handshake", "RingWebSocket: parse an upgrade request, build its 101", runHandshakeBenchmarks),
]

let arguments = Array(CommandLine.arguments.dropFirst())
if let name = arguments.first, let family = families.first(where: { $0.name == name }) {
    family.run(Array(arguments.dropFirst()))
} else {
    print("usage: ringmicro <family> [options]\n\nfamilies:")
    for family in families {
        print("  \(padRight(family.name, 10)) \(family.summary)")
    }
    exit(arguments.isEmpty ? 0 : 64)
}
