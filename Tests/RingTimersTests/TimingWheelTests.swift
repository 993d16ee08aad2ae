import RingTimers
import Testing

/// Advances `wheel` to `tick` and returns the ids reported, in order.
func expire(_ wheel: TimingWheel, to tick: UInt32, limit: Int = .max) -> [UInt32] {
    var ids: [UInt32] = []
    let fired = wheel.advance(to: tick, limit: limit) { ids.append($0) }
    #expect(fired == ids.count)
    return ids
}

/// Advances `wheel` one tick at a time through `ticks` and returns (tick, id) for every expiry.
func expireStepwise(_ wheel: TimingWheel, ticks: Int) -> [(tick: UInt32, id: UInt32)] {
    var events: [(tick: UInt32, id: UInt32)] = []
    for _ in 0..<ticks {
        let tick = wheel.currentTick &+ 1
        wheel.advance(to: tick, limit: .max) { events.append((tick, $0)) }
    }
    return events
}

@Suite struct TimingWheelTests {
    @Test func nodeIsTwelveBytes() {
        #expect(TimingWheel.bytesPerTimer == 12)
    }

    @Test func newWheelIsEmpty() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: 42)
        #expect(wheel.currentTick == 42)
        #expect(wheel.count == 0)
        #expect(!wheel.isScheduled(3))
        #expect(wheel.deadline(of: 3) == nil)
        #expect(expire(wheel, to: 1000).isEmpty)
        #expect(wheel.currentTick == 1000)
    }

    @Test func firesEachTimerAtItsDeadlineInOrder() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: 0)
        let deadlines: [UInt32: UInt32] = [0: 5, 1: 3, 2: 9, 3: 3, 4: 1, 5: 7]
        for id in deadlines.keys.sorted() { wheel.schedule(id, at: deadlines[id]!) }
        #expect(wheel.count == 6)
        #expect(wheel.deadline(of: 2) == 9)

        let events = expireStepwise(wheel, ticks: 12)
        #expect(events.map(\.id) == [4, 1, 3, 0, 5, 2])
        for event in events { #expect(deadlines[event.id] == event.tick) }
        #expect(wheel.count == 0)
        #expect(!wheel.isScheduled(0))
    }

    @Test func firesInDeadlineOrderWithinOneCall() {
        let wheel = TimingWheel(capacity: 16, slotCount: 16, startTick: 100)
        for (id, deadline) in [(0, 110), (1, 104), (2, 108), (3, 101), (4, 104)] as [(UInt32, UInt32)] {
            wheel.schedule(id, at: deadline)
        }
        #expect(expire(wheel, to: 110) == [3, 1, 4, 2, 0])
    }

    @Test func cancelRemovesTimer() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: 0)
        wheel.schedule(1, at: 4)
        wheel.schedule(2, at: 4)
        wheel.schedule(3, at: 4)
        wheel.cancel(2)
        wheel.cancel(2)
        wheel.cancel(9)
        #expect(wheel.count == 2)
        #expect(!wheel.isScheduled(2))
        #expect(wheel.deadline(of: 2) == nil)
        #expect(expire(wheel, to: 10) == [1, 3])
        #expect(wheel.count == 0)
    }

    @Test func rescheduleEarlierAndLater() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: 0)
        wheel.schedule(1, at: 10)
        wheel.schedule(1, at: 5)
        wheel.schedule(2, at: 5)
        wheel.schedule(2, at: 20)
        #expect(wheel.count == 2)
        #expect(wheel.deadline(of: 1) == 5)
        #expect(wheel.deadline(of: 2) == 20)

        let events = expireStepwise(wheel, ticks: 25)
        #expect(events.map(\.id) == [1, 2])
        #expect(events.map(\.tick) == [5, 20])
    }

    @Test func farFutureTimersWaitForTheirRevolution() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: 0)
        // All in slot 3, one to forty revolutions apart.
        let deadlines: [UInt32] = [3, 11, 43, 323]
        for (id, deadline) in deadlines.enumerated() { wheel.schedule(UInt32(id), at: deadline) }

        let events = expireStepwise(wheel, ticks: 400)
        #expect(events.map(\.id) == [0, 1, 2, 3])
        #expect(events.map(\.tick) == deadlines)
    }

    @Test func farFutureTimersSurviveJumps() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: 0)
        wheel.schedule(0, at: 1000)
        wheel.schedule(1, at: 100)
        #expect(expire(wheel, to: 99).isEmpty)
        #expect(expire(wheel, to: 500) == [1])
        #expect(expire(wheel, to: 999).isEmpty)
        #expect(expire(wheel, to: 1000) == [0])
    }

    @Test func tickWrapsAroundUInt32Max() {
        let start = UInt32.max - 5
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: start)
        let deadlines: [UInt32] = [start &+ 3, start &+ 6, start &+ 7, start &+ 30, 2]
        for (id, deadline) in deadlines.enumerated() { wheel.schedule(UInt32(id), at: deadline) }
        #expect(wheel.deadline(of: 2) == 1)

        let events = expireStepwise(wheel, ticks: 40)
        #expect(events.map(\.id) == [0, 1, 2, 4, 3])
        #expect(events.map(\.tick) == [UInt32.max - 2, 0, 1, 2, 24])
        #expect(wheel.currentTick == 34)
    }

    @Test func jumpAcrossTheWrap() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: UInt32.max - 100)
        wheel.schedule(0, at: UInt32.max - 50)
        wheel.schedule(1, at: 50)
        wheel.schedule(2, at: 200)
        #expect(expire(wheel, to: 100) == [0, 1])
        #expect(wheel.deadline(of: 2) == 200)
        #expect(expire(wheel, to: 200) == [2])
    }

    @Test func deadlinesNotInTheFutureFireOnNextAdvance() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: 50)
        wheel.schedule(1, at: 50)
        wheel.schedule(2, at: 20)
        #expect(wheel.deadline(of: 1) == 50)
        #expect(wheel.deadline(of: 2) == 50)
        #expect(expire(wheel, to: 50) == [1, 2])
        #expect(wheel.count == 0)

        wheel.schedule(3, at: 10)
        #expect(expire(wheel, to: 51) == [3])
    }

    @Test func tickBehindCurrentDoesNotRewind() {
        let wheel = TimingWheel(capacity: 16, slotCount: 8, startTick: 100)
        wheel.schedule(1, at: 105)
        #expect(expire(wheel, to: 90).isEmpty)
        #expect(wheel.currentTick == 100)
        #expect(expire(wheel, to: 105) == [1])
    }

    @Test func manyTimersInOneSlot() {
        let wheel = TimingWheel(capacity: 30_000, slotCount: 64, startTick: 0)
        // Ids 0..<10_000 due at tick 7; the rest share slot 7 but are due 1 and 2 revolutions later.
        for id in 0..<30_000 as Range<UInt32> { wheel.schedule(id, at: 7 + 64 * (id / 10_000)) }
        #expect(wheel.count == 30_000)
        #expect(expire(wheel, to: 6).isEmpty)
        #expect(expire(wheel, to: 7) == Array(0..<10_000))
        #expect(expire(wheel, to: 70).isEmpty)
        #expect(expire(wheel, to: 71) == Array(10_000..<20_000))
        #expect(expire(wheel, to: 1000) == Array(20_000..<30_000))
        #expect(wheel.count == 0)
    }

    @Test func callbackMayRearmItselfWithoutLooping() {
        let wheel = TimingWheel(capacity: 4, slotCount: 8, startTick: 0)
        wheel.schedule(0, at: 1)
        var calls = 0
        // Re-arming for "now" must wait for the next advance.
        for tick in 1...3 as ClosedRange<UInt32> {
            let fired = wheel.advance(to: tick, limit: .max) { id in
                calls += 1
                wheel.schedule(id, at: tick)
            }
            #expect(fired == 1)
        }
        #expect(calls == 3)
        #expect(wheel.isScheduled(0))
        #expect(wheel.deadline(of: 0) == 3)
    }

    @Test func callbackMayCancelAndMoveOtherDueTimers() {
        let wheel = TimingWheel(capacity: 8, slotCount: 8, startTick: 0)
        for id in 0..<5 as Range<UInt32> { wheel.schedule(id, at: 2) }
        var seen: [UInt32] = []
        wheel.advance(to: 2, limit: .max) { id in
            seen.append(id)
            if id == 0 {
                wheel.cancel(1)
                wheel.schedule(2, at: 9)
                wheel.schedule(3, at: 0)
            }
        }
        #expect(seen == [0, 4])
        #expect(!wheel.isScheduled(1))
        #expect(wheel.deadline(of: 2) == 9)
        #expect(expire(wheel, to: 2) == [3])
        #expect(expire(wheel, to: 9) == [2])
    }

    @Test func lazyHeartbeatRearm() {
        // Each connection records when it last saw traffic; the timer is re-armed only when it
        // fires, to lastSeen + interval, and the connection is closed when it was idle throughout.
        let interval: UInt32 = 10
        let connections = 4
        let wheel = TimingWheel(capacity: connections, slotCount: 16, startTick: 0)
        var lastSeenTick = [UInt32](repeating: 0, count: connections)
        var closedAt = [UInt32?](repeating: nil, count: connections)
        for id in 0..<UInt32(connections) { wheel.schedule(id, at: interval) }

        for tick in 1...100 as ClosedRange<UInt32> {
            // Connection 0 never talks, 1 talks every tick until 30, 2 every 7 ticks, 3 at 5 and 12.
            if tick <= 30 { lastSeenTick[1] = tick }
            if tick % 7 == 0 { lastSeenTick[2] = tick }
            if tick == 5 || tick == 12 { lastSeenTick[3] = tick }
            wheel.advance(to: tick, limit: .max) { id in
                let next = lastSeenTick[Int(id)] &+ interval
                if Int32(bitPattern: next &- tick) > 0 {
                    wheel.schedule(id, at: next)
                } else {
                    closedAt[Int(id)] = tick
                }
            }
        }
        #expect(closedAt == [10, 40, nil, 22])
        #expect(wheel.count == 1)
    }

    @Test func limitSpreadsAStormOverCalls() {
        let wheel = TimingWheel(capacity: 2_000, slotCount: 32, startTick: 0)
        for id in 0..<1_000 as Range<UInt32> { wheel.schedule(id, at: 1 + id % 50) }
        for id in 1_000..<2_000 as Range<UInt32> { wheel.schedule(id, at: 100 + id % 50) }

        var fired: [UInt32] = []
        var calls = 0
        while fired.count < 1_000 {
            let batch = expire(wheel, to: 60, limit: 64)
            #expect(batch.count <= 64)
            #expect(batch.count > 0)
            fired += batch
            calls += 1
        }
        #expect(calls == 16)
        #expect(Set(fired) == Set(0..<1_000))
        #expect(wheel.count == 1_000)
        #expect(expire(wheel, to: 60, limit: 64).isEmpty)
        #expect(expire(wheel, to: 99).isEmpty)
        #expect(Set(expire(wheel, to: 200)) == Set(1_000..<2_000))
    }

    @Test func zeroLimitFiresNothingAndLosesNothing() {
        let wheel = TimingWheel(capacity: 8, slotCount: 8, startTick: 0)
        wheel.schedule(0, at: 3)
        wheel.schedule(1, at: 30)
        #expect(expire(wheel, to: 40, limit: 0).isEmpty)
        #expect(wheel.count == 2)
        #expect(expire(wheel, to: 40) == [0, 1])
    }

    @Test func bigJumpsSweepEachSlotOnce() {
        let wheel = TimingWheel(capacity: 10_000, slotCount: 64, startTick: 0)
        for id in 0..<10_000 as Range<UInt32> { wheel.schedule(id, at: 1 + id * 3) }
        // Half-way: exactly the timers due by then fire.
        let first = expire(wheel, to: 15_000)
        #expect(Set(first) == Set(0..<5_000))
        #expect(wheel.count == 5_000)
        #expect(wheel.deadline(of: 5_000) == 15_001)
        #expect(expire(wheel, to: 15_001) == [5_000])
        // A jump of 2^30 ticks must cost one sweep, not a billion slot visits.
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(Set(expire(wheel, to: 1 << 30)) == Set(5_001..<10_000))
        }
        #expect(elapsed < .seconds(2))
        #expect(wheel.count == 0)
        wheel.schedule(7, at: (1 << 30) + 5)
        #expect(expire(wheel, to: (1 << 30) + 4).isEmpty)
        #expect(expire(wheel, to: (1 << 30) + 5) == [7])
    }

    @Test func bigJumpWithLimitResumes() {
        let wheel = TimingWheel(capacity: 1_000, slotCount: 16, startTick: 0)
        for id in 0..<1_000 as Range<UInt32> { wheel.schedule(id, at: 1 + id) }
        var fired: [UInt32] = []
        for _ in 0..<20 { fired += expire(wheel, to: 100_000, limit: 50) }
        #expect(fired.count == 1_000)
        #expect(Set(fired).count == 1_000)
        #expect(wheel.count == 0)
    }
}

@Suite struct JitterTests {
    @Test func staysInWindowAndIsDeterministic() {
        #expect(TimingWheel.jitter(for: 12345, window: 0) == 0)
        #expect(TimingWheel.jitter(for: 12345, window: 1) == 0)
        for id in [0, 1, 2, 1000, UInt32.max] as [UInt32] {
            #expect(TimingWheel.jitter(for: id, window: 977) < 977)
            #expect(TimingWheel.jitter(for: id, window: 977) == TimingWheel.jitter(for: id, window: 977))
        }
    }

    @Test func spreadsAMillionIdsEvenly() {
        let window: UInt32 = 1_000
        var buckets = [Int](repeating: 0, count: Int(window))
        for id in 0..<1_000_000 as Range<UInt32> {
            buckets[Int(TimingWheel.jitter(for: id, window: window))] += 1
        }
        let mean = 1_000_000 / Int(window)
        #expect(buckets.max()! <= mean + mean / 20)
        #expect(buckets.min()! >= mean - mean / 20)
    }

    @Test func spreadsScatteredIdsEvenly() {
        // Ids that are not consecutive (every 64th slot, or pseudo-random ones) spread as well.
        let window: UInt32 = 250
        var strided = [Int](repeating: 0, count: Int(window))
        var scattered = [Int](repeating: 0, count: Int(window))
        var rng = SplitMix64(seed: 7)
        for index in 0..<250_000 as Range<UInt32> {
            strided[Int(TimingWheel.jitter(for: index &* 64, window: window))] += 1
            scattered[Int(TimingWheel.jitter(for: UInt32(truncatingIfNeeded: rng.next()), window: window))] += 1
        }
        #expect(strided.max()! <= 1_000 + 100)
        #expect(scattered.max()! <= 1_000 + 150)
    }
}
