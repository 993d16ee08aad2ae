import RingTimers
import Testing

/// A small fixed-seed generator, so a failing run can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The obvious wheel: one optional deadline per id, scanned in full.
struct ReferenceTimers {
    var currentTick: UInt32
    var deadlines: [UInt32?]

    init(capacity: Int, startTick: UInt32) {
        currentTick = startTick
        deadlines = Array(repeating: nil, count: capacity)
    }

    mutating func schedule(_ id: UInt32, at deadlineTick: UInt32) {
        let inFuture = Int32(bitPattern: deadlineTick &- currentTick) > 0
        deadlines[Int(id)] = inFuture ? deadlineTick : currentTick
    }

    mutating func cancel(_ id: UInt32) { deadlines[Int(id)] = nil }

    func isDue(_ id: UInt32) -> Bool {
        guard let deadline = deadlines[Int(id)] else { return false }
        return Int32(bitPattern: deadline &- currentTick) <= 0
    }

    var count: Int { deadlines.count { $0 != nil } }
}

@Suite struct TimingWheelModelTests {
    /// Runs random schedules, cancels and advances (some with limits, some with callbacks that
    /// schedule and cancel) against both wheels, and compares every id after every step.
    func run(seed: UInt64, capacity: Int, slotCount: Int, startTick: UInt32, steps: Int) {
        var rng = SplitMix64(seed: seed)
        let wheel = TimingWheel(capacity: capacity, slotCount: slotCount, startTick: startTick)
        var model = ReferenceTimers(capacity: capacity, startTick: startTick)
        let revolution = Int64(slotCount)

        func randomID() -> UInt32 { UInt32.random(in: 0..<UInt32(capacity), using: &rng) }
        func randomDeadline() -> UInt32 {
            let offset = Int64.random(in: -revolution...(5 * revolution), using: &rng)
            let far = Int64.random(in: 0..<100, using: &rng) == 0 ? Int64.random(in: 0...100_000, using: &rng) : 0
            return model.currentTick &+ UInt32(truncatingIfNeeded: offset + far)
        }

        for step in 0..<steps {
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<45:
                let id = randomID()
                let deadline = randomDeadline()
                wheel.schedule(id, at: deadline)
                model.schedule(id, at: deadline)
            case 45..<60:
                let id = randomID()
                wheel.cancel(id)
                model.cancel(id)
            default:
                let step = switch Int.random(in: 0..<100, using: &rng) {
                case 0..<70: UInt32.random(in: 0...3, using: &rng)
                case 70..<95: UInt32.random(in: 0...(4 * UInt32(slotCount)), using: &rng)
                default: UInt32.random(in: 0...1_000_000, using: &rng)
                }
                let tick = Bool.random(using: &rng) ? model.currentTick &+ step : model.currentTick &- step
                let limit = Bool.random(using: &rng) ? Int.max : Int.random(in: 0...8, using: &rng)
                if Int32(bitPattern: tick &- model.currentTick) > 0 { model.currentTick = tick }

                var touched = Set<UInt32>()
                var fired = 0
                let reported = wheel.advance(to: tick, limit: limit) { id in
                    fired += 1
                    #expect(model.isDue(id), "step \(step): \(id) fired but is not due")
                    #expect(!touched.contains(id), "step \(step): \(id) fired after being scheduled in this call")
                    model.cancel(id)
                    // Act like a connection: sometimes re-arm, sometimes disturb others.
                    let action = Int.random(in: 0..<10, using: &rng)
                    if action < 4 {
                        let deadline = randomDeadline()
                        wheel.schedule(id, at: deadline)
                        model.schedule(id, at: deadline)
                        touched.insert(id)
                    } else if action < 6 {
                        let other = randomID()
                        let deadline = randomDeadline()
                        wheel.schedule(other, at: deadline)
                        model.schedule(other, at: deadline)
                        touched.insert(other)
                    } else if action < 7 {
                        let other = randomID()
                        wheel.cancel(other)
                        model.cancel(other)
                    }
                }
                #expect(reported == fired)
                #expect(fired <= limit)
                if fired < limit {
                    // Nothing due may be left behind except what the callbacks scheduled.
                    for id in 0..<UInt32(capacity) where model.isDue(id) {
                        #expect(touched.contains(id), "step \(step): \(id) is due but did not fire")
                    }
                }
                #expect(wheel.currentTick == model.currentTick)
            }

            #expect(wheel.count == model.count, "step \(step)")
            for id in 0..<UInt32(capacity) {
                let expected = model.deadlines[Int(id)]
                if wheel.deadline(of: id) != expected || wheel.isScheduled(id) != (expected != nil) {
                    Issue.record("step \(step): id \(id) wheel \(String(describing: wheel.deadline(of: id))) model \(String(describing: expected))")
                    return
                }
            }
        }

        // Finally everything scheduled fires once the wheel runs far enough.
        var remaining = Set((0..<UInt32(capacity)).filter { model.deadlines[Int($0)] != nil })
        let end = model.currentTick &+ 300_000
        wheel.advance(to: end, limit: .max) { id in
            #expect(remaining.remove(id) != nil)
        }
        #expect(remaining.isEmpty)
        #expect(wheel.count == 0)
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func matchesReferenceNearWrap(seed: UInt64) {
        run(seed: seed, capacity: 96, slotCount: 8, startTick: UInt32.max - 2_000, steps: 5_000)
    }

    @Test func matchesReferenceWithLargerWheel() {
        run(seed: 99, capacity: 300, slotCount: 64, startTick: 12_345, steps: 5_000)
    }

    @Test func matchesReferenceWithSingleSlot() {
        run(seed: 5, capacity: 40, slotCount: 1, startTick: 0x7FFF_FF00, steps: 3_000)
    }
}
