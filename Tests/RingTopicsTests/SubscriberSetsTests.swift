import Testing
@testable import RingTopics

/// SubscriberSets against a plain model (a set of slots per topic) under random operations,
/// including removals while fan-outs walk a list.
@Suite struct SubscriberSetsTests {
    /// A small deterministic generator, so a failure replays.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    @Test func matchesAModelUnderRandomOperations() {
        var sets = SubscriberSets(tableSize: 64)
        defer { sets.release() }
        var model: [UInt32: Set<UInt32>] = [:]
        var random = Random(state: 42)
        var walking: [UInt32: Int] = [:]  // topic -> fan-outs begun and not ended
        for _ in 0..<20_000 {
            let slot = UInt32(random.next(64))
            let topic = UInt32(1 + random.next(6))
            switch random.next(10) {
            case 0...3:
                let added = sets.subscribe(slot, to: topic)
                let inserted = model[topic, default: []].insert(slot).inserted
                #expect(added == inserted)
            case 4...5:
                let removed = sets.unsubscribe(slot, from: topic)
                let wasMember = model[topic]?.remove(slot) != nil
                #expect(removed == wasMember)
            case 6:
                var topics: [UInt32] = []
                sets.removeAll(slot) { topics.append($0) }
                let expected = model.keys.filter { model[$0]!.contains(slot) }
                #expect(Set(topics) == Set(expected))
                #expect(topics.count == expected.count)
                for topic in expected { model[topic]!.remove(slot) }
            case 7:
                _ = sets.beginFanout(topic)
                if sets.lists[topic] != nil { walking[topic, default: 0] += 1 }
            default:
                if let count = walking[topic], count > 0 {
                    sets.endFanout(topic)
                    walking[topic] = count - 1
                }
            }
            // Every live entry of every list is a subscriber in the model, each exactly once.
            for (topic, members) in model {
                let live = sets.slots(topic, start: 0, take: Int.max)
                #expect(live.count == members.count)
                #expect(Set(live) == members)
                #expect(sets.count(topic) == members.count)
            }
        }
        let total = model.values.reduce(0) { $0 + $1.count }
        #expect(sets.subscriptionCount == total)
    }

    @Test func aFanOutSeesNeitherLateSubscribersNorRemovedOnes() {
        var sets = SubscriberSets(tableSize: 16)
        defer { sets.release() }
        for slot in UInt32(0)..<10 { _ = sets.subscribe(slot, to: 7) }
        let end = sets.beginFanout(7)
        #expect(end == 10)
        _ = sets.unsubscribe(3, from: 7)  // leaves a hole at index 3
        sets.removeAll(9) { _ in }
        _ = sets.subscribe(12, to: 7)  // joins after the publish: beyond `end`
        let walked = (0..<end).map { sets.slot(7, at: $0) }.filter { $0 != SubscriberSets.removed }
        #expect(walked == [0, 1, 2, 4, 5, 6, 7, 8])
        sets.endFanout(7)
        #expect(Set(sets.slots(7, start: 0, take: 100)) == [0, 1, 2, 4, 5, 6, 7, 8, 12])
        // After compaction, removal is a swap again and the moved entry stays findable.
        let removedFirst = sets.unsubscribe(0, from: 7)
        let removedLate = sets.unsubscribe(12, from: 7)
        #expect(removedFirst && removedLate)
        #expect(Set(sets.slots(7, start: 0, take: 100)) == [1, 2, 4, 5, 6, 7, 8])
    }
}
