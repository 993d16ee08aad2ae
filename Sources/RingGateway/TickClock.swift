#if canImport(Glibc)
import Glibc
#endif

/// Where a worker reads the current tick, once per batch of events: the monotonic clock in
/// the gateway, virtual ticks in tests. Ticks wrap after 2^32; every comparison of two is by
/// wrapping difference.
struct TickClock: Sendable {
    let now: @Sendable () -> UInt32

    /// Monotonic milliseconds divided into ticks of `tickMs`.
    static func monotonic(tickMs: UInt32) -> TickClock {
        TickClock {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let ms = UInt64(ts.tv_sec) &* 1000 &+ UInt64(ts.tv_nsec) / 1_000_000
            return UInt32(truncatingIfNeeded: ms / UInt64(tickMs))
        }
    }
}
