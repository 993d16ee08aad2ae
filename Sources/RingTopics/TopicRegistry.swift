package import Synchronization

/// One topic: its id (what gateway threads use), its history, and what keeps it alive.
/// Subscribers live in each gateway thread's own SubscriberSets.
package final class Topic: Sendable {
    package let id: UInt32
    package let name: String
    package let history = Mutex(TopicHistory())
    /// Subscriptions on every gateway thread together.
    package let subscribers = Atomic<Int>(0)
    /// Subscribe records queued for gateway threads and not yet applied: the topic must outlive
    /// them, or a thread would subscribe to an id that no longer names it.
    package let pending = Atomic<Int>(0)

    package init(id: UInt32, name: String) {
        self.id = id
        self.name = name
    }
}

/// Topics by name and by id. The hub and the gateway threads (a client's own subscribe) create
/// them; gateway threads look them up by id. A topic with no subscriber, no subscribe on its way
/// and no history is removed, so `limit` bounds the topics in use, not every name ever seen.
/// Ids are not reused (a 32-bit counter), so a record naming a removed topic names nothing.
package final class TopicRegistry: Sendable {
    private struct Tables {
        var byName: [String: Topic] = [:]
        var byID: [UInt32: Topic] = [:]
        var nextID: UInt32 = 1
    }

    private let tables = Mutex(Tables())
    package let limit: Int

    package init(limit: Int) {
        self.limit = limit
    }

    /// The topic named `name`, created if new; nil past the limit. With `reserve`, one pending
    /// subscribe is counted on it under the same lock, so it cannot be removed before the
    /// subscribe is applied and `release(pendingOf:)` is called.
    package func topic(named name: String, reserve: Bool = false) -> Topic? {
        tables.withLock { tables in
            let topic: Topic
            if let found = tables.byName[name] {
                topic = found
            } else {
                guard tables.byID.count < limit else { return nil }
                while tables.nextID == 0 || tables.byID[tables.nextID] != nil { tables.nextID &+= 1 }
                topic = Topic(id: tables.nextID, name: name)
                tables.nextID &+= 1
                tables.byName[name] = topic
                tables.byID[topic.id] = topic
            }
            if reserve { topic.pending.add(1, ordering: .relaxed) }
            return topic
        }
    }

    /// An existing topic, without creating it.
    package func existing(named name: String) -> Topic? { tables.withLock { $0.byName[name] } }

    package func topic(id: UInt32) -> Topic? { tables.withLock { $0.byID[id] } }

    package var count: Int { tables.withLock { $0.byID.count } }

    /// A reserved subscribe was applied (or dropped); true when that removed the topic.
    @discardableResult
    package func release(pendingOf topic: Topic) -> Bool {
        // Releasing: a thread that reads this decrement also sees the subscriber counted before it.
        topic.pending.subtract(1, ordering: .releasing)
        return removeIfUnused(topic)
    }

    /// Removes `topic` when nothing keeps it: no subscriber, no pending subscribe, no history.
    /// Counts change on gateway threads without this lock, but a subscriber is only ever added
    /// under a reservation made here, and counted before the reservation is released; so with
    /// `pending` read first, a zero seen for both stays zero.
    @discardableResult
    package func removeIfUnused(_ topic: Topic) -> Bool {
        guard Self.unused(topic) else { return false }
        return tables.withLock { tables in
            guard tables.byName[topic.name] === topic, Self.unused(topic), !topic.history.withLock({ $0.isEnabled })
            else { return false }
            tables.byName[topic.name] = nil
            tables.byID[topic.id] = nil
            return true
        }
    }

    private static func unused(_ topic: Topic) -> Bool {
        topic.pending.load(ordering: .acquiring) == 0 && topic.subscribers.load(ordering: .relaxed) == 0
    }
}
