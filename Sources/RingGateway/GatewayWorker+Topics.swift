import RingEngine
import RingTopics
import RingGateProtocol
import Synchronization

/// A fan-out in progress on this thread: a topic's list (or every connection)
/// walked a bounded number of recipients per loop turn.
struct FanoutJob {
    /// 0 for a broadcast to every connection.
    let topic: UInt32
    let frame: SharedFrame
    var cursor = 0
    let end: Int
}

extension GatewayWorker {
    /// Subscribes `slot`, first replaying what it missed since `since` (up to the
    /// publish the hub had numbered when it queued this command, so nothing comes twice).
    func subscribe(_ slot: UInt32, to topic: Topic, since: UInt64?, upTo: UInt64) {
        if let since {
            let nowMs = BackendHub.monotonicMs()
            let missed = topic.history.withLock { $0.missed(since: since, upTo: upTo, nowMs: nowMs) }
            if let missed {
                for frame in missed { replay(slot, frame) }
            } else {
                backendCounters.historyGaps += 1
                queueGap(slot, topic: topic, since: since)
            }
        }
        if subscriptions.subscribe(slot, to: topic.id) { topic.subscribers.add(1, ordering: .relaxed) }
    }

    /// A subscription to `topicID` on this thread ended; the topic goes once nothing keeps it.
    func unsubscribed(from topicID: UInt32) {
        guard let topics = backend?.topics, let topic = topics.topic(id: topicID) else { return }
        if topic.subscribers.subtract(1, ordering: .relaxed).newValue == 0, topics.removeIfUnused(topic) {
            backendCounters.topicsReclaimed += 1
        }
    }

    /// A reserved subscribe (TopicRegistry.topic(named:reserve:)) was applied or dropped.
    func releasePending(_ topic: Topic) {
        if backend?.topics.release(pendingOf: topic) == true { backendCounters.topicsReclaimed += 1 }
    }

    private func queueGap(_ slot: UInt32, topic: Topic, since: UInt64) {
        guard let link = routedLink(slot), link.alive.load(ordering: .relaxed) else { return }
        let conn = linkConnectionID(slot)
        let evicted = topic.history.withLock { $0.evictedUpTo }
        link.queue(from: worker.index) { writer in
            writer.gap(conn: conn, since: since, evictedUpTo: evicted, topic: topic.name)
        }
        hubNeedsWake = true
    }

    func startFanout(topic: UInt32, _ frame: SharedFrame) {
        let end = topic == 0 ? states.count : subscriptions.beginFanout(topic)
        guard end > 0 else { return }
        fanouts.append(FanoutJob(topic: topic, frame: frame, end: end))
        backendCounters.fanoutBacklogPeak = max(backendCounters.fanoutBacklogPeak, UInt64(fanouts.count))
    }

    /// Delivers up to the configured batch of fan-out sends; true when work remains.
    ///
    /// Fan-outs of one topic that stand at the same place in its subscriber list (a burst of
    /// publications, started in one turn) move together: each subscriber gets all of them in
    /// the same turn, so its queue leaves in one send rather than one per publication.
    func continueFanouts() -> Bool {
        guard !fanouts.isEmpty, let backend else { return false }
        var budget = backend.configuration.fanoutBatch
        // Each step is at most one batch of sends: the pool's reserve of reference chunks
        // (an eighth of them, at least 8,192) covers one.
        while budget > 0, !fanouts.isEmpty, !worker.sendPressure {
            let first = fanouts[0]
            var group = 1
            while group < fanouts.count, fanouts[group].topic == first.topic, fanouts[group].cursor == first.cursor,
                  fanouts[group].end == first.end {
                group += 1
            }
            let stop = min(first.end, first.cursor + max(1, budget / group))
            for cursor in first.cursor..<stop {
                let slot = first.topic == 0 ? UInt32(cursor) : subscriptions.slot(first.topic, at: cursor)
                guard slot != SubscriberSets.removed else { continue }
                let state = states[slot]
                guard state.phase == .open, !state.flags.contains(.closeSent) else { continue }
                var delivered = false
                for index in 0..<group where sendShared(slot, fanouts[index].frame) {
                    backendCounters.deliveries += 1
                    delivered = true
                }
                if delivered, state.link != 0 { noteQueueDepth(slot) }
            }
            budget -= (stop - first.cursor) * group
            for index in 0..<group { fanouts[index].cursor = stop }
            if stop >= first.end {
                if first.topic != 0 {
                    for _ in 0..<group { subscriptions.endFanout(first.topic) }
                }
                fanouts.removeFirst(group)
            }
        }
        return !fanouts.isEmpty
    }

    /// Sends a frame kept in topic history.
    func replay(_ slot: UInt32, _ frame: SharedFrame) {
        if sendShared(slot, frame) { backendCounters.deliveries += 1 }
    }
}
