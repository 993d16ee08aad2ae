/// Spends a rate as whole events from the time that has passed, not from the ticks counted: a
/// ring woken late (many rings share the client's core) still keeps its rate. At most
/// `backlogNs` of lateness is made up at once, so a pause held back by something else
/// (--max-pending, a full send pool) never turns into a burst.
struct Pace {
    let perSecond: Int
    let backlogNs: UInt64
    /// Events owed, in units of 1/1e9 event.
    private var credit: UInt64 = 0
    private var lastNs: UInt64 = 0

    init(perSecond: Int, backlogNs: UInt64 = 100_000_000) {
        self.perSecond = max(0, perSecond)
        self.backlogNs = backlogNs
    }

    /// The whole events that may be spent at `nowNs`; the first call starts the clock with one.
    mutating func available(at nowNs: UInt64) -> Int {
        if lastNs == 0 {
            lastNs = nowNs
            credit = 1_000_000_000
        } else if nowNs > lastNs {
            let elapsed = min(nowNs - lastNs, backlogNs)
            lastNs = nowNs
            credit = min(credit + UInt64(perSecond) * elapsed, UInt64(perSecond) * backlogNs + 1_000_000_000)
        }
        return Int(credit / 1_000_000_000)
    }

    mutating func spend(_ events: Int) {
        credit -= min(credit, UInt64(events) * 1_000_000_000)
    }
}
