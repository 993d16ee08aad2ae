/// One log line about a recurring event, at most once per interval: the first occurrence is
/// logged at once, later ones are summed into the next line. Ticks wrap, so they are compared
/// by difference.
struct LogThrottle {
    let intervalTicks: UInt32
    private var lastTick: UInt32 = 0
    private var logged = false
    /// Occurrences not yet in a line.
    private(set) var pending: UInt64 = 0

    init(intervalTicks: UInt32) { self.intervalTicks = intervalTicks }

    /// Counts `count` occurrences; returns how many a line logged now should report, or nil.
    mutating func note(now: UInt32, count: UInt64 = 1) -> UInt64? {
        pending += count
        guard !logged || now &- lastTick >= intervalTicks else { return nil }
        defer {
            pending = 0
            lastTick = now
            logged = true
        }
        return pending
    }
}
