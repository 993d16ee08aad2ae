import Synchronization

/// One topic: its id (what gateway threads use) and its history. Subscribers
/// live in each gateway thread's own SubscriberSets.
final class Topic: Sendable {
    let id: UInt32
    let name: String
    let history = Mutex(TopicHistory())

    init(id: UInt32, name: String) {
        self.id = id
        self.name = name
    }
}

/// Topics by name and by id. The hub creates them; gateway threads look them
/// up by id. Topics are never removed: `limit` bounds how many there can be.
final class TopicRegistry: Sendable {
    private struct Tables {
        var byName: [String: Topic] = [:]
        var byID: [Topic] = []
    }

    private let tables = Mutex(Tables())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// The topic named `name`, created if new; nil past the limit.
    func topic(named name: String) -> Topic? {
        tables.withLock { tables in
            if let found = tables.byName[name] { return found }
            guard tables.byID.count < limit else { return nil }
            let topic = Topic(id: UInt32(tables.byID.count + 1), name: name)
            tables.byName[name] = topic
            tables.byID.append(topic)
            return topic
        }
    }

    /// An existing topic, without creating it.
    func existing(named name: String) -> Topic? { tables.withLock { $0.byName[name] } }

    func topic(id: UInt32) -> Topic? {
        tables.withLock { tables in
            id >= 1 && Int(id) <= tables.byID.count ? tables.byID[Int(id) - 1] : nil
        }
    }

    var count: Int { tables.withLock { $0.byID.count } }
}
