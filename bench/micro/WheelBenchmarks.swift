// TimingWheel micro-benchmarks.
//
// A wheel of `--timers` ids (default 1,000,000) and `--slots` slots (default 4096). Deadlines are
// spread over one revolution with `TimingWheel.jitter`, as a gateway spreads first heartbeats over
// a heartbeat interval that fits in one revolution, so list operations land on nodes all over the
// arrays and the figures include cache misses.
//
// - schedule:   every id, into an empty wheel.
// - reschedule: every id, already scheduled, moved one revolution later.
// - cancel:     every id, all scheduled.
// - expire:     advance tick by tick until every timer has fired; ns per expiry, so the cost of
//               sweeping empty slots is included.
// - expire+rearm: as expire, but each callback re-arms its timer one revolution later (the lazy
//               heartbeat pattern); ns per expiry including the re-arm.
// - expire 4rev: as expire, with deadlines spread over four revolutions, so each sweep also passes
//               over timers due in later revolutions (the price of scheme 6 for a small wheel).

import RingTimers

func runWheelBenchmarks(_ arguments: [String]) {
    let timers = intOption("timers", in: arguments, default: 1_000_000)
    let slots = intOption("slots", in: arguments, default: 4096)
    let rounds = intOption("rounds", in: arguments, default: 5)
    var revolutions: UInt32 = 1
    let ids = 0..<UInt32(timers)
    let wheel = TimingWheel(capacity: timers, slotCount: slots, startTick: 0)

    /// Deadline of `id` within `revolutions` revolutions after `wheel.currentTick`.
    func firstDeadline(_ id: UInt32) -> UInt32 {
        wheel.currentTick &+ 1 &+ TimingWheel.jitter(for: id, window: revolutions &* UInt32(slots))
    }
    func emptyWheel() {
        for id in ids { wheel.cancel(id) }
    }
    func fillWheel() {
        for id in ids { wheel.schedule(id, at: firstDeadline(id)) }
    }
    /// Advances until every timer has fired; returns the number of expiries.
    func drain(rearm: Bool, limitTo expiries: Int) -> Int {
        var fired = 0
        var checksum: UInt32 = 0
        while fired < expiries {
            let tick = wheel.currentTick &+ 1
            fired += wheel.advance(to: tick, limit: .max) { id in
                checksum = checksum &+ id
                if rearm { wheel.schedule(id, at: tick &+ UInt32(slots)) }
            }
        }
        consume(checksum)
        return fired
    }

    var results: [Measurement] = []
    results.append(measure("schedule", rounds: rounds, setUp: emptyWheel) {
        fillWheel()
        return timers
    })
    results.append(measure("reschedule", rounds: rounds, setUp: { emptyWheel(); fillWheel() }) {
        let later = UInt32(slots)
        for id in ids { wheel.schedule(id, at: firstDeadline(id) &+ later) }
        return timers
    })
    results.append(measure("cancel", rounds: rounds, setUp: { emptyWheel(); fillWheel() }) {
        for id in ids { wheel.cancel(id) }
        return timers
    })
    results.append(measure("expire", rounds: rounds, setUp: { emptyWheel(); fillWheel() }) {
        drain(rearm: false, limitTo: timers)
    })
    results.append(measure("expire+rearm", rounds: rounds, setUp: { emptyWheel(); fillWheel() }) {
        drain(rearm: true, limitTo: timers)
    })
    revolutions = 4
    results.append(measure("expire 4rev", rounds: rounds, setUp: { emptyWheel(); fillWheel() }) {
        drain(rearm: false, limitTo: timers)
    })
    emptyWheel()
    precondition(wheel.count == 0)

    printTable(
        "TimingWheel: \(timers) timers, \(slots) slots, \(TimingWheel.bytesPerTimer) bytes per timer, \(rounds) rounds",
        results
    )
}
