import RingEngine

/// One gateway thread's topic subscriptions: for each topic a dense list of
/// subscribed slots (what a fan-out walks), and for each slot a chain of its
/// memberships (what a disconnect walks), each knowing its place in the
/// other, so subscribe, unsubscribe and disconnect are O(1) per subscription.
///
/// Cost: 8 bytes per list entry plus 12 per membership node, 20 bytes per
/// subscription, and 4 bytes per slot for the chain head (untouched pages of
/// the slot array cost nothing). Both arrays grow by doubling, so resident
/// memory per subscription is higher (README, "Topics and fan-out").
package struct SubscriberSets {
    package struct Entry {
        /// `UInt32.max` marks an entry removed while a fan-out walks the list.
        var slot: UInt32
        var node: UInt32
    }

    package struct Node {
        var topic: UInt32
        var index: UInt32
        var next: UInt32
    }

    package struct TopicList {
        var entries: [Entry] = []
        var activeFanouts = 0
        var holes = 0
        var count: Int { entries.count - holes }
    }

    package static let removed = UInt32.max

    package private(set) var lists: [UInt32: TopicList] = [:]
    /// Node 0 is unused, so 0 can mean "none" in chains and heads.
    private var nodes: [Node] = [Node(topic: 0, index: 0, next: 0)]
    private var freeNodes: [UInt32] = []
    private let heads: SlotArray<UInt32>

    package init(tableSize: Int) { heads = SlotArray(count: tableSize) }

    package func release() { heads.unmap() }

    package func count(_ topic: UInt32) -> Int { lists[topic]?.count ?? 0 }

    package var subscriptionCount: Int { nodes.count - 1 - freeNodes.count }

    /// Whether `slot` is subscribed to `topic`; walks the slot's chain.
    package func contains(_ slot: UInt32, _ topic: UInt32) -> Bool {
        var cursor = heads[slot]
        while cursor != 0 {
            if nodes[Int(cursor)].topic == topic { return true }
            cursor = nodes[Int(cursor)].next
        }
        return false
    }

    /// How many topics `slot` is subscribed to, counting no further than `limit`.
    package func count(of slot: UInt32, upTo limit: Int) -> Int {
        var found = 0
        var cursor = heads[slot]
        while cursor != 0 && found < limit {
            found += 1
            cursor = nodes[Int(cursor)].next
        }
        return found
    }

    /// Adds `slot` to `topic`; false when it was already there.
    package mutating func subscribe(_ slot: UInt32, to topic: UInt32) -> Bool {
        var cursor = heads[slot]
        while cursor != 0 {
            if nodes[Int(cursor)].topic == topic { return false }
            cursor = nodes[Int(cursor)].next
        }
        let index = UInt32(lists[topic, default: TopicList()].entries.count)
        let node = Node(topic: topic, index: index, next: heads[slot])
        let nodeIndex: UInt32
        if let reused = freeNodes.popLast() {
            nodes[Int(reused)] = node
            nodeIndex = reused
        } else {
            nodes.append(node)
            nodeIndex = UInt32(nodes.count - 1)
        }
        heads[slot] = nodeIndex
        lists[topic, default: TopicList()].entries.append(Entry(slot: slot, node: nodeIndex))
        return true
    }

    /// Removes `slot` from `topic`; false when it was not there.
    package mutating func unsubscribe(_ slot: UInt32, from topic: UInt32) -> Bool {
        var previous: UInt32 = 0
        var cursor = heads[slot]
        while cursor != 0 {
            let node = nodes[Int(cursor)]
            if node.topic == topic {
                if previous == 0 { heads[slot] = node.next } else { nodes[Int(previous)].next = node.next }
                removeEntry(topic: topic, index: Int(node.index))
                freeNodes.append(cursor)
                return true
            }
            previous = cursor
            cursor = node.next
        }
        return false
    }

    /// Removes every subscription of `slot` (it closed); calls `removed` per topic.
    package mutating func removeAll(_ slot: UInt32, _ removed: (UInt32) -> Void) {
        var cursor = heads[slot]
        guard cursor != 0 else { return }
        heads[slot] = 0
        while cursor != 0 {
            let node = nodes[Int(cursor)]
            removeEntry(topic: node.topic, index: Int(node.index))
            freeNodes.append(cursor)
            removed(node.topic)
            cursor = node.next
        }
    }

    private mutating func removeEntry(topic: UInt32, index: Int) {
        guard var list = lists.removeValue(forKey: topic) else { return }
        if list.activeFanouts > 0 {
            // A fan-out is walking the list by index: leave a hole, compact afterwards.
            list.entries[index].slot = Self.removed
            list.holes += 1
        } else {
            let last = list.entries.removeLast()
            if index < list.entries.count {
                list.entries[index] = last
                nodes[Int(last.node)].index = UInt32(index)
            }
        }
        if !list.entries.isEmpty || list.activeFanouts > 0 { lists[topic] = list }
    }

    /// The slot at `index` of `topic`'s list, or `removed`.
    package func slot(_ topic: UInt32, at index: Int) -> UInt32 {
        guard let list = lists[topic], index < list.entries.count else { return Self.removed }
        return list.entries[index].slot
    }

    /// Marks a fan-out starting on `topic`; returns how many entries it walks.
    package mutating func beginFanout(_ topic: UInt32) -> Int {
        guard lists[topic] != nil else { return 0 }
        lists[topic]!.activeFanouts += 1
        return lists[topic]!.entries.count
    }

    package mutating func endFanout(_ topic: UInt32) {
        guard var list = lists.removeValue(forKey: topic) else { return }
        list.activeFanouts -= 1
        if list.activeFanouts == 0 && list.holes > 0 {
            var kept: [Entry] = []
            kept.reserveCapacity(list.count)
            for entry in list.entries where entry.slot != Self.removed {
                nodes[Int(entry.node)].index = UInt32(kept.count)
                kept.append(entry)
            }
            list.entries = kept
            list.holes = 0
        }
        if !list.entries.isEmpty || list.activeFanouts > 0 { lists[topic] = list }
    }

    /// Live slots of `topic` from `start`, at most `take` of them.
    package func slots(_ topic: UInt32, start: Int, take: Int) -> [UInt32] {
        guard let list = lists[topic], take > 0 else { return [] }
        var found: [UInt32] = []
        var skipped = 0
        for entry in list.entries where entry.slot != Self.removed {
            if skipped < start { skipped += 1; continue }
            found.append(entry.slot)
            if found.count == take { break }
        }
        return found
    }
}
